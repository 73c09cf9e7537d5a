"""Brute-force protection for both logins, the admin's and ``POST /api/v1/auth/login``.

LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_SECONDS lock the username, and separately
the client's address, for LOGIN_LOCKOUT_SECONDS: every attempt is then refused, the right
password too, without checking it. The counters live in Django's cache (Redis in production)
so that every web process sees the same ones.
"""

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle


class LoginLocked(Exception):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


def _subjects(request, username: str) -> dict[str, str]:
    # The client's address as the API throttles see it (DRF's NUM_PROXIES); usernames hashed:
    # any text may be typed, and the cache key stays short and plain.
    name = hashlib.sha256(username.casefold().encode()).hexdigest()
    address = BaseThrottle().get_ident(request)
    return {"user": f"login:user:{name}", "address": f"login:ip:{address}"}


def _locked_for(subjects: dict[str, str]) -> int:
    until = cache.get_many([f"{key}:locked" for key in subjects.values()]).values()
    return max((math.ceil(moment - time.time()) for moment in until), default=0)


def _count_failure(key: str) -> None:
    window = settings.LOGIN_LOCKOUT_SECONDS
    cache.add(f"{key}:failures", 0, timeout=window)
    try:
        failures = cache.incr(f"{key}:failures")
    except ValueError:  # the window ended between add and incr
        cache.set(f"{key}:failures", 1, timeout=window)
        failures = 1
    if failures >= settings.LOGIN_FAILURE_LIMIT:
        cache.set(f"{key}:locked", time.time() + window, timeout=window)
        cache.delete(f"{key}:failures")


def login_authenticate(*, request, username: str, password: str):
    """The user these credentials are, or None; raises LoginLocked (with the seconds to wait)
    while the username or the client's address is locked out."""
    subjects = _subjects(request, username)
    wait = _locked_for(subjects)
    if wait > 0:
        raise LoginLocked(wait)
    user = authenticate(request, username=username, password=password)
    if user is None:
        for key in subjects.values():
            _count_failure(key)
    else:
        cache.delete(f"{subjects['user']}:failures")
    return user
