"""The web process's WSGI application: Django's, with a shorter path for Retell's webhook.

Retell posts two signed events for every call, so the webhook is the busiest request the web
servers take, and Django's middleware stack (sessions, locale, CSRF, authentication,
messages, clickjacking, WhiteNoise...) did nothing for it but cost ~0.3 ms of a web process's
CPU per request (bench/engine_profile.py): the view authenticates by signature, is exempt
from CSRF, reads no session or user, answers small JSON. Its requests go through a handler
with only the middleware that still applies to them — SecurityMiddleware (the HTTPS redirect
and its headers) and CommonMiddleware (the Host header checked against ALLOWED_HOSTS) — and
every other request through Django's handler as configured. Both send request_started and
request_finished, so database connections are handled alike.
"""

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler

WEBHOOK_PATH = "/api/v1/calls/retell/webhook"
WEBHOOK_MIDDLEWARE = ("django.middleware.security.SecurityMiddleware",
                      "django.middleware.common.CommonMiddleware")


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with only ``WEBHOOK_MIDDLEWARE`` (in the order, and only if,
    settings.MIDDLEWARE has them)."""

    def load_middleware(self, is_async=False):
        from django.conf import settings
        from django.utils.module_loading import import_string

        handler = convert_exception_to_response(self._get_response)
        for path in reversed([name for name in settings.MIDDLEWARE
                              if name in WEBHOOK_MIDDLEWARE]):
            handler = convert_exception_to_response(import_string(path)(handler))
        # Neither has view, template-response or exception hooks.
        self._view_middleware, self._template_response_middleware = [], []
        self._exception_middleware = []
        self._middleware_chain = handler


def application_with_webhook(django_application):
    """A WSGI application sending POSTs to exactly the webhook's path through
    ``WebhookHandler`` and everything else to ``django_application``."""
    webhook = WebhookHandler()

    def application(environ, start_response):
        if environ.get("PATH_INFO") == WEBHOOK_PATH and environ.get("REQUEST_METHOD") == "POST":
            return webhook(environ, start_response)
        return django_application(environ, start_response)

    return application
