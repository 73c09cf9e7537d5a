"""Calling-window arithmetic: when may a job be dialled? Pure Python, no database.

A window is allowed at an instant when the wall-clock time in the window's time zone is within
[start, end), on an allowed ISO weekday that is not a public holiday there. Everything is
decided on the local wall clock, so DST changes follow naturally: a window opening inside a gap
(a local time that does not exist) opens at the first instant after the gap, and an opening in
a repeated hour happens at its first (fold=0) occurrence. Returned instants are aware, in UTC.

``dial_window`` is the rule the engine applies to a number: the campaign's own window and, under
a profile with a country, the profile's hours in every zone the number may be in, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from accounts.compliance import (
    COUNTRY_ZONES,
    PROFILES,
    CompliancePolicy,
    format_hhmm,
    is_holiday,
    narrow,
    parse_hhmm,
    phone_zones,
)
from batches.call_settings import parse_decimal

__all__ = [
    "SEARCH_HORIZON",
    "AnyWindow",
    "CallWindow",
    "DialWindow",
    "WindowError",
    "build_window",
    "campaign_opens",
    "campaign_window",
    "dial_window",
    "is_allowed",
    "next_allowed",
    "next_retry_at",
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


@dataclass(frozen=True)
class DialWindow:
    """Open when every part is: a campaign's own hours in its zone, and the profile's hours in
    each zone the number dialled may be in."""

    parts: tuple[CallWindow | AnyWindow, ...]


@dataclass(frozen=True)
class AnyWindow:
    """Open when any member is (a campaign's view of numbers that may be in any of its
    country's zones)."""

    members: tuple[CallWindow, ...]


Window = CallWindow | DialWindow | AnyWindow


def build_window(
    *, call_settings: dict | None, profile: str, timezone: str | None = None
) -> CallWindow:
    """The intersection of a batch's ``call_settings`` and the compliance ``profile``.

    ``timezone`` (the contact's own zone) overrides ``call_settings["timezone"]``. Raises
    WindowError (with ``field``) for an unknown profile or time zone, malformed hours, or
    settings that leave no time to call under the profile.
    """
    policy = _policy(profile)
    return _narrowed(policy, _own_window(call_settings or {}, timezone))


def dial_window(
    *, call_settings: dict | None, profile: str, timezone: str | None = None,
    phone: str | None = None,
) -> CallWindow | DialWindow:
    """When ``phone`` may be dialled: the one rule of the dial check, the deferrals and the
    retries.

    Under a profile with a country (CL, US) the profile's hours are the debtor's local hours:
    they hold in every zone the number may be in (``phone_zones``; without a phone, every
    zone of the country), and the campaign's own hours and days hold in its zone (the
    contact's ``timezone`` if it has one). Under ``none`` only the campaign's window counts.
    Raises WindowError as build_window does.
    """
    policy = _policy(profile)
    own = _own_window(call_settings or {}, timezone)
    narrowed = _narrowed(policy, own)
    if policy.country is None:
        return narrowed
    zones = phone_zones(phone, policy.country) if phone else COUNTRY_ZONES[policy.country]
    return DialWindow((own, *(_profile_window(policy, name) for name in zones)))


def campaign_window(*, call_settings: dict | None, profile: str) -> CallWindow | DialWindow:
    """Open whenever some number of the campaign may be: the campaign's own window in its
    zone and, under a profile with a country, the profile's hours in any of its zones. Its
    next opening is never later than that of a job without a zone of its own."""
    policy = _policy(profile)
    own = _own_window(call_settings or {}, None)
    narrowed = _narrowed(policy, own)
    if policy.country is None:
        return narrowed
    zones = COUNTRY_ZONES[policy.country]
    return DialWindow((own, AnyWindow(tuple(_profile_window(policy, name) for name in zones))))


def campaign_opens(*, call_settings: dict | None, profile: str, after: datetime):
    """The first instant >= ``after`` at which some job of the campaign may be dialled, or
    None when its settings are invalid or it does not open (process_job says why, per job)."""
    try:
        return next_allowed(campaign_window(call_settings=call_settings, profile=profile), after)
    except WindowError:
        return None


def _policy(profile: str) -> CompliancePolicy:
    policy = PROFILES.get(profile)
    if policy is None:
        raise WindowError(f"Unknown compliance profile {profile!r}.", field="compliance_profile")
    return policy


def _profile_window(policy: CompliancePolicy, tz_name: str) -> CallWindow:
    return CallWindow(tz=ZoneInfo(tz_name), start=policy.start, end=policy.end,
                      days=policy.days, holiday_country=policy.holiday_country)


def _own_window(call_settings: dict, timezone: str | None) -> CallWindow:
    """The campaign's own hours and days in its zone (the contact's, if it has one)."""
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
    return CallWindow(tz=tz, start=start, end=end, days=days)


def _narrowed(policy: CompliancePolicy, own: CallWindow) -> CallWindow:
    """``own`` narrowed by the profile in its own zone; WindowError if no time is left."""
    start, end, days = own.start, own.end, own.days
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
        tz=own.tz, start=w_start, end=w_end, days=w_days, holiday_country=policy.holiday_country
    )


def is_allowed(window: Window, at: datetime) -> bool:
    """Whether calling is allowed at the aware instant ``at``."""
    at = _aware(at)
    if isinstance(window, DialWindow):
        return all(is_allowed(part, at) for part in window.parts)
    if isinstance(window, AnyWindow):
        return any(is_allowed(member, at) for member in window.members)
    return _wall_allowed(window, at.astimezone(window.tz).replace(tzinfo=None))


def next_allowed(window: Window, after: datetime) -> datetime:
    """The earliest allowed instant >= ``after`` (so ``after`` itself if allowed), in UTC.

    Raises WindowError if the window does not open within SEARCH_HORIZON of ``after``.
    """
    after = _aware(after)
    found = None
    if not isinstance(window, DialWindow) or _opens_at_all(window, after.astimezone(UTC).date(),
                                                            SEARCH_HORIZON):
        found = _next_open(window, after, after.astimezone(UTC) + SEARCH_HORIZON)
    if found is None:
        raise WindowError(f"The calling window does not open within {SEARCH_HORIZON.days} days.")
    return found


@lru_cache(maxsize=1024)
def _opens_at_all(window: DialWindow, day: date, horizon: timedelta) -> bool:
    """Whether ``window`` opens within ``horizon`` of ``day`` (UTC). Cached: the jobs of a
    campaign share a few windows, and hours that no zone of a number shares (a campaign
    calling 08:00-09:30 in Santiago, a Chilean mobile that may be on Easter Island) would
    otherwise cost a search of the whole horizon at every try of every job."""
    start = datetime.combine(day, time(), UTC)
    return _next_open(window, start, start + horizon + timedelta(days=1)) is not None


def _next_open(window: Window, after: datetime, limit: datetime) -> datetime | None:
    if isinstance(window, AnyWindow):
        found = [_next_open(member, after, limit) for member in window.members]
        return min((at for at in found if at is not None), default=None)
    if not isinstance(window, DialWindow):
        found = _first_allowed(window, after)
        return found if found is not None and found < limit else None
    # Every part: move to the latest of their next openings until all agree. No common
    # instant is skipped (none can come before any part's next opening).
    at = after.astimezone(UTC)
    while at < limit:
        openings = [_next_open(part, at, limit) for part in window.parts]
        if None in openings:
            return None
        latest = max(openings)
        if latest == at:
            return at
        at = latest
    return None


def next_retry_at(
    window: Window, *, ended_at: datetime, delay_hours: Decimal | float | int | str
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


def _first_allowed(window: CallWindow, start: datetime) -> datetime | None:
    """The first instant >= ``start`` at which ``is_allowed`` holds, in UTC.

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
            if _wall_allowed(window, wall):
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
