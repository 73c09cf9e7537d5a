"""Strict readers for environment variables.

Every knob of the project is an environment variable (documented in the README). A value that
cannot be understood stops the process at start with a message naming the variable, instead of
being silently replaced by a default.
"""

import os
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_MISSING = object()


def _raw(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} is required and not set.")
        return None
    return value.strip()


def env_str(name, default=_MISSING):
    value = _raw(name, default)
    return default if value is None else value


def env_bool(name, default=_MISSING):
    value = _raw(name, default)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a boolean (use true/false, 1/0, yes/no)."
    )


def env_int(name, default=_MISSING, *, minimum=None, maximum=None):
    value = _raw(name, default)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not an integer.")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(
            f"Environment variable {name}={number} is outside [{minimum}, {maximum}]."
        )
    return number


def env_decimal(name, default=_MISSING, *, minimum=None):
    value = _raw(name, default)
    if value is None:
        return default
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a number.")
    if not number.is_finite() or (minimum is not None and number < minimum):
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is out of range.")
    return number


def env_list(name, default=_MISSING):
    value = _raw(name, default)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name, default=_MISSING, *, schemes):
    value = _raw(name, default)
    if value is None:
        value = default
    if value is None:  # an optional URL (default None), not set
        return None
    parts = urlsplit(value)
    if parts.scheme not in schemes:
        raise ImproperlyConfigured(
            f"Environment variable {name}={_redact(value)!r} is not a valid URL: the scheme must "
            f"be one of {', '.join(sorted(schemes))}."
        )
    if parts.scheme not in {"sqlite", "filesystem", "memory"} and not parts.hostname:
        raise ImproperlyConfigured(
            f"Environment variable {name}={_redact(value)!r} is not a valid URL: no host."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name} has a malformed port.")
    return value


_RATE = re.compile(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name, default):
    """A request rate as Django REST framework reads it: "20/min", "600/hour", "5/s"."""
    value = env_str(name, default)
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not a rate such as 20/min "
            "(a count, then / and second, minute, hour or day)."
        )
    return value


def env_database(name, default):
    url = env_url(name, default, schemes={"postgres", "postgresql", "pgsql", "sqlite"})
    try:
        config = environ.Env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types for bad URLs
        raise ImproperlyConfigured(
            f"Environment variable {name} is not a valid database URL: {exc}"
        )
    return config


def env_timezone(name, default):
    value = env_str(name, default)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} is not an IANA time zone."
        )
    return value


def _redact(url):
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "****")
    return url
