"""DRF's throttles, reading their rates when a request comes instead of at import.

``SimpleRateThrottle.THROTTLE_RATES`` is bound when DRF is imported, so a changed
``REST_FRAMEWORK`` setting (a test's ``settings`` fixture) would never reach it. A rate of None
turns a throttle off (the test settings do so).
"""

from rest_framework import throttling
from rest_framework.settings import api_settings


class _CurrentRates:
    @property
    def THROTTLE_RATES(self):  # noqa: N802 - the attribute DRF reads
        return api_settings.DEFAULT_THROTTLE_RATES


class AnonRateThrottle(_CurrentRates, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_CurrentRates, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_CurrentRates, throttling.ScopedRateThrottle):
    """Applies only to views with a ``throttle_scope`` (uploads, exports), on top of the
    user's rate."""
