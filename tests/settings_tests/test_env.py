"""Configuration comes from the environment, strictly: bad values stop the process at start."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from callcenter import env

ROOT = Path(__file__).resolve().parents[2]
GOOD_PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "callcenter.settings.production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-0123456789",
    "DJANGO_ALLOWED_HOSTS": "cobranza.example.cl",
    "DATABASE_URL": "postgres://app:pw@db.example.cl:5432/callcenter",
    "CELERY_BROKER_URL": "redis://redis.example.cl:6379/0",
    "RETELL_API_KEY": "key_live_example",
}


@pytest.mark.parametrize("value, expected", [("true", True), ("0", False), ("Yes", True),
                                             ("off", False)])
def test_booleans(monkeypatch, value, expected):
    monkeypatch.setenv("X_FLAG", value)
    assert env.env_bool("X_FLAG", False) is expected


@pytest.mark.parametrize("name, value, call", [
    ("DJANGO_DEBUG", "maybe", lambda: env.env_bool("DJANGO_DEBUG", False)),
    ("CALLS_SWEEP_SECONDS", "soon", lambda: env.env_int("CALLS_SWEEP_SECONDS", 15)),
    ("CALLS_SWEEP_SECONDS", "0", lambda: env.env_int("CALLS_SWEEP_SECONDS", 15, minimum=1)),
    ("RETELL_BASE_URL", "api.retellai.com",
     lambda: env.env_url("RETELL_BASE_URL", "http://x", schemes={"http", "https"})),
    ("RETELL_BASE_URL", "http://", lambda: env.env_url("RETELL_BASE_URL", "http://x",
                                                       schemes={"http", "https"})),
    ("DATABASE_URL", "mysql://u@h/db", lambda: env.env_database("DATABASE_URL", "sqlite://")),
    ("DATABASE_URL", "postgres://u@h:notaport/db",
     lambda: env.env_database("DATABASE_URL", "sqlite://")),
    ("TIME_ZONE", "Mars/Olympus", lambda: env.env_timezone("TIME_ZONE", "UTC")),
    ("DEFAULT_COST_PER_MINUTE", "-1", lambda: env.env_decimal("DEFAULT_COST_PER_MINUTE", 0,
                                                              minimum=0)),
    ("API_THROTTLE_UPLOADS", "30 per hour", lambda: env.env_rate("API_THROTTLE_UPLOADS",
                                                                  "30/hour")),
    ("API_THROTTLE_USER", "0/min", lambda: env.env_rate("API_THROTTLE_USER", "600/min")),
    ("REDIS_CACHE_URL", "memcached://h:11211",
     lambda: env.env_url("REDIS_CACHE_URL", None, schemes={"redis", "rediss"})),
])
def test_bad_values_name_the_variable(monkeypatch, name, value, call):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        call()


def test_database_url_password_is_not_echoed(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://user:s3cret@h/db")
    with pytest.raises(ImproperlyConfigured) as info:
        env.env_database("DATABASE_URL", "sqlite://")
    assert "s3cret" not in str(info.value)


def _start(**overrides):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_",
                                                                           "RETELL_", "DATABASE"))}
    environment.update({**GOOD_PRODUCTION, **overrides})
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=60)


def test_production_starts_with_complete_configuration():
    result = _start()
    assert result.returncode == 0, result.stderr


def test_production_cache_is_the_brokers_redis_unless_given():
    show = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'], settings.CACHES['default']['LOCATION'])")
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_CACHE_URL"}
    for overrides, location in (({}, "redis://redis.example.cl:6379/0"),
                                ({"REDIS_CACHE_URL": "rediss://cache.example.cl:6380/2"},
                                 "rediss://cache.example.cl:6380/2")):
        result = subprocess.run([sys.executable, "-c", show], cwd=ROOT, text=True, timeout=60,
                                env={**environment, **GOOD_PRODUCTION, **overrides},
                                capture_output=True)
        assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache",
                                         location], result.stderr


@pytest.mark.parametrize("overrides, message", [
    ({"DJANGO_SECRET_KEY": None}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS"),
    ({"RETELL_API_KEY": None}, "RETELL_API_KEY"),
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"DJANGO_DEBUG": "verdadero"}, "DJANGO_DEBUG"),
    ({"CELERY_BROKER_URL": "filesystem://"}, "CELERY_BROKER_URL"),
    ({"CALLS_ENQUEUE_TTL_SECONDS": "1"}, "CALLS_ENQUEUE_TTL_SECONDS"),
    ({"CALLS_ENQUEUE_TTL_SECONDS": "un minuto"}, "CALLS_ENQUEUE_TTL_SECONDS"),
    # Login lockouts and throttles need a cache shared by every web process.
    ({"CELERY_BROKER_URL": "amqp://mq.example.cl:5672//"}, "REDIS_CACHE_URL"),
    ({"REDIS_CACHE_URL": "redis://"}, "REDIS_CACHE_URL"),
    ({"API_THROTTLE_EXPORTS": "lots"}, "API_THROTTLE_EXPORTS"),
])
def test_production_refuses_to_start(overrides, message):
    result = _start(**overrides)
    assert result.returncode != 0
    assert message in result.stderr
