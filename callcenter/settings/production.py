"""Production: PostgreSQL and Redis required, secrets without defaults, HTTPS hardening."""

from django.core.exceptions import ImproperlyConfigured

from callcenter.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403
from .base import CACHES, CELERY_BROKER_URL, DATABASES

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure"):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random string of 50+ characters.")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list real host names, not '*'.")
RETELL_API_KEY = env_str("RETELL_API_KEY")

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point to PostgreSQL in production.")
if not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://")):
    raise ImproperlyConfigured("CELERY_BROKER_URL must point to Redis in production.")
if CACHES["default"]["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
    # Login lockouts and API throttles count in the cache: it must be shared by every process.
    raise ImproperlyConfigured("REDIS_CACHE_URL must point to Redis in production.")

# Trusted because only nginx reaches gunicorn (docker-compose.yml publishes nginx alone) and
# nginx sets this header to the scheme it served, over any value the client sent.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
