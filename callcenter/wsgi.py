import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.production")

from callcenter.handlers import application_with_webhook  # noqa: E402

application = application_with_webhook(get_wsgi_application())
