"""A campaign's call settings: one shape, its defaults, and the one validator.

``validate_call_settings`` returns a ``CallSettings`` with every default filled in, refusing
what leaves no time to call under the account's compliance profile (``accounts.compliance``).
They are stored in ``Batch.call_settings`` as JSON (``to_json``); the engine reads them back
with ``CallSettings.from_json``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.compliance import (
    PROFILES,
    format_hhmm,
    narrow,
    parse_hhmm,
    time_zones,
    zone_error,
)

_DECIMAL = re.compile(r"\d+(\.\d+)?", re.ASCII)


@dataclass(frozen=True, eq=False)
class CallSettings(Mapping):
    """A campaign's call settings. The defaults here are the only ones.

    It also reads as the JSON it is stored as (a read-only mapping): the window arithmetic
    (``batches.windows``) takes either, and it compares equal to its stored form.
    """

    max_call_duration: int = 600  # seconds a call may last (and what its hold covers)
    ring_timeout: int = 60  # seconds a call may ring
    max_attempts: int = 3  # calls per debtor
    retry_delay_hours: str = "30"  # between two calls of a debtor; a decimal string ("0.25")
    allowed_hours: dict | None = None  # {"start": "HH:MM", "end": "HH:MM"}; None: any time
    days_of_week: tuple[int, ...] | None = None  # ISO weekdays; None: every day
    timezone: str = ""  # IANA; the validator fills in the account's
    priority: str = "normal"  # low, normal, high

    def to_json(self) -> dict:
        data = asdict(self)
        if self.days_of_week is not None:
            data["days_of_week"] = list(self.days_of_week)
        return data

    @classmethod
    def from_json(cls, data: Mapping | None) -> CallSettings:
        """Stored settings (validated when they were stored), with the default of any key
        they lack. Raises ValueError or TypeError if a number is not one; the window fields
        are taken as they are (the window arithmetic refuses malformed ones)."""
        data = data or {}
        days = data.get("days_of_week")
        return cls(
            max_call_duration=int(data.get("max_call_duration", cls.max_call_duration)),
            ring_timeout=int(data.get("ring_timeout", cls.ring_timeout)),
            max_attempts=int(data.get("max_attempts", cls.max_attempts)),
            retry_delay_hours=str(data.get("retry_delay_hours", cls.retry_delay_hours)),
            allowed_hours=data.get("allowed_hours"),
            days_of_week=tuple(days) if isinstance(days, list | tuple) else days,
            timezone=data.get("timezone") or "",
            priority=data.get("priority", cls.priority),
        )

    # The mapping of the stored JSON.
    def __getitem__(self, key: str):
        if key not in _FIELDS:
            raise KeyError(key)
        return self.to_json()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELDS)

    def __len__(self) -> int:
        return len(_FIELDS)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.to_json() == dict(other)

    __hash__ = None  # equal to a dict, so no hash of its own


_FIELDS = tuple(f.name for f in fields(CallSettings))


def parse_decimal(value: object) -> Decimal | None:
    """A finite Decimal from an int, float, Decimal or plain decimal string ("0.25"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        return Decimal(value) if _DECIMAL.fullmatch(value) else None
    if isinstance(value, float):
        value = repr(value)  # 0.1 -> Decimal("0.1"), not its binary expansion
    elif not isinstance(value, int | Decimal):
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


class CallSettingsError(ValueError):
    """Invalid call settings: ``errors`` maps dotted field names to lists of (lazy) messages."""

    def __init__(self, errors: dict[str, list]) -> None:
        # The messages are lazy translations; don't force them here (settings may be unset).
        super().__init__(f"Invalid call settings: {', '.join(sorted(errors))}")
        self.errors = errors


INT_LIMITS = {  # name: (minimum, maximum)
    "max_call_duration": (60, 7200),
    "ring_timeout": (5, 300),
    "max_attempts": (1, 20),
}
MAX_RETRY_DELAY = Decimal(720)
PRIORITIES = ("low", "normal", "high")  # also written 0, 1, 2 (the seeds' number form)

_REQUIRED = _("This field is required.")
_NOT_NULL = _("This field may not be null.")
_UNKNOWN = _("Unknown field.")
_NOT_OBJECT = _("Must be an object.")
_NOT_INT = _("Must be an integer.")
_BETWEEN = _("Must be between {min} and {max}.")
_NOT_NUMBER = _("Must be a number, such as 0.25 or 30.")
_TOO_PRECISE = _("Must have at most 4 decimal places.")
_HOURS_SHAPE = _('Must be an object with "start" and "end" times, or null for any time.')
_NOT_HHMM = _("Must be a time in HH:MM format, from 00:00 to 23:59.")
_END_BEFORE_START = _("Must be later than the start time.")
_DAYS_SHAPE = _("Must be a non-empty list of ISO weekdays, or null for every day.")
_NOT_WEEKDAY = _("Each day must be an integer from 1 (Monday) to 7 (Sunday).")
_DAYS_REPEAT = _("Days must not repeat.")
_NOT_TZ = _("Must be a valid IANA time zone name, such as America/Santiago.")
_NOT_CHOICE = _("Must be one of: {choices}.")
_HOURS_VS_PROFILE = _(
    "Leaves no time to call: the {profile} compliance profile only allows {start}-{end}."
)
_DAYS_VS_PROFILE = _("None of these days is allowed by the {profile} compliance profile.")


def validate_call_settings(
    data: Mapping | None, *, default_timezone: str, profile: str | None = None
) -> CallSettings:
    """Clean complete call settings (for PATCH, the caller merges onto the old ones first).

    Returns every field with defaults filled in; ``retry_delay_hours`` becomes a decimal string
    ("0.25") and ``days_of_week`` sorted, so the result validates to itself. When
    ``profile`` is given, settings that leave no time to call under it are rejected as well.
    Raises CallSettingsError with dotted field names ("allowed_hours.start") as keys.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise CallSettingsError({"non_field_errors": [_NOT_OBJECT]})
    errors: dict[str, list] = {}
    cleaned: dict = {}
    for key in data:
        if key not in _FIELDS:
            errors[str(key)] = [_UNKNOWN]
    for name, (low, high) in INT_LIMITS.items():
        value = data.get(name, getattr(CallSettings, name))
        if value is None:
            errors[name] = [_NOT_NULL]
        elif (number := _integer(value)) is None:
            errors[name] = [_NOT_INT]
        elif not low <= number <= high:
            errors[name] = [format_lazy(_BETWEEN, min=low, max=high)]
        else:
            cleaned[name] = number
    _clean_retry_delay(data.get("retry_delay_hours", CallSettings.retry_delay_hours), cleaned,
                       errors)
    cleaned["allowed_hours"] = _clean_hours(data.get("allowed_hours"), errors)
    cleaned["days_of_week"] = _clean_days(data.get("days_of_week"), errors)
    tz_name = data.get("timezone", default_timezone)
    if tz_name is None:
        errors["timezone"] = [_NOT_NULL]
    elif not isinstance(tz_name, str) or tz_name not in time_zones():
        errors["timezone"] = [_NOT_TZ]
    elif profile is not None and (message := zone_error(tz_name, profile)) is not None:
        errors["timezone"] = [message]
    else:
        cleaned["timezone"] = tz_name
    priority = data.get("priority", CallSettings.priority)
    if type(priority) is int and 0 <= priority < len(PRIORITIES):
        priority = PRIORITIES[priority]  # stored as its name, like the top-level priority
    if not isinstance(priority, str) or priority not in PRIORITIES:
        errors["priority"] = [format_lazy(_NOT_CHOICE, choices=", ".join(PRIORITIES))]
    else:
        cleaned["priority"] = priority
    if profile is not None and not errors:
        _check_profile(cleaned, profile, errors)
    if errors:
        raise CallSettingsError(errors)
    days = cleaned["days_of_week"]
    return CallSettings(**{**cleaned, "days_of_week": None if days is None else tuple(days)})


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


def _clean_retry_delay(value: object, cleaned: dict, errors: dict[str, list]) -> None:
    name = "retry_delay_hours"
    delay = parse_decimal(value)
    if value is None:
        errors[name] = [_NOT_NULL]
    elif delay is None:
        errors[name] = [_NOT_NUMBER]
    elif not 0 <= delay <= MAX_RETRY_DELAY:
        errors[name] = [format_lazy(_BETWEEN, min=0, max=MAX_RETRY_DELAY)]
    elif delay.normalize().as_tuple().exponent < -4:
        errors[name] = [_TOO_PRECISE]
    else:
        cleaned[name] = format(delay.normalize(), "f")


def _clean_hours(value: object, errors: dict[str, list]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        errors["allowed_hours"] = [_HOURS_SHAPE]
        return None
    for key in value:
        if key not in ("start", "end"):
            errors[f"allowed_hours.{key}"] = [_UNKNOWN]
    parsed = {}
    for key in ("start", "end"):
        if key not in value:
            errors[f"allowed_hours.{key}"] = [_REQUIRED]
            continue
        try:
            parsed[key] = parse_hhmm(value[key])
        except ValueError:
            errors[f"allowed_hours.{key}"] = [_NOT_HHMM]
    if len(parsed) == 2 and parsed["start"] >= parsed["end"]:
        errors["allowed_hours.end"] = [_END_BEFORE_START]
    return {"start": value.get("start"), "end": value.get("end")}


def _clean_days(value: object, errors: dict[str, list]) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        errors["days_of_week"] = [_DAYS_SHAPE]
    elif any(type(day) is not int or not 1 <= day <= 7 for day in value):
        errors["days_of_week"] = [_NOT_WEEKDAY]
    elif len(set(value)) != len(value):
        errors["days_of_week"] = [_DAYS_REPEAT]
    else:
        return sorted(value)
    return None


def _check_profile(cleaned: dict, profile: str, errors: dict[str, list]) -> None:
    policy = PROFILES.get(profile)
    if policy is None:
        raise ValueError(f"Unknown compliance profile {profile!r}.")
    hours, days = cleaned["allowed_hours"], cleaned["days_of_week"]
    start = None if hours is None else parse_hhmm(hours["start"])
    end = None if hours is None else parse_hhmm(hours["end"])
    *_, bad_field = narrow(policy, start, end, None if days is None else frozenset(days))
    if bad_field == "allowed_hours":
        message = format_lazy(
            _HOURS_VS_PROFILE,
            profile=policy.name,
            start=format_hhmm(policy.start),
            end=format_hhmm(policy.end),
        )
        errors[bad_field] = [message]
    elif bad_field == "days_of_week":
        errors[bad_field] = [format_lazy(_DAYS_VS_PROFILE, profile=policy.name)]
