"""API input and output shapes for batches.

Input serializers check types and shapes; a debtor of the right shape then goes through the
debtor normaliser the Excel reader uses (``batches.debtors``). The rules of a batch (call
settings, schedule, duplicates) live in ``batches.services``. Errors are flattened to dotted
names: ``contacts[3].rut``, ``call_settings.max_attempts``, ``voice_settings.speed``.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account
from accounts.permissions import SET_AGENT, operator_field, username_shown_to
from accounts.selectors import accounts_visible_to
from batches.debtors.normalize import debtor_normalize
from batches.debtors.shape import (
    MAX_CUSTOM_FIELDS,
    MAX_CUSTOM_KEY,
    MAX_CUSTOM_VALUE,
    MSG_CUSTOM_KEY_TOO_LONG,
    MSG_TOO_MANY_CUSTOM,
)
from batches.debtors.text import sanitize_text
from batches.excel_headers import FIELDS as MAPPABLE_FIELDS
from batches.excel_headers import MULTI_COLUMN_FIELDS
from batches.models import Batch, BatchEvent, Job
from calls.models import CallAttempt

MAX_CONTACT_ERRORS = 500
# What a real campaign needs, so that a client cannot store megabytes of text that the engine
# then sends to Retell on every call.
MAX_DESCRIPTION = 2_000
MAX_SCRIPT = 10_000
MAX_OPTION_JSON = 10_000  # characters of a settings object (call, voice, recurring, mapping)
MAX_OPTION_DEPTH = 10
# A debtor's texts, by field (name and company_name: 200, checked with their own message).
CONTACT_TEXT_LIMITS = {
    "rut": 20,
    "dni": 20,
    "email": 254,
    "debt_amount": 30,
    "due_date": 30,
    "installments": 12,
    "timezone": 64,
}
MAX_PHONES = 10
MAX_PHONE_TEXT = 100


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"contacts[3].rut": [...], "call_settings.max_attempts": [...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            key = str(key)
            if not key:
                name = prefix or "non_field_errors"
            elif key.isdigit():
                name = f"{prefix}[{key}]"
            elif key.startswith("["):
                name = f"{prefix}{key}"
            elif prefix and key != "non_field_errors":
                name = f"{prefix}.{key}"
            else:
                name = prefix or key
            flat.update(flatten_errors(value, name))
    elif (
        isinstance(errors, list) and errors and all(not isinstance(e, dict | list) for e in errors)
    ):
        flat.setdefault(prefix or "non_field_errors", []).extend(str(e) for e in errors)
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            if value:
                flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(errors))
    return flat


# --- shared input pieces -------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.STR)
class AccountIdField(serializers.Field):
    """An account's public id (``account_id``), limited to the accounts the user may use.

    Another tenant's account and an unknown one get the same answer, so nothing leaks. A
    client user may leave it out (their own account); operators must name one.
    """

    default_error_messages = {"unknown": gettext_lazy("Unknown account.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            "Public id of the account (operators: required; client users: their own "
            "account, may be left out).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Account:
        if not isinstance(data, str) or not data.strip() or len(data) > 64:
            self.fail("unknown")
        user = self.context["request"].user
        # An operator may name any account (the view checked its batch permission); a client
        # only its own.
        accounts = Account.objects.all() if user.is_staff else accounts_visible_to(user)
        account = accounts.filter(account_id=data.strip()).first()
        if account is None:
            self.fail("unknown")
        return account

    def to_representation(self, value):
        return value.account_id


def resolve_account(attrs: dict, user, *, require_active: bool = True) -> Account:
    """The validated account, or the client user's own when none was given."""
    account = attrs.get("account_id")
    if account is None:
        if user.is_staff or user.account_id is None:
            raise serializers.ValidationError({"account_id": [_("This field is required.")]})
        account = user.account
    if require_active and account.status != Account.Status.ACTIVE:
        raise serializers.ValidationError({"account_id": [_("The account is suspended.")]})
    return account


def check_option_json(value) -> None:
    """A settings object stays small and shallow: at most MAX_OPTION_DEPTH levels (walked
    without recursion, before anything recursive such as json.dumps sees it) and
    MAX_OPTION_JSON characters as JSON."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_OPTION_DEPTH:
                raise serializers.ValidationError(
                    _("Nested too deeply: at most %(max)s levels.") % {"max": MAX_OPTION_DEPTH}
                )
            stack.extend(
                (v, depth + 1) for v in (item.values() if isinstance(item, dict) else item)
            )
    if len(json.dumps(value, ensure_ascii=False, default=str)) > MAX_OPTION_JSON:
        raise serializers.ValidationError(
            _("At most %(max)s characters as JSON.") % {"max": MAX_OPTION_JSON}
        )


class OptionJSONField(serializers.JSONField):
    """A settings object of the JSON form (see ``check_option_json``)."""

    def to_internal_value(self, data):
        check_option_json(data)
        return super().to_internal_value(data)


class JSONTextField(serializers.CharField):
    """A JSON document sent as text (multipart forms): parsed, must hold ``kind``."""

    def __init__(self, *, kind: type = dict, **kwargs):
        self.kind = kind
        kwargs.setdefault("default", None)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", True)
        kwargs.setdefault("max_length", MAX_OPTION_JSON)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return None
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise serializers.ValidationError(_("Invalid JSON: %(error)s") % {"error": exc})
        except RecursionError:
            raise serializers.ValidationError(
                _("Nested too deeply: at most %(max)s levels.") % {"max": MAX_OPTION_DEPTH}
            ) from None
        if value is not None and not isinstance(value, self.kind):
            raise serializers.ValidationError(_("Must be a JSON object."))
        check_option_json(value)
        return value


def clean_column_mapping(value):
    """{field: header text | [texts] for phones | null}; fields from the Excel reader."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise serializers.ValidationError(_("Must be a JSON object."))
    errors = {}
    for key, header in value.items():
        if key not in MAPPABLE_FIELDS:
            errors[key] = [
                _("Unknown field. Known fields: %(known)s.") % {"known": ", ".join(MAPPABLE_FIELDS)}
            ]
        elif header is None or isinstance(header, str):
            continue
        elif (
            key in MULTI_COLUMN_FIELDS
            and isinstance(header, list)
            and all(isinstance(h, str) for h in header)
        ):
            continue
        else:
            errors[key] = [_("Must be a column header text (a list of texts for phone).")]
    if errors:
        raise serializers.ValidationError(errors)
    return value


# --- debtors (JSON form) -------------------------------------------------------------------


class ContactInputSerializer(serializers.Serializer):
    """One debtor of the JSON form (documentation; ``ContactsField`` does the work)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    rut = serializers.CharField(
        required=False,
        max_length=20,
        help_text="12.345.678-5, 12345678-5, 123456785; rut or dni required.",
    )
    dni = serializers.CharField(required=False, max_length=20, help_text="Alias of rut.")
    phones = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PHONE_TEXT),
        min_length=1,
        max_length=MAX_PHONES,
        help_text="Chilean numbers in any usual format; stored as E.164.",
    )
    email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, max_length=254
    )
    debt_amount = serializers.CharField(
        required=False, allow_null=True, help_text='150000, "$150.000" or a number.'
    )
    due_date = serializers.CharField(
        required=False, allow_null=True, help_text="ISO date or dd/mm/yyyy."
    )
    installments = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    company_name = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=200
    )
    timezone = serializers.CharField(
        required=False, allow_null=True, help_text="IANA zone of the debtor, if not the batch's."
    )
    custom_fields = serializers.DictField(
        required=False,
        help_text=f"Extra columns passed to the agent: at most {MAX_CUSTOM_FIELDS}, names of at "
        f"most {MAX_CUSTOM_KEY} characters, values of at most {MAX_CUSTOM_VALUE}.",
    )


CONTACT_KEYS = frozenset({*ContactInputSerializer().fields, "row"})
# What the normaliser reads as given (rut/dni, phones, texts and custom fields are shaped first).
_NORMALISED_KEYS = (
    "name", "company_name", "email", "debt_amount", "due_date", "installments", "timezone"
)


def _contact_clean(item, index: int, errors: dict) -> dict | None:
    """Check one JSON debtor's shape, then normalise it as a spreadsheet row is; record
    every problem as ``contacts[i].field``."""
    where = f"contacts[{index}]"
    if not isinstance(item, dict):
        errors[where] = [_("Must be an object.")]
        return None
    problems: dict[str, list] = {}
    for key in item:
        if key not in CONTACT_KEYS:
            problems[f"{where}.{key}"] = [_("Unknown field.")]
    if _too_long(item, where, problems):
        errors.update(problems)
        return None  # the normalisers (memoised) never see an over-long text
    rut_key = "rut" if item.get("rut") not in (None, "") else "dni"
    raw = _shape_clean(item, rut_key, where, problems)
    row = item.get("row")
    debtor, found = debtor_normalize(raw, row=row if isinstance(row, int) else index)
    phone_parts: dict[str, list[str]] = {}
    for problem in found:
        if problem.field == "phones" and problem.item is not None:
            phone_parts.setdefault(f"{where}.phones[{problem.item}]", []).append(problem.value)
            continue
        field = rut_key if problem.field == "rut" else problem.field
        name = f"{where}.{field}" if problem.item is None else f"{where}.{field}.{problem.item}"
        problems.setdefault(name, [str(problem.message)])
    for name, parts in phone_parts.items():
        message = _("Invalid phone number: %(value)s") % {"value": ", ".join(parts)}
        problems.setdefault(name, [message])
    if problems:
        errors.update(problems)
        return None
    return debtor


def _shape_clean(item: dict, rut_key: str, where: str, problems: dict) -> dict:
    """The debtor's fields for the normaliser (the RUT from ``rut_key``, "dni" being its
    alias); those of a wrong shape are recorded and left out."""
    raw = {key: item.get(key) for key in _NORMALISED_KEYS}
    raw["rut"] = item.get(rut_key)
    phones = item.get("phones")
    if isinstance(phones, str | int):
        phones = [phones]
    if not isinstance(phones, list) or not phones:
        problems[f"{where}.phones"] = [_("At least one phone number is required.")]
        phones = []
    for j, value in enumerate(phones):
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems[f"{where}.phones[{j}]"] = [_("Must be a text.")]
    raw["phones"] = [v if isinstance(v, str | int) and not isinstance(v, bool) else None
                     for v in phones]
    for key in ("name", "company_name"):
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            problems[f"{where}.{key}"] = [_("Must be a text.")]
            raw[key] = None
        elif len(sanitize_text(value)) > 200:
            problems[f"{where}.{key}"] = [_("At most 200 characters.")]
            raw[key] = None
    custom = item.get("custom_fields")
    if custom is not None:
        raw["custom_fields"] = _custom_clean(custom, f"{where}.custom_fields", problems)
    return raw


def _too_long(item: dict, where: str, problems: dict) -> bool:
    """Record the debtor's texts over their limits (CONTACT_TEXT_LIMITS, phones)."""
    found = False
    for key, limit in CONTACT_TEXT_LIMITS.items():
        value = item.get(key)
        if isinstance(value, str) and len(value) > limit:
            problems[f"{where}.{key}"] = [_("At most %(max)s characters.") % {"max": limit}]
            found = True
    phones = item.get("phones")
    if isinstance(phones, list) and len(phones) > MAX_PHONES:
        problems[f"{where}.phones"] = [_("At most %(max)s phone numbers.") % {"max": MAX_PHONES}]
        return True
    for j, raw in enumerate(phones if isinstance(phones, list) else [phones]):
        if isinstance(raw, str) and len(raw) > MAX_PHONE_TEXT:
            name = f"{where}.phones[{j}]" if isinstance(phones, list) else f"{where}.phones"
            problems[name] = [_("At most %(max)s characters.") % {"max": MAX_PHONE_TEXT}]
            found = True
    return found


def _custom_clean(custom, where: str, problems: dict) -> dict | None:
    """Custom fields {name: text}: at most MAX_CUSTOM_FIELDS, names of at most
    MAX_CUSTOM_KEY characters, values texts, numbers or booleans (Retell variables); those
    of the right shape, by their cleaned names, for the normaliser (which checks the values'
    length)."""
    if not isinstance(custom, dict):
        problems[where] = [_("Must be an object.")]
        return None
    if len(custom) > MAX_CUSTOM_FIELDS:
        problems[where] = [str(MSG_TOO_MANY_CUSTOM)]
        return None
    kept = {}
    for key, value in custom.items():
        name = sanitize_text(key)
        if len(name) > MAX_CUSTOM_KEY:
            problems[f"{where}.{name[:MAX_CUSTOM_KEY]}…"] = [str(MSG_CUSTOM_KEY_TOO_LONG)]
        elif isinstance(value, dict | list):
            problems[f"{where}.{key}"] = [_("Must be a text, a number or a boolean.")]
        else:
            kept[name] = value
    return kept


@extend_schema_field(ContactInputSerializer(many=True))
class ContactsField(serializers.Field):
    """The debtors of the JSON form, normalised in one pass (no serializer per item)."""

    def to_internal_value(self, data) -> list[dict]:
        if not isinstance(data, list):
            raise serializers.ValidationError(_("Must be a list of contacts."))
        if not data:
            raise serializers.ValidationError(_("At least one contact is required."))
        if len(data) > settings.EXCEL_MAX_ROWS:
            raise serializers.ValidationError(
                _("At most %(max)s contacts per campaign.") % {"max": settings.EXCEL_MAX_ROWS}
            )
        errors: dict[str, list] = {}
        contacts = []
        for index, item in enumerate(data):
            contact = _contact_clean(item, index, errors)
            if contact is not None:
                contacts.append(contact)
            if len(errors) >= MAX_CONTACT_ERRORS:
                errors["contacts"] = [
                    _("Too many errors; only the first %(count)s are shown.")
                    % {"count": MAX_CONTACT_ERRORS}
                ]
                break
        if errors:
            # Keys are already "contacts[i].field"; strip the prefix the parent adds back.
            raise serializers.ValidationError(
                {key.removeprefix("contacts"): value for key, value in errors.items()}
            )
        return contacts

    def to_representation(self, value):
        return value


# --- requests ------------------------------------------------------------------------------


class BatchOptionsSerializer(serializers.Serializer):
    """Options shared by the JSON form and the Excel upload."""

    account_id = AccountIdField()
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_DESCRIPTION
    )
    script_content = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, max_length=MAX_SCRIPT
    )
    schedule_type = serializers.ChoiceField(
        choices=Batch.ScheduleType.choices, default=Batch.ScheduleType.IMMEDIATE
    )
    scheduled_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Start time (scheduled/recurring)."
    )
    priority = serializers.ChoiceField(
        choices=Batch.Priority.choices, required=False, allow_null=True, default=None
    )
    allow_duplicates = serializers.BooleanField(
        default=False,
        help_text="false: debtors with an open job in another active campaign "
        "of the account are skipped and reported.",
    )
    dias_fecha_limite = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=3650,
        help_text="payload.fecha_limite = today (campaign time zone) + N days.",
    )
    dias_fecha_maxima = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=3650,
        help_text="payload.fecha_maxima = today (campaign time zone) + N days.",
    )

    def validate(self, attrs):
        user = self.context["request"].user
        voice = attrs.get("voice_settings")
        if isinstance(voice, dict) and voice.get("agent_id") not in (None, ""):
            # The agent is the account's, chosen by operators: a client naming one could call
            # through another tenant's agent.
            operator_field(user, SET_AGENT, field="voice_settings.agent_id")
        attrs["account"] = resolve_account(attrs, user)
        attrs.pop("account_id", None)
        return attrs


class BatchCreateSerializer(BatchOptionsSerializer):
    """POST /batches (JSON)."""

    name = serializers.CharField(max_length=200)
    voice_settings = OptionJSONField(
        required=False,
        default=None,
        help_text=(
            "{voice_id, speed 0.5-2.0, pitch -10-10, volume 0.5-2.0, language (es-CL), "
            "agent_id (operators only; default: the account's agent)}"
        ),
    )
    call_settings = OptionJSONField(
        required=False,
        default=None,
        help_text=(
            "{max_call_duration, ring_timeout, max_attempts, retry_delay_hours, allowed_hours "
            "{start, end}, days_of_week, timezone, priority}; defaults filled in."
        ),
    )
    recurring_config = OptionJSONField(required=False, default=None)
    contacts = ContactsField()


class ExcelPreviewSerializer(serializers.Serializer):
    """POST /batches/excel/preview (multipart)."""

    file = serializers.FileField(help_text="The spreadsheet (.xlsx, .xls or .ods).")
    account_id = AccountIdField()
    column_mapping = JSONTextField(
        help_text=(
            'JSON {field: "header text"}, phone may list several; null switches a field off.'
        )
    )

    def validate_column_mapping(self, value):
        return clean_column_mapping(value)

    def validate(self, attrs):
        attrs["account"] = resolve_account(
            attrs, self.context["request"].user, require_active=False
        )
        attrs.pop("account_id", None)
        return attrs


class ExcelCreateSerializer(BatchOptionsSerializer):
    """POST /batches/excel/create (multipart)."""

    file = serializers.FileField(help_text="The spreadsheet (.xlsx, .xls or .ods).")
    batch_name = serializers.CharField(max_length=200)
    processing_type = serializers.ChoiceField(choices=[("basic", "basic")], default="basic")
    call_settings_json = JSONTextField(help_text="Call settings as a JSON object (text).")
    voice_settings = JSONTextField(help_text="Voice settings as a JSON object (text).")
    recurring_config = JSONTextField(help_text="Recurring configuration (JSON object text).")
    column_mapping = JSONTextField(help_text="As in /batches/excel/preview.")

    def validate_column_mapping(self, value):
        return clean_column_mapping(value)


class BatchUpdateSerializer(serializers.Serializer):
    """PATCH /batches/{batch_id}: any of these; unknown fields are refused."""

    is_active = serializers.BooleanField(required=False, help_text="false pauses, true resumes.")
    call_settings = serializers.DictField(
        required=False, help_text="Partial: merged onto the current ones."
    )
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX_DESCRIPTION
    )
    priority = serializers.ChoiceField(choices=Batch.Priority.choices, required=False)

    def validate_call_settings(self, value):
        check_option_json(value)
        return value

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError(
                {
                    key: [
                        _("Unknown field; editable fields: %(fields)s.")
                        % {"fields": ", ".join(self.fields)}
                    ]
                    for key in sorted(unknown)
                }
            )
        if not attrs:
            raise serializers.ValidationError(_("Nothing to change."))
        return attrs


class BatchListQuerySerializer(serializers.Serializer):
    account_id = AccountIdField()
    status = serializers.ChoiceField(choices=Batch.Status.choices, required=False)
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)


class JobListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Job.Status.choices, required=False)


class LogsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)


# --- responses -----------------------------------------------------------------------------


class RowIssueSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="Excel row number (1-based).")
    column = serializers.CharField(help_text="Header of the column at fault.")
    value = serializers.CharField(allow_blank=True)
    message = serializers.CharField()


class ImportIssueSerializer(RowIssueSerializer):
    level = serializers.ChoiceField(choices=[("error", "error"), ("warning", "warning")])


class BatchSerializer(serializers.ModelSerializer):
    account_id = serializers.CharField(source="account.account_id")
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = (
            "batch_id",
            "account_id",
            "name",
            "description",
            "status",
            "is_active",
            "priority",
            "schedule_type",
            "scheduled_at",
            "total_jobs",
            "total_rows",
            "invalid_rows",
            "duplicates_merged",
            "skipped_existing",
            "estimated_cost",
            "created_by",
            "created_at",
            "updated_at",
            "completed_at",
        )
        read_only_fields = fields

    def get_created_by(self, batch) -> str | None:
        if not batch.created_by_id:
            return None
        return username_shown_to(self.context["request"].user, batch.created_by)


class BatchDetailSerializer(BatchSerializer):
    import_errors = ImportIssueSerializer(
        many=True, help_text="Invalid rows (level error) and warnings, first 1,000."
    )

    class Meta(BatchSerializer.Meta):
        fields = (
            *BatchSerializer.Meta.fields,
            "script_content",
            "voice_settings",
            "call_settings",
            "recurring_config",
            "import_errors",
        )
        read_only_fields = fields


class BatchCreateResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    batch_id = serializers.CharField()
    status = serializers.CharField()
    total_jobs = serializers.IntegerField()
    total_rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    duplicates_merged = serializers.IntegerField()
    skipped_existing = serializers.IntegerField()
    estimated_cost = serializers.DecimalField(max_digits=16, decimal_places=4)
    errors = RowIssueSerializer(many=True, help_text="Invalid rows, not imported.")
    warnings = RowIssueSerializer(
        many=True,
        help_text="Merged duplicates, debtors skipped "
        "because already in a campaign, "
        "ignored values.",
    )


class ContactPreviewSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    rut = serializers.CharField()
    phones = serializers.ListField(child=serializers.CharField())
    email = serializers.CharField(allow_null=True)
    debt_amount = serializers.CharField(allow_null=True)
    due_date = serializers.CharField(allow_null=True)
    installments = serializers.IntegerField(allow_null=True)
    company_name = serializers.CharField(allow_null=True)
    custom_fields = serializers.DictField(child=serializers.CharField())


class ExcelPreviewResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    total_rows = serializers.IntegerField(help_text="Non-blank data rows.")
    valid_rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    duplicates_merged = serializers.IntegerField()
    total_jobs = serializers.IntegerField(
        help_text="Debtors a campaign would get (before skipping those already in a campaign)."
    )
    contacts_preview = ContactPreviewSerializer(many=True, help_text="The first 20.")
    column_mapping = serializers.DictField(help_text="field → header text used.")
    custom_columns = serializers.ListField(child=serializers.CharField())
    errors = RowIssueSerializer(many=True)
    warnings = RowIssueSerializer(many=True)
    errors_truncated = serializers.BooleanField()


class StatusCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class BatchStatusSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    status = serializers.CharField()
    is_active = serializers.BooleanField()
    total_jobs = serializers.IntegerField()
    counts = StatusCountsSerializer()
    progress_percent = serializers.FloatField(help_text="(done + failed + cancelled) / total.")
    calls_in_flight = serializers.IntegerField()
    attempts_made = serializers.IntegerField()
    contacted = serializers.IntegerField()
    cost_so_far = serializers.DecimalField(max_digits=16, decimal_places=4)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class CallAttemptSerializer(serializers.ModelSerializer):
    duration = serializers.IntegerField(source="duration_seconds", allow_null=True)

    class Meta:
        model = CallAttempt
        fields = (
            "attempt_number",
            "phone",
            "call_id",
            "status",
            "outcome",
            "disconnection_reason",
            "duration",
            "cost",
            "started_at",
            "ended_at",
        )
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    call_attempts = CallAttemptSerializer(many=True, read_only=True)
    last_error = serializers.CharField(
        source="get_last_error_display", read_only=True,
        help_text="Why the job waits or failed, in the reader's language.",
    )
    reason = serializers.CharField(
        source="last_error", read_only=True,
        help_text="The same as a stable code (outside_window, insufficient_balance, "
        "max_attempts...); empty when none.",
    )

    class Meta:
        model = Job
        fields = (
            "id",
            "rut",
            "status",
            "attempts",
            "next_try_at",
            "last_error",
            "reason",
            "last_outcome",
            "contact",
            "payload",
            "call_attempts",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


class BatchEventSerializer(serializers.ModelSerializer):
    user = serializers.SerializerMethodField()
    message = serializers.CharField(
        read_only=True, help_text="The event in the reader's language; ``kind`` is its code."
    )

    class Meta:
        model = BatchEvent
        fields = ("id", "kind", "message", "user", "data", "created_at")
        read_only_fields = fields

    def get_user(self, event) -> str:
        if not event.user_id:
            return "system"
        return username_shown_to(self.context["request"].user, event.user)


class BatchLogsSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    logs = BatchEventSerializer(many=True)


class CancelResponseSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    status = serializers.CharField()
    jobs_cancelled = serializers.IntegerField(
        help_text="Jobs that had not started (pending, or claimed but not dialled yet).")
    jobs_in_call = serializers.IntegerField(
        help_text="Jobs whose call was live: each ends by its call's outcome; only its "
        "retries are cancelled.")
