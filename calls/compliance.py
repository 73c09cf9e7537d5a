"""Compliance profiles and call-settings validation.

A profile is the outer limit of when and how often a debtor may be called; a batch's own call
settings can only narrow it (``calls.windows.build_window``). The contact-frequency limits are
data only: the engine enforces them with the database. The public names here are re-exported
by ``calls.windows``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from zoneinfo import available_timezones

import holidays
import phonenumbers
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from phonenumbers.timezone import time_zones_for_number

__all__ = [
    "COUNTRY_ZONES",
    "DEFAULT_PROFILE",
    "PROFILES",
    "PHONE_CLASSES",
    "PROFILE_CHOICES",
    "CallSettingsError",
    "CompliancePolicy",
    "is_holiday",
    "phone_zones",
    "validate_call_settings",
    "zone_error",
]


@dataclass(frozen=True)
class CompliancePolicy:
    """Legal calling limits, in the contact's local time.

    ``start``/``end`` bound the half-open interval [start, end) of allowed local times (None: no
    bound); ``days`` holds ISO weekdays (1 = Monday ... 7 = Sunday, None: every day);
    ``holiday_country`` is a ``holidays`` country code whose public holidays are never allowed.
    ``max_answered_contacts_per_7d`` (per RUT) and ``max_attempts_per_7d`` are rolling-window
    limits for the engine (None: no limit). ``country`` (a COUNTRY_ZONES key, None: anywhere):
    the hours are the debtor's local hours, so they are checked in the zones of the number
    dialled (``phone_zones``), and campaign and contact time zones must be of this country.
    """

    name: str
    country: str | None = None
    start: time | None = None
    end: time | None = None
    days: frozenset[int] | None = None
    holiday_country: str | None = None
    max_answered_contacts_per_7d: int | None = None
    max_attempts_per_7d: int | None = None


PROFILES: dict[str, CompliancePolicy] = {
    # Ley 19.496 art. 37 as amended by Ley 21.320: Monday to Saturday, 08:00-20:00, never on
    # public holidays, and at most one answered contact per week.
    "CL": CompliancePolicy(
        name="CL",
        start=time(8, 0),
        end=time(20, 0),
        days=frozenset(range(1, 7)),
        holiday_country="CL",
        max_answered_contacts_per_7d=1,
        country="CL",
    ),
    # Regulation F (12 CFR 1006): 08:00-21:00 local, at most 7 call attempts in 7 days.
    "US": CompliancePolicy(
        name="US", start=time(8, 0), end=time(21, 0), max_attempts_per_7d=7, country="US"
    ),
    "none": CompliancePolicy(name="none"),
}

PROFILE_CHOICES = (
    ("CL", _("Chile (Ley 19.496 / 21.320)")),
    ("US", _("United States (Regulation F)")),
    ("none", _("None")),
)

DEFAULT_PROFILE = "CL"


# The zones of each country, as the tz database's zone.tab lists them (a test checks they still
# match it).
COUNTRY_ZONES: dict[str, tuple[str, ...]] = {
    "CL": ("America/Santiago", "America/Coyhaique", "America/Punta_Arenas", "Pacific/Easter"),
    "US": (
        "America/New_York", "America/Detroit", "America/Kentucky/Louisville",
        "America/Kentucky/Monticello", "America/Indiana/Indianapolis",
        "America/Indiana/Vincennes", "America/Indiana/Winamac", "America/Indiana/Marengo",
        "America/Indiana/Petersburg", "America/Indiana/Vevay", "America/Chicago",
        "America/Indiana/Tell_City", "America/Indiana/Knox", "America/Menominee",
        "America/North_Dakota/Center", "America/North_Dakota/New_Salem",
        "America/North_Dakota/Beulah", "America/Denver", "America/Boise", "America/Phoenix",
        "America/Los_Angeles", "America/Anchorage", "America/Juneau", "America/Sitka",
        "America/Metlakatla", "America/Yakutat", "America/Nome", "America/Adak",
        "Pacific/Honolulu",
    ),
}
# phonenumbers places every Chilean landline in America/Santiago. These area codes are not
# (only) there: Magallanes (61), Aysen (67), and Valparaiso's 32, which Easter Island shares.
# A mobile (9...) says nothing about where its owner is: every Chilean zone.
_CL_AREA_ZONES = {
    "61": ("America/Punta_Arenas",),
    "67": ("America/Coyhaique",),
    "32": ("America/Santiago", "Pacific/Easter"),
}


# Numbers that all share one zone set, by prefix: (prefix, a number of it). A job whose phones
# all have one of these prefixes is deferred exactly to its own opening, by one UPDATE.
PHONE_CLASSES: dict[str, tuple[tuple[str, str], ...]] = {
    "CL": (("+569", "+56900000000"), ("+562", "+56220000000")),
}


@lru_cache(maxsize=65536)
def phone_zones(phone: str, country: str) -> tuple[str, ...]:
    """The zones the owner of ``phone`` (E.164) may be in, for a profile of ``country``: a
    call is allowed only when it is allowed in every one of them.

    A number pinned to zones of the country gives those zones; one that cannot be pinned
    (a Chilean mobile, a toll-free number, one that does not parse) gives all the country's
    zones; a number of another country must be inside the hours both where it is and
    everywhere in the country (so a campaign's earliest opening bounds every number's).
    """
    country_zones = COUNTRY_ZONES[country]
    try:
        number = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException:
        return tuple(sorted(country_zones))
    zones = set(_known_zones(time_zones_for_number(number)))
    if phonenumbers.region_code_for_number(number) == "CL":
        national = str(number.national_number)
        zones = set(_CL_AREA_ZONES.get(national[:2], ()) or zones)
        if national.startswith("9"):
            zones = set(COUNTRY_ZONES["CL"])
    if not zones or not zones <= set(country_zones):
        zones |= set(country_zones)
    return tuple(sorted(zones))


def _known_zones(names) -> list[str]:
    return [name for name in names if name in _time_zones()]


@lru_cache(maxsize=128)
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


def is_holiday(country: str, day: date) -> bool:
    """Whether ``day`` (a local calendar date) is a national public holiday in ``country``."""
    return day in _holiday_dates(country, day.year)


def narrow(
    policy: CompliancePolicy,
    start: time | None,
    end: time | None,
    days: frozenset[int] | None,
) -> tuple[time | None, time | None, frozenset[int] | None, str | None]:
    """Latest start, earliest end and common days of ``policy`` and a batch's settings, plus
    the field that leaves no time to call ("allowed_hours" or "days_of_week"), or None.
    """
    start = max((t for t in (policy.start, start) if t is not None), default=None)
    end = min((t for t in (policy.end, end) if t is not None), default=None)
    if days is None:
        days = policy.days
    elif policy.days is not None:
        days = policy.days & days
    if start is not None and end is not None and start >= end:
        return start, end, days, "allowed_hours"
    if days is not None and not days:
        return start, end, days, "days_of_week"
    return start, end, days, None


_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
_DECIMAL = re.compile(r"\d+(\.\d+)?", re.ASCII)


def parse_hhmm(value: object) -> time:
    """``time`` from a strict "HH:MM" string (00:00 to 23:59); ValueError otherwise."""
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"Not an HH:MM time: {value!r}.")
    return time(int(match[1]), int(match[2]))


def format_hhmm(value: time | None) -> str:
    return "--:--" if value is None else value.strftime("%H:%M")


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


# --- Call-settings validation ---------------------------------------------------------------


class CallSettingsError(ValueError):
    """Invalid call settings: ``errors`` maps dotted field names to lists of (lazy) messages."""

    def __init__(self, errors: dict[str, list]) -> None:
        # The messages are lazy translations; don't force them here (settings may be unset).
        super().__init__(f"Invalid call settings: {', '.join(sorted(errors))}")
        self.errors = errors


_INT_FIELDS = {  # name: (minimum, maximum, default)
    "max_call_duration": (60, 7200, 600),
    "ring_timeout": (5, 300, 60),
    "max_attempts": (1, 20, 3),
}
_MAX_RETRY_DELAY = Decimal(720)
_PRIORITIES = ("low", "normal", "high")
_FIELDS = (
    *_INT_FIELDS,
    "retry_delay_hours",
    "allowed_hours",
    "days_of_week",
    "timezone",
    "priority",
)

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
_TZ_VS_PROFILE = _(
    "Must be a time zone of the country of the {profile} compliance profile: {zones}."
)
_HOURS_VS_PROFILE = _(
    "Leaves no time to call: the {profile} compliance profile only allows {start}-{end}."
)
_DAYS_VS_PROFILE = _("None of these days is allowed by the {profile} compliance profile.")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_call_settings(
    data: dict | None, *, default_timezone: str, profile: str | None = None
) -> dict:
    """Clean a complete call-settings dict (for PATCH, the caller merges onto the old one first).

    Returns every field with defaults filled in; ``retry_delay_hours`` becomes a decimal string
    ("0.25") and ``days_of_week`` a sorted list, so the result validates to itself. When
    ``profile`` is given, settings that leave no time to call under it are rejected as well.
    Raises CallSettingsError with dotted field names ("allowed_hours.start") as keys.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CallSettingsError({"non_field_errors": [_NOT_OBJECT]})
    errors: dict[str, list] = {}
    cleaned: dict = {}
    for key in data:
        if key not in _FIELDS:
            errors[str(key)] = [_UNKNOWN]
    for name, (low, high, default) in _INT_FIELDS.items():
        value = data.get(name, default)
        if value is None:
            errors[name] = [_NOT_NULL]
        elif (number := _integer(value)) is None:
            errors[name] = [_NOT_INT]
        elif not low <= number <= high:
            errors[name] = [format_lazy(_BETWEEN, min=low, max=high)]
        else:
            cleaned[name] = number
    _clean_retry_delay(data.get("retry_delay_hours", "30"), cleaned, errors)
    cleaned["allowed_hours"] = _clean_hours(data.get("allowed_hours"), errors)
    cleaned["days_of_week"] = _clean_days(data.get("days_of_week"), errors)
    tz_name = data.get("timezone", default_timezone)
    if tz_name is None:
        errors["timezone"] = [_NOT_NULL]
    elif not isinstance(tz_name, str) or tz_name not in _time_zones():
        errors["timezone"] = [_NOT_TZ]
    elif profile is not None and (message := zone_error(tz_name, profile)) is not None:
        errors["timezone"] = [message]
    else:
        cleaned["timezone"] = tz_name
    priority = data.get("priority", "normal")
    if not isinstance(priority, str) or priority not in _PRIORITIES:
        errors["priority"] = [format_lazy(_NOT_CHOICE, choices=", ".join(_PRIORITIES))]
    else:
        cleaned["priority"] = priority
    if profile is not None and not errors:
        _check_profile(cleaned, profile, errors)
    if errors:
        raise CallSettingsError(errors)
    return {name: cleaned[name] for name in _FIELDS}


def zone_error(tz_name: str, profile: str):
    """Why ``tz_name`` cannot be a campaign's, contact's or account's zone under ``profile``
    (a lazy message), or None. A zone outside the profile's country would move its hours."""
    policy = PROFILES.get(profile)
    if policy is None or policy.country is None:
        return None
    zones = COUNTRY_ZONES[policy.country]
    if tz_name in zones:
        return None
    return format_lazy(_TZ_VS_PROFILE, profile=policy.name, zones=", ".join(zones))


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
    elif not 0 <= delay <= _MAX_RETRY_DELAY:
        errors[name] = [format_lazy(_BETWEEN, min=0, max=_MAX_RETRY_DELAY)]
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
