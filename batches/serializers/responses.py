"""Response bodies of the batches API (campaigns, imports, status, jobs, logs)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.permissions import username_shown_to
from batches.call_settings import PRIORITIES
from batches.models import Batch, BatchEvent, Job
from batches.selectors import job_counts
from batches.voice import voice_applied
from callcenter.api import MoneyField
from calls import selectors as call_selectors
from calls.models import CallAttempt


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
    parent_batch_id = serializers.CharField(
        source="parent.batch_id", allow_null=True, default=None,
        help_text="The recurring campaign this batch is a run of (null: not a later run).")
    run_number = serializers.IntegerField(
        help_text="1 for a campaign; 2, 3... for the later runs of a recurring one.")
    next_run_at = serializers.DateTimeField(
        allow_null=True, help_text="When a recurring campaign runs next (null: not recurring, "
        "or its recurrence ended). Its runs: GET /batches?parent=<batch_id>.")
    runs_count = serializers.IntegerField(help_text="Runs so far, the first included.")
    pending_jobs = serializers.SerializerMethodField(help_text="Jobs pending or in progress.")
    completed_jobs = serializers.SerializerMethodField(help_text="Jobs done.")
    failed_jobs = serializers.SerializerMethodField(help_text="Jobs failed or cancelled.")
    total_cost = serializers.SerializerMethodField(
        help_text="What the calls made so far cost, in credits.")
    total_minutes = serializers.SerializerMethodField(
        help_text="Talk time of the calls made so far, in minutes (two decimals).")

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
            "pending_jobs",
            "completed_jobs",
            "failed_jobs",
            "total_cost",
            "total_minutes",
            "total_rows",
            "invalid_rows",
            "duplicates_merged",
            "skipped_existing",
            "estimated_cost",
            "created_by",
            "created_at",
            "updated_at",
            "completed_at",
            "parent_batch_id",
            "run_number",
            "next_run_at",
            "runs_count",
        )
        read_only_fields = fields

    def _counts(self, batch) -> dict[str, int]:
        """Live per-status figures from the counters the database keeps (batches_jobcount):
        a list view passes them for its whole page in ``context["job_counts"]``."""
        counts = self.context.setdefault("job_counts", {})
        if batch.pk not in counts:
            counts.update(job_counts(batch_ids=[batch.pk]))
        return counts[batch.pk]

    def _totals(self, batch) -> dict:
        """Call figures from the counters the database keeps (calls_attempttotal): a list
        view passes them for its whole page in ``context["attempt_totals"]``."""
        totals = self.context.setdefault("attempt_totals", {})
        if batch.pk not in totals:
            totals.update(call_selectors.attempt_totals(batch_ids=[batch.pk]))
        return totals[batch.pk]

    @extend_schema_field(MoneyField())
    def get_total_cost(self, batch):
        return MoneyField().to_representation(self._totals(batch)["cost"])

    @extend_schema_field(MoneyField())
    def get_total_minutes(self, batch):
        return MoneyField().to_representation(self._totals(batch)["minutes"])

    def get_pending_jobs(self, batch) -> int:
        counts = self._counts(batch)
        return counts[Job.Status.PENDING] + counts[Job.Status.IN_PROGRESS]

    def get_completed_jobs(self, batch) -> int:
        return self._counts(batch)[Job.Status.DONE]

    def get_failed_jobs(self, batch) -> int:
        counts = self._counts(batch)
        return counts[Job.Status.FAILED] + counts[Job.Status.CANCELLED]

    def get_created_by(self, batch) -> str | None:
        if not batch.created_by_id:
            return None
        return username_shown_to(self.context["request"].user, batch.created_by)


class BatchDetailSerializer(BatchSerializer):
    import_errors = ImportIssueSerializer(
        many=True, help_text="Invalid rows (level error) and warnings, first 1,000."
    )
    voice_settings_applied = serializers.SerializerMethodField(
        help_text="For each voice setting, whether it reaches the call: voice_id (\"default\": "
        "the agent's voice), speed (as voice_speed), volume and language (a regional Spanish "
        "such as es-CL as es-419) go to Retell's agent override; pitch is kept for the form "
        "but Retell has no pitch control, so it is always false."
    )

    class Meta(BatchSerializer.Meta):
        fields = (
            *BatchSerializer.Meta.fields,
            "script_content",
            "voice_settings",
            "voice_settings_applied",
            "call_settings",
            "recurring_config",
            "import_errors",
        )
        read_only_fields = fields
        extra_kwargs = {"call_settings": {"help_text": (
            "The settings as validated, defaults filled in; priority as its number "
            "(0 low, 1 normal, 2 high; the top-level priority gives its name)."
        )}}

    @extend_schema_field(serializers.DictField(child=serializers.BooleanField()))
    def get_voice_settings_applied(self, batch) -> dict[str, bool]:
        return voice_applied(batch.voice_settings or {})

    def to_representation(self, batch):
        data = super().to_representation(batch)
        settings = data.get("call_settings")
        # Stored as an exact decimal string; the contract answers a number (24, 0.25).
        if settings and isinstance(settings.get("retry_delay_hours"), str):
            settings = {**settings, "retry_delay_hours": Decimal(settings["retry_delay_hours"])}
        # Stored by name like the top-level priority; seed 000 answers its number (0, 1, 2).
        if settings and settings.get("priority") in PRIORITIES:
            settings = {**settings, "priority": PRIORITIES.index(settings["priority"])}
        if settings:
            data["call_settings"] = settings
        return data


class BatchCreateResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    batch_id = serializers.CharField()
    status = serializers.CharField()
    total_jobs = serializers.IntegerField()
    total_rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    duplicates_merged = serializers.IntegerField()
    skipped_existing = serializers.IntegerField()
    estimated_cost = MoneyField()
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


@extend_schema_field({"type": "object", "additionalProperties": {"oneOf": [
    {"type": "string"}, {"type": "array", "items": {"type": "string"}}]}})
class FieldMappingField(serializers.DictField):
    """field → header text, or the list of header texts for the phone columns."""


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
    column_mapping = serializers.DictField(
        child=serializers.CharField(),
        help_text="Header text → what the column feeds: a field (name, rut, email...), "
        "phone_1, phone_2... for the phone columns in order, custom for a custom column.")
    field_mapping = FieldMappingField(
        help_text="The same the other way round, field → header text (a list for phones): the "
        "form column_mapping takes in excel/preview and excel/create.")
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
    cost_so_far = MoneyField()
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


# BatchEvent.Kind → the frontend's event names (batch_created, batch_started...).
LOG_EVENTS = {
    BatchEvent.Kind.CREATED: "batch_created",
    BatchEvent.Kind.STARTED: "batch_started",
    BatchEvent.Kind.PAUSED: "batch_paused",
    BatchEvent.Kind.RESUMED: "batch_resumed",
    BatchEvent.Kind.SETTINGS_CHANGED: "batch_settings_changed",
    BatchEvent.Kind.CANCELLED: "batch_cancelled",
    BatchEvent.Kind.COMPLETED: "batch_completed",
    BatchEvent.Kind.RETRIED: "jobs_retried",
    BatchEvent.Kind.PROVIDER_ERROR: "provider_error",
    BatchEvent.Kind.WAITING_BALANCE: "waiting_balance",
    BatchEvent.Kind.RUN_CREATED: "run_created",
    BatchEvent.Kind.RUN_SKIPPED: "run_skipped",
    BatchEvent.Kind.RECURRENCE_ENDED: "recurrence_ended",
}


class BatchEventSerializer(serializers.ModelSerializer):
    timestamp = serializers.DateTimeField(source="created_at", read_only=True)
    event = serializers.SerializerMethodField(
        help_text="The event's name for the frontend: " + ", ".join(LOG_EVENTS.values()) + "."
    )
    user = serializers.SerializerMethodField()
    message = serializers.CharField(
        read_only=True, help_text="The event in the reader's language; ``kind`` is its code."
    )

    class Meta:
        model = BatchEvent
        fields = ("timestamp", "event", "message", "user", "id", "kind", "data", "created_at")
        read_only_fields = fields

    def get_event(self, event) -> str:
        return LOG_EVENTS.get(event.kind, event.kind)

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
