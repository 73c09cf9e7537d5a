"""Settings shared by every environment. Every knob is an environment variable (see README)."""

from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from callcenter import queues
from callcenter.env import (
    env_bool,
    env_database,
    env_decimal,
    env_int,
    env_list,
    env_rate,
    env_str,
    env_timezone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "accounts",
    "batches",
    "calls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "callcenter.urls"
WSGI_APPLICATION = "callcenter.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: serialise writers at BEGIN so concurrent processes (web, worker,
    # beat) wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Lets the call engine's cursor (callcenter.db.cursor) prepare its statements; Django's own
    # cursors bind parameters on the client and never prepare (None would forbid it).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "es-cl")
LANGUAGES = [("es", _("Spanish")), ("es-cl", _("Chilean Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_timezone("TIME_ZONE", "America/Santiago")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The web app's build (frontend/dist, committed) is served under /static/app/ (Vite's base).
STATICFILES_DIRS = [BASE_DIR / "static", ("app", BASE_DIR / "frontend" / "dist")]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: spreadsheets up to 50 MB are read from a temporary file, never held twice in memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
EXCEL_MAX_BYTES = env_int("EXCEL_MAX_BYTES", 50 * 1024 * 1024, minimum=1)
EXCEL_MAX_ROWS = env_int("EXCEL_MAX_ROWS", 200_000, minimum=1)
# An import of at least this many jobs refreshes the jobs table's planner statistics as it
# commits (ANALYZE samples a bounded 30,000 rows); smaller ones are left to autovacuum.
BATCHES_ANALYZE_MIN_JOBS = env_int("BATCHES_ANALYZE_MIN_JOBS", 10_000, minimum=1)
# The admin keeps an uploaded spreadsheet between preview and confirmation in the database
# (batches.services.uploads), so that any web server may receive the confirmation.

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "callcenter.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "callcenter.api.exception_handler",
    # Money and minutes are JSON numbers with their exact decimal digits (callcenter.api).
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_RENDERER_CLASSES": [
        "callcenter.api.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "callcenter API",
    "DESCRIPTION": "Outbound AI voice-call campaigns for debt-collection reminders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {"BatchStatusEnum": "batches.models.Batch.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "callcenter.schema.document_invalid_page",
        "callcenter.schema.document_throttling",
        "callcenter.schema.type_error_bodies",
        "batches.api.schema.type_settings_objects",
    ],
}

# A JSON body is read up to API_MAX_JSON_BYTES (413 beyond). 16 MB holds 100,000 debtors with
# name, RUT, one phone, amount and date (~15 MB); larger campaigns come as Excel files.
API_MAX_JSON_BYTES = env_int("API_MAX_JSON_BYTES", 16 * 1024 * 1024, minimum=1024)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "callcenter.api.BoundedJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
# The schema and the docs page are for logged-in users only (token or
# session; the page sends a browser to the admin's login), and Swagger UI is served from our
# own static files (drf-spectacular-sidecar, pinned), never from a CDN on the admin's origin.
SPECTACULAR_SETTINGS |= {
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: JSON only, late acks (a claim in the database makes redelivery harmless), bounded
# task time, and persistent DB connections in workers (Celery closes them around every task
# unless CELERY_DB_REUSE_MAX is set, and a new connection per task caps the engine's rate).
CELERY_BROKER_URL = env_url(
    "CELERY_BROKER_URL",
    "filesystem://",
    schemes={"redis", "rediss", "amqp", "filesystem", "memory", "sqla+sqlite"},
)
CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(BASE_DIR / "var" / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "in"),
        "data_folder_out": str(CELERY_BROKER_DIR / "in"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # kombu's filesystem transport, writing each message whole before it can be read.
    CELERY_BROKER_TRANSPORT = "callcenter.broker:FilesystemTransport"
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith("redis://"):
    # kombu's Redis transport, reusing one command client per channel (callcenter/broker.py).
    CELERY_BROKER_TRANSPORT = "callcenter.broker:Transport"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 4, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Three queues (dial, sweep, housekeeping), so that a slow export or retention run never
# delays a dial: which task goes where and which worker serves which is in callcenter/queues.py.
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_ROUTES = queues.ROUTES

# Brute-force protection and API throttling (issue 13). Login lockouts and DRF's throttle
# counters live in Django's cache, so every web process must share it: Redis (REDIS_CACHE_URL,
# by default the broker's Redis, keys prefixed "callcenter"), or without Redis an in-process
# cache, good only where one web process serves (dev.py up, the tests).
REDIS_CACHE_URL = env_url(
    "REDIS_CACHE_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None,
    schemes={"redis", "rediss"},
)
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": "callcenter",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Both logins (admin, POST /api/v1/auth/login) refuse a username or a client address for this
# many seconds after this many failures within as many seconds.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 60, minimum=1)
# API tokens (accounts.ApiToken) stop working this many days after they are issued.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90, minimum=1)
REST_FRAMEWORK |= {
    "DEFAULT_THROTTLE_CLASSES": [
        "callcenter.throttles.AnonRateThrottle",
        "callcenter.throttles.UserRateThrottle",
        "callcenter.throttles.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/min"),
        "user": env_rate("API_THROTTLE_USER", "600/min"),
        # Spreadsheet previews/creations and .xlsx exports: up to 200,000 rows, seconds of a
        # web worker each.
        "uploads": env_rate("API_THROTTLE_UPLOADS", "30/hour"),
        "exports": env_rate("API_THROTTLE_EXPORTS", "60/hour"),
    },
    # Proxies in front of the web servers: the client's address is the one this many entries
    # from the right of X-Forwarded-For (0: REMOTE_ADDR, the header is not trusted).
    "NUM_PROXIES": env_int("DJANGO_NUM_PROXIES", 0, minimum=0, maximum=5),
}

# Retell
RETELL_API_KEY = env_str("RETELL_API_KEY", "sim-key")
RETELL_BASE_URL = env_url("RETELL_BASE_URL", "http://127.0.0.1:8055", schemes={"http", "https"})
RETELL_AGENT_ID = env_str("RETELL_AGENT_ID", "agent_cobranza_demo")
RETELL_FROM_NUMBER = env_str("RETELL_FROM_NUMBER", "+56229999999")
RETELL_TIMEOUT_SECONDS = env_int("RETELL_TIMEOUT_SECONDS", 10, minimum=1, maximum=120)
RETELL_WEBHOOK_URL = env_str(
    "RETELL_WEBHOOK_URL", "http://127.0.0.1:8000/api/v1/calls/retell/webhook"
)

# The call engine
CALLS_SWEEP_SECONDS = env_int("CALLS_SWEEP_SECONDS", 15, minimum=1, maximum=3600)
CALLS_DISPATCH_LOOKAHEAD = env_int("CALLS_DISPATCH_LOOKAHEAD", 2, minimum=0, maximum=100)
CALLS_LEASE_SECONDS = env_int("CALLS_LEASE_SECONDS", 120, minimum=10)
# How long a published process_job is trusted: a job nudged longer ago and still not claimed
# (its message was lost with a Redis restart or a killed worker) is published again.
CALLS_ENQUEUE_TTL_SECONDS = env_int("CALLS_ENQUEUE_TTL_SECONDS", 60, minimum=5, maximum=3600)
CALLS_STALE_MARGIN_SECONDS = env_int("CALLS_STALE_MARGIN_SECONDS", 300, minimum=10)

# Default pricing of a new account, in credits (overridable per account).
DEFAULT_COST_PER_CALL_SETUP = env_decimal("DEFAULT_COST_PER_CALL_SETUP", Decimal("5"), minimum=0)
DEFAULT_COST_PER_MINUTE = env_decimal("DEFAULT_COST_PER_MINUTE", Decimal("50"), minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
