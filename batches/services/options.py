"""Validation of a new batch's options (everything but its debtors): call settings (the
account's time zone and compliance profile), voice, schedule, priority and date offsets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from batches.call_settings import CallSettings, CallSettingsError, validate_call_settings
from batches.models import Batch
from batches.recurrence import recurring_config_clean
from batches.script import SCRIPT_ALIASES, SCRIPT_VARIABLES, script_unknown_variables
from batches.services.base import BatchError
from batches.voice import VOICE_LIMITS, retell_language

MAX_DAYS_OFFSET = 3650
SCHEDULE_SKEW = timedelta(minutes=5)
VOICE_DEFAULTS = {"voice_id": "", "speed": 1.0, "pitch": 0, "volume": 1.0, "language": "es-CL"}
VOICE_TEXT_FIELDS = ("voice_id", "language", "agent_id")


@dataclass
class BatchOptions:
    """Everything of a new batch except its debtors, validated."""

    name: str
    call_settings: CallSettings
    description: str = ""
    script_content: str = ""
    voice_settings: dict = field(default_factory=dict)
    schedule_type: str = Batch.ScheduleType.IMMEDIATE
    scheduled_at: datetime | None = None
    recurring_config: dict | None = None
    priority: str = Batch.Priority.NORMAL
    allow_duplicates: bool = False
    dias_fecha_limite: int | None = None
    dias_fecha_maxima: int | None = None


def call_settings_clean(
    *, account: Account, call_settings: dict | None, prefix: str = "call_settings"
) -> CallSettings:
    """Complete, validated call settings for ``account`` (its time zone and compliance
    profile); BatchError with dotted names ("call_settings.max_attempts") otherwise."""
    try:
        return validate_call_settings(
            call_settings, default_timezone=account.timezone, profile=account.compliance_profile
        )
    except CallSettingsError as exc:
        raise BatchError(
            {
                prefix if key == "non_field_errors" else f"{prefix}.{key}": messages
                for key, messages in exc.errors.items()
            }
        )


# PostgreSQL cannot store U+0000 in text or JSON: refused as bad input, never a 500.
NUL_MESSAGE = _("Null characters are not allowed.")


def _has_nul(value) -> bool:
    """Whether a JSON value holds U+0000 in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def voice_settings_clean(voice_settings: dict | None) -> dict:
    """voice_id, speed 0.5-2.0, pitch -10-10 (kept, not applied), volume 0-2.0, language
    (one Retell speaks, or a regional Spanish such as es-CL), agent_id."""
    if voice_settings is None:
        voice_settings = {}
    if not isinstance(voice_settings, dict):
        raise BatchError({"voice_settings": [_("Must be an object.")]})
    errors: dict[str, list] = {}
    cleaned = dict(VOICE_DEFAULTS)
    for key, value in voice_settings.items():
        name = f"voice_settings.{key}"
        if key in VOICE_LIMITS:
            low, high = VOICE_LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors[name] = [_("Must be a number.")]
            elif not low <= value <= high:
                errors[name] = [
                    _("Must be between %(min)s and %(max)s.") % {"min": low, "max": high}
                ]
            else:
                cleaned[key] = value
        elif key in VOICE_TEXT_FIELDS:
            if not isinstance(value, str) or len(value) > 100:
                errors[name] = [_("Must be a text of at most 100 characters.")]
            elif "\x00" in value:
                errors[name] = [NUL_MESSAGE]
            elif key == "language" and retell_language(value.strip()) is None:
                errors[name] = [_("Retell does not speak %(language)s.") % {"language": value}]
            else:
                cleaned[key] = value.strip()
        else:
            errors[name] = [_("Unknown field.")]
    if errors:
        raise BatchError(errors)
    return cleaned


def script_check(script_content: str, *, custom_columns=(), field: str = "script_content"):
    """BatchError naming the ``{{variables}}`` of the script that no call will carry."""
    unknown = script_unknown_variables(script_content, custom_columns)
    if unknown:
        available = [*SCRIPT_VARIABLES, *SCRIPT_ALIASES, *custom_columns]
        raise BatchError({field: [
            _("Unknown variables: %(unknown)s. Available: %(available)s.") % {
                "unknown": ", ".join(unknown), "available": ", ".join(available)}
        ]})


def batch_options_clean(
    *,
    account: Account,
    name: str,
    call_settings: dict | None = None,
    description: str = "",
    script_content: str = "",
    voice_settings: dict | None = None,
    schedule_type: str = Batch.ScheduleType.IMMEDIATE,
    scheduled_at: datetime | None = None,
    recurring_config: dict | None = None,
    priority: str | None = None,
    allow_duplicates: bool = False,
    dias_fecha_limite: int | None = None,
    dias_fecha_maxima: int | None = None,
    now: datetime | None = None,
) -> BatchOptions:
    """Validate a new batch's options, collecting every error before raising BatchError."""
    now = now or timezone.now()
    errors: dict[str, list] = {}
    if account.status != Account.Status.ACTIVE:
        errors["account_id"] = [_("The account is suspended.")]
    cleaned_settings, cleaned_voice = CallSettings(), {}
    try:
        cleaned_settings = call_settings_clean(account=account, call_settings=call_settings)
    except BatchError as exc:
        errors.update(exc.errors)
    try:
        cleaned_voice = voice_settings_clean(voice_settings)
    except BatchError as exc:
        errors.update(exc.errors)
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    if priority is not None and priority not in Batch.Priority.values:
        errors["priority"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(Batch.Priority.values)}
        ]
    if schedule_type not in Batch.ScheduleType.values:
        errors["schedule_type"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(Batch.ScheduleType.values)}
        ]
    elif schedule_type == Batch.ScheduleType.IMMEDIATE:
        if scheduled_at is not None:
            errors["scheduled_at"] = [
                _(
                    "Only scheduled or recurring campaigns take a start "
                    'time; use schedule_type "scheduled".'
                )
            ]
    elif scheduled_at is None:
        errors["scheduled_at"] = [
            _('Required when schedule_type is "%(type)s".') % {"type": schedule_type}
        ]
    elif scheduled_at < now - SCHEDULE_SKEW:
        errors["scheduled_at"] = [_("Must be in the future.")]
    if _has_nul(recurring_config):
        errors["recurring_config"] = [NUL_MESSAGE]
    elif schedule_type == Batch.ScheduleType.RECURRING and recurring_config is None:
        errors["recurring_config"] = [
            _('Required when schedule_type is "%(type)s".') % {"type": schedule_type}]
    elif schedule_type == Batch.ScheduleType.RECURRING:
        recurring_config, config_errors = recurring_config_clean(recurring_config)
        errors.update(config_errors)
    elif recurring_config is not None and not isinstance(recurring_config, dict):
        errors["recurring_config"] = [_("Must be an object.")]
    for key, value in (
        ("dias_fecha_limite", dias_fecha_limite),
        ("dias_fecha_maxima", dias_fecha_maxima),
    ):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 <= value <= MAX_DAYS_OFFSET
        ):
            errors[key] = [
                _("Must be a whole number of days from 0 to %(max)s.") % {"max": MAX_DAYS_OFFSET}
            ]
    if errors:
        raise BatchError(errors)
    if priority is None:
        priority = cleaned_settings.priority
    return BatchOptions(
        name=name[:200],
        call_settings=replace(cleaned_settings, priority=priority),
        description=description or "",
        script_content=script_content or "",
        voice_settings=cleaned_voice,
        schedule_type=schedule_type,
        scheduled_at=scheduled_at,
        recurring_config=recurring_config,
        priority=priority,
        allow_duplicates=bool(allow_duplicates),
        dias_fecha_limite=dias_fecha_limite,
        dias_fecha_maxima=dias_fecha_maxima,
    )
