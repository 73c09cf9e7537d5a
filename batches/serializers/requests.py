"""Request bodies (the JSON form, the Excel upload and preview, edits) and query strings."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.permissions import SET_AGENT, operator_field
from batches.models import Batch, Job
from batches.serializers.contacts import ContactsField
from batches.serializers.fields import (
    AccountIdField,
    JSONTextField,
    OptionJSONField,
    check_option_json,
    clean_column_mapping,
    resolve_account,
)

# What a real campaign needs, so that a client cannot store megabytes of text that the engine
# then sends to Retell on every call.
MAX_DESCRIPTION = 2_000
MAX_SCRIPT = 10_000


def days_from_today(payload_key: str) -> serializers.IntegerField:
    """N days, giving the job payload's date ``payload_key``."""
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=3650,
        help_text=f"payload.{payload_key} = today (campaign time zone) + N days.",
    )


class BatchOptionsSerializer(serializers.Serializer):
    """Options shared by the JSON form and the Excel upload."""

    account_id = AccountIdField()
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_DESCRIPTION
    )
    script_content = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False, max_length=MAX_SCRIPT,
        help_text="The call's opening (Retell's begin_message) and the prompt's {{script}}. "
        "Its {{variables}}: nombre (or name), empresa, RUT, monto_total, fecha_vencimiento, "
        "fecha_limite, fecha_maxima, cuotas_adeudadas and every custom column; any other is "
        "a 400 naming it.",
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
    dias_fecha_limite = days_from_today("fecha_limite")
    dias_fecha_maxima = days_from_today("fecha_maxima")

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
            "{voice_id (\"default\": the agent's voice), speed 0.5-2.0 (Retell's voice_speed), "
            "pitch -10-10 (accepted, NOT applied: Retell has no pitch control), volume 0-2.0, "
            "language (one Retell speaks; a regional Spanish such as es-CL is sent as es-419), "
            "agent_id (operators only; default: the account's agent)}; sent in each call's "
            "agent_override.agent"
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
    contacts = ContactsField(
        help_text="A bad contact is left out and reported in the 201's errors (row: its "
        "index); all bad, or any with strict, is a 400 naming each one and nothing is stored.",
    )
    strict = serializers.BooleanField(
        default=False, help_text="true: all or nothing (one bad contact fails the request)."
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        checked = attrs.pop("contacts")
        if checked.errors and (attrs.pop("strict") or not checked.contacts):
            raise serializers.ValidationError(checked.errors)
        attrs.pop("strict", None)
        attrs.update(contacts=checked.contacts, invalid_rows=checked.invalid,
                     import_errors=checked.error_rows(), import_warnings=checked.warnings)
        return attrs


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
    parent = serializers.CharField(
        required=False, max_length=64,
        help_text="batch_id of a recurring campaign: its later runs.")
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text="Part of the campaign's name or batch_id (case-insensitive).")


class JobListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Job.Status.choices, required=False)
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text="Part of the debtor's name, RUT (with or without dots) or phone "
        "(digits, with or without +56 and spaces).")


class LogsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)
