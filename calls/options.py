"""What a frontend's forms may offer, read from the rules the server applies: the time zones
and calling windows of each compliance profile (``accounts.compliance``), the limits and
defaults of the call settings (``batches.call_settings``) and of the account, and the
variables a script may use (those ``calls.services.dynamic_variables`` sends)."""

from __future__ import annotations

from dataclasses import fields

from django.utils.translation import gettext as _

from accounts.compliance import (
    COUNTRY_ZONES,
    DEFAULT_PROFILE,
    PROFILE_CHOICES,
    PROFILES,
    format_hhmm,
    time_zones,
)
from accounts.models import Account
from batches.call_settings import INT_LIMITS, MAX_RETRY_DELAY, CallSettings
from batches.models import Batch, Job
from batches.recurrence import FREQUENCIES, MAX_INTERVAL, MAX_RUNS
from batches.services.options import VOICE_DEFAULTS
from batches.voice import DEFAULT_VOICE_IDS, RETELL_LANGUAGES, VOICE_LIMITS, VOICE_NOT_APPLIED
from calls.services import dynamic_variables

# Retry delays are kept to 4 decimal places (batches.call_settings refuses more).
RETRY_DELAY_DECIMALS = 4


def _variable_descriptions() -> dict[str, str]:
    return {
        "nombre": _("The debtor's name."),
        "empresa": _("The creditor company's name."),
        "RUT": _("The debtor's RUT, as imported (may be empty)."),
        "monto_total": _("The amount owed."),
        "fecha_vencimiento": _("The due date."),
        "fecha_limite": _("The deadline to pay."),
        "fecha_maxima": _("The latest date to pay."),
        "cuotas_adeudadas": _("The number of instalments owed."),
    }


def script_variables() -> list[dict]:
    """The variables sent with every call, in the order sent: the names come from the engine
    (a job without data gives every fixed name), the descriptions from here."""
    described = _variable_descriptions()
    return [
        {"name": name, "description": described.get(name, "")}
        for name in dynamic_variables(Job(rut=""))
    ]


def _default(name: str):
    return next(f.default for f in fields(CallSettings) if f.name == name)


def _profile(code: str, label) -> dict:
    policy = PROFILES[code]
    hours = None
    if policy.start is not None or policy.end is not None:
        hours = {"start": format_hhmm(policy.start), "end": format_hhmm(policy.end)}
    return {
        "code": code,
        "label": str(label),
        "country": policy.country,
        "time_zones": profile_time_zones(code),
        "hours": hours,
        "days_of_week": None if policy.days is None else sorted(policy.days),
        "holidays_country": policy.holiday_country,
        "max_answered_contacts_per_7d": policy.max_answered_contacts_per_7d,
        "max_attempts_per_7d": policy.max_attempts_per_7d,
    }


def profile_time_zones(code: str) -> list[str]:
    """The zones an account or campaign of the profile may use (``zone_error`` refuses the
    rest): its country's, or every IANA zone when it has no country."""
    country = PROFILES[code].country
    return sorted(COUNTRY_ZONES[country] if country else time_zones())


def voice_options() -> dict:
    """What voice_settings accepts (``batches.services.options.voice_settings_clean``)."""
    return {
        "limits": {
            name: {"minimum": low, "maximum": high, "default": VOICE_DEFAULTS[name]}
            for name, (low, high) in VOICE_LIMITS.items()
        },
        "languages": sorted(RETELL_LANGUAGES),
        "regional_spanish": "es-419",
        "default_language": VOICE_DEFAULTS["language"],
        "default_voice_ids": sorted(DEFAULT_VOICE_IDS),
        "not_applied": sorted(VOICE_NOT_APPLIED),
    }


def options() -> dict:
    int_ranges = {
        name: {"minimum": low, "maximum": high, "default": _default(name)}
        for name, (low, high) in INT_LIMITS.items()
    }
    concurrent = Account._meta.get_field("max_concurrent_calls")
    concurrent_range = [v.limit_value for v in concurrent.validators]
    return {
        "compliance_profiles": [_profile(code, label) for code, label in PROFILE_CHOICES],
        "default_compliance_profile": DEFAULT_PROFILE,
        "script_variables": script_variables(),
        "script_custom_variables": _(
            "Every custom column of the debtor is sent too, under its own name (the column "
            "header or custom_fields key), as text; a fixed name above wins over a custom "
            "column of the same name."
        ),
        "limits": {
            "max_concurrent_calls": {
                "minimum": min(concurrent_range),
                "maximum": max(concurrent_range),
                "default": concurrent.default,
            },
            "call_settings": {
                **int_ranges,
                "retry_delay_hours": {
                    "minimum": 0,
                    "maximum": MAX_RETRY_DELAY,
                    "default": _default("retry_delay_hours"),
                    "decimal_places": RETRY_DELAY_DECIMALS,
                },
                "allowed_hours": {"format": "HH:MM", "default": _default("allowed_hours")},
                "days_of_week": {"minimum": 1, "maximum": 7, "default": _default("days_of_week")},
                "priority": {"choices": list(Batch.PRIORITY_RANK), "default": _default("priority")},
            },
        },
        "plan_types": [{"value": v, "label": str(label)} for v, label in Account.Plan.choices],
        "priorities": [
            {"value": v, "number": Batch.PRIORITY_RANK[v], "label": str(label)}
            for v, label in Batch.Priority.choices
        ],
        "voice": voice_options(),
        "recurring": {
            "frequencies": list(FREQUENCIES),
            "max_interval": MAX_INTERVAL,
            "max_runs": MAX_RUNS,
        },
    }
