"""callcenter.handlers: the web process's WSGI application sends the Retell webhook through a
handler with only the security and host middleware, and everything else through Django's."""

import io
import sys

import pytest
from django.conf import settings
from retell.lib.webhook_auth import symmetric

from callcenter.handlers import WEBHOOK_PATH, WebhookHandler, application_with_webhook

BODY = '{"event":"call_ended","call":{"call_id":"no-such-call"}}'


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the handler would close the connection the test's
    transaction runs in at every request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def call(application, *, path=WEBHOOK_PATH, method="POST", host="testserver", body=BODY,
         signature=None, https=False):
    raw = body.encode()
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)), "HTTP_HOST": host, "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "https" if https else "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    if signature is not None:
        environ["HTTP_X_RETELL_SIGNATURE"] = signature
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    response = application(environ, start_response)
    seen["body"] = b"".join(response)
    if hasattr(response, "close"):
        response.close()
    return seen


@pytest.mark.django_db
def test_the_webhook_is_served_with_its_signature_checked(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    handler = WebhookHandler()
    signed = symmetric["sign"](BODY, settings.RETELL_API_KEY)
    assert call(handler, signature=signed)["body"] == b'{"status": "unknown"}'
    assert call(handler, signature=symmetric["sign"](BODY, "forged"))["status"] == 401
    assert call(handler)["status"] == 401
    assert call(handler, method="GET")["status"] == 405


def test_the_webhook_keeps_the_host_check_and_the_https_redirect(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert call(WebhookHandler(), host="evil.example")["status"] == 400
    settings.SECURE_SSL_REDIRECT = True
    redirected = call(WebhookHandler())
    assert redirected["status"] == 301
    assert redirected["headers"]["Location"] == f"https://testserver{WEBHOOK_PATH}"


def test_only_the_webhooks_posts_take_the_short_path(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    seen = []

    def django_application(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("204 No Content", [])
        return []

    application = application_with_webhook(django_application)
    call(application, method="GET")
    call(application, path=WEBHOOK_PATH + "/")
    call(application, path="/api/v1/batches")
    assert call(application)["status"] == 401  # unsigned: answered by the webhook's handler
    assert seen == [("GET", WEBHOOK_PATH), ("POST", WEBHOOK_PATH + "/"),
                    ("POST", "/api/v1/batches")]


def test_the_web_server_entry_point_is_the_short_path_application():
    import callcenter.wsgi

    assert callcenter.wsgi.application.__qualname__.startswith("application_with_webhook")
    assert settings.MIDDLEWARE[0] == "django.middleware.security.SecurityMiddleware"
