"""The Celery application. Configuration lives in Django settings under the CELERY_ namespace.

Loaded by ``celery -A callcenter`` (worker, beat) and, in every Django process, by the calls
app's ``ready()``. It never picks a settings module: a worker started without one would run a
production queue on the local defaults (SQLite, filesystem broker), so it refuses to start.
"""

import os

from celery import Celery
from django.core.exceptions import ImproperlyConfigured

if not os.environ.get("DJANGO_SETTINGS_MODULE"):
    raise ImproperlyConfigured(
        "DJANGO_SETTINGS_MODULE is not set: start Celery with "
        "DJANGO_SETTINGS_MODULE=callcenter.settings.production (docker-compose.yml sets it) "
        "or callcenter.settings.local for development (dev.py sets it)."
    )

app = Celery("callcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
