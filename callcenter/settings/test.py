"""Test settings: real PostgreSQL (DATABASE_URL) and real Redis for queue tests."""

import os

# An empty variable counts as unset (CI systems often export empty values).
for _name, _default in (("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/callcenter"),
                        ("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")):
    if not os.environ.get(_name):
        os.environ[_name] = _default

from .base import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "en"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = False
WHITENOISE_AUTOREFRESH = True
# Tests run in one process and may clear the cache between tests: never the shared Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The suite (and its load tests) hits the API hard: no throttling, except in the tests of the
# throttles, which set their own rates (callcenter.throttles reads them per request).
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None, "uploads": None, "exports": None},
}
