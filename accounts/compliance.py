"""Compliance profiles: the legal limits an account's calls live within.

A profile is the outer limit of when and how often a debtor may be called; a campaign's own call
settings can only narrow it (``batches.windows``, ``batches.call_settings``). The
contact-frequency limits are data only: the engine enforces them with the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
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
    "CompliancePolicy",
    "format_hhmm",
    "is_holiday",
    "narrow",
    "parse_hhmm",
    "phone_zones",
    "time_zones",
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
    return [name for name in names if name in time_zones()]


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


def parse_hhmm(value: object) -> time:
    """``time`` from a strict "HH:MM" string (00:00 to 23:59); ValueError otherwise."""
    match = _HHMM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"Not an HH:MM time: {value!r}.")
    return time(int(match[1]), int(match[2]))


def format_hhmm(value: time | None) -> str:
    return "--:--" if value is None else value.strftime("%H:%M")


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """The IANA zone names this system knows."""
    return frozenset(available_timezones())


_TZ_VS_PROFILE = _(
    "Must be a time zone of the country of the {profile} compliance profile: {zones}."
)


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
