"""Calling-window arithmetic: when may a job be dialled? Pure Python, no database.

A window is allowed at an instant when the wall-clock time in the window's time zone is within
[start, end), on an allowed ISO weekday that is not a public holiday there. Everything is
decided on the local wall clock, so DST changes follow naturally: a window opening inside a gap
(a local time that does not exist) opens at the first instant after the gap, and an opening in
a repeated hour happens at its first (fold=0) occurrence. Returned instants are aware, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from calls.compliance import (
    DEFAULT_PROFILE,
    PROFILE_CHOICES,
    PROFILES,
    CallSettingsError,
    CompliancePolicy,
    format_hhmm,
    is_holiday,
    narrow,
    parse_decimal,
    parse_hhmm,
    validate_call_settings,
)

__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "PROFILE_CHOICES",
    "SEARCH_HORIZON",
    "CallSettingsError",
    "CallWindow",
    "CompliancePolicy",
    "WindowError",
    "build_window",
    "is_allowed",
    "next_allowed",
    "next_retry_at",
    "validate_call_settings",
    "window_closes_at",
]

SEARCH_HORIZON = timedelta(days=400)
# UTC offsets are sampled this often to find DST changes (two within one step never happen).
_PROBE = timedelta(hours=6)
_MAX_SEGMENT = timedelta(days=7)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_WEEKDAYS = frozenset(range(1, 8))


class WindowError(ValueError):
    """A window that cannot be built or never opens; ``field`` names the setting at fault."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CallWindow:
    """Calls allowed at local times [start, end) on ``days`` (ISO weekdays), minus holidays.

    None means unbounded: no start (00:00), no end (midnight), every day, no holidays.
    """

    tz: ZoneInfo
    start: time | None = None
    end: time | None = None
    days: frozenset[int] | None = None
    holiday_country: str | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise WindowError("The window must start before it ends.", field="allowed_hours")
        if self.days is not None and not (self.days and self.days <= _WEEKDAYS):
            raise WindowError("days must be a non-empty set of 1..7.", field="days_of_week")


def build_window(
    *, call_settings: dict | None, profile: str, timezone: str | None = None
) -> CallWindow:
    """The intersection of a batch's ``call_settings`` and the compliance ``profile``.

    ``timezone`` (the contact's own zone) overrides ``call_settings["timezone"]``. Raises
    WindowError (with ``field``) for an unknown profile or time zone, malformed hours, or
    settings that leave no time to call under the profile.
    """
    call_settings = call_settings or {}
    policy = PROFILES.get(profile)
    if policy is None:
        raise WindowError(f"Unknown compliance profile {profile!r}.", field="compliance_profile")
    tz_name = timezone or call_settings.get("timezone")
    if not tz_name:
        raise WindowError("timezone is required.", field="timezone")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise WindowError(
            f"timezone {tz_name!r} is not a known time zone.", field="timezone"
        ) from None
    hours = call_settings.get("allowed_hours")
    start = end = None
    if hours is not None:
        try:
            start, end = parse_hhmm(hours["start"]), parse_hhmm(hours["end"])
        except (KeyError, TypeError, ValueError):
            raise WindowError(
                f'allowed_hours must be {{"start": "HH:MM", "end": "HH:MM"}}, not {hours!r}.',
                field="allowed_hours",
            ) from None
    raw_days = call_settings.get("days_of_week")
    try:
        days = None if raw_days is None else frozenset(raw_days)
        valid = days is None or days <= _WEEKDAYS
    except TypeError:
        valid = False
    if not valid:
        raise WindowError(f"days_of_week {raw_days!r} must be within 1..7.", field="days_of_week")
    w_start, w_end, w_days, bad_field = narrow(policy, start, end, days)
    if bad_field == "allowed_hours":
        raise WindowError(
            f"allowed_hours {format_hhmm(start)}-{format_hhmm(end)} leaves no time to call "
            f"under the {policy.name} compliance profile "
            f"({format_hhmm(policy.start)}-{format_hhmm(policy.end)}).",
            field=bad_field,
        )
    if bad_field == "days_of_week":
        raise WindowError(
            f"days_of_week {sorted(days or ())} has no day allowed by the {policy.name} "
            f"compliance profile ({sorted(policy.days or ())}).",
            field=bad_field,
        )
    return CallWindow(
        tz=tz, start=w_start, end=w_end, days=w_days, holiday_country=policy.holiday_country
    )


def is_allowed(window: CallWindow, at: datetime) -> bool:
    """Whether calling is allowed at the aware instant ``at``."""
    return _wall_allowed(window, _aware(at).astimezone(window.tz).replace(tzinfo=None))


def next_allowed(window: CallWindow, after: datetime) -> datetime:
    """The earliest allowed instant >= ``after`` (so ``after`` itself if allowed), in UTC.

    Raises WindowError if the window does not open within SEARCH_HORIZON.
    """
    found = _first_instant(window, _aware(after), want=True)
    if found is None:
        raise WindowError(f"The calling window does not open within {SEARCH_HORIZON.days} days.")
    return found


def window_closes_at(window: CallWindow, at: datetime) -> datetime | None:
    """The end (UTC) of the allowed interval containing ``at``: the first later instant when
    calling is not allowed. None if it stays open for all of SEARCH_HORIZON; ``at`` itself (in
    UTC) if the window is closed at ``at``.
    """
    at = _aware(at)
    if not is_allowed(window, at):
        return at.astimezone(UTC)
    always_open = (
        window.start in (None, time())
        and window.end is None
        and window.holiday_country is None
        and (window.days is None or len(window.days) == 7)
    )
    return None if always_open else _first_instant(window, at, want=False)


def next_retry_at(
    window: CallWindow, *, ended_at: datetime, delay_hours: Decimal | float | int | str
) -> datetime:
    """next_allowed(window, ended_at + delay_hours), exact for fractional hours ("0.25")."""
    delay = parse_decimal(delay_hours)
    if delay is None or delay < 0:
        raise ValueError(f"delay_hours must be a non-negative number, not {delay_hours!r}.")
    micros = int((delay * 3_600_000_000).to_integral_value())
    return next_allowed(window, _aware(ended_at) + timedelta(microseconds=micros))


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"Expected a timezone-aware datetime, got {value!r}.")
    return value


def _wall_allowed(window: CallWindow, wall: datetime) -> bool:
    """Whether the naive local wall-clock time ``wall`` is inside the window."""
    clock = wall.time()
    if window.start is not None and clock < window.start:
        return False
    if window.end is not None and clock >= window.end:
        return False
    day = wall.date()
    if window.days is not None and day.isoweekday() not in window.days:
        return False
    return window.holiday_country is None or not is_holiday(window.holiday_country, day)


def _next_wall_change(window: CallWindow, wall: datetime) -> datetime:
    """The next wall-clock time after ``wall`` at which the window may open or close."""
    day = wall.date()
    change = datetime.combine(day + timedelta(days=1), time())
    for boundary in (window.start, window.end):
        if boundary is not None and wall < (candidate := datetime.combine(day, boundary)):
            change = min(change, candidate)
    return change


def _first_instant(window: CallWindow, start: datetime, *, want: bool) -> datetime | None:
    """The first instant >= ``start`` at which ``is_allowed`` equals ``want``, in UTC.

    The timeline is cut into segments of constant UTC offset. Within one, the wall clock is UTC
    plus that offset, so the answer is either the segment's start (e.g. the end of a DST gap)
    or an instant where the wall clock reaches a window boundary or midnight.
    """
    seg_start = start.astimezone(UTC)
    limit = seg_start + SEARCH_HORIZON
    while seg_start < limit:
        seg_end, offset = _segment(window.tz, seg_start, min(limit, seg_start + _MAX_SEGMENT))
        wall = (seg_start + offset).replace(tzinfo=None)
        wall_end = (seg_end + offset).replace(tzinfo=None)
        while wall < wall_end:
            if _wall_allowed(window, wall) is want:
                return (wall - offset).replace(tzinfo=UTC)
            wall = _next_wall_change(window, wall)
        seg_start = seg_end
    return None


def _offset(tz: ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(tz).utcoffset()


def _segment(tz: ZoneInfo, start: datetime, limit: datetime) -> tuple[datetime, timedelta]:
    """(end, offset): the longest span [start, end), end <= limit, with one UTC offset."""
    offset = _offset(tz, start)
    low = start
    while low < limit:
        high = min(low + _PROBE, limit)
        if _offset(tz, high) != offset:
            # Transitions happen on whole seconds: bisect on integer seconds since the epoch,
            # keeping offset(lo_s) == offset != offset(hi_s).
            lo_s, hi_s = (low - _EPOCH) // _SECOND, -((_EPOCH - high) // _SECOND)
            while hi_s - lo_s > 1:
                mid = (lo_s + hi_s) // 2
                if _offset(tz, _EPOCH + mid * _SECOND) == offset:
                    lo_s = mid
                else:
                    hi_s = mid
            return _EPOCH + hi_s * _SECOND, offset
        low = high
    return limit, offset
