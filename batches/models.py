from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTransform
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from accounts.models import MONEY, Account, TimeStamped
from batches.reasons import JobReason, reason_label


class Batch(TimeStamped):
    """A campaign of one account. Each debtor in it is one Job."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    class ScheduleType(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediate")
        SCHEDULED = "scheduled", _("Scheduled")
        RECURRING = "recurring", _("Recurring")

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        NORMAL = "normal", _("Normal")
        HIGH = "high", _("High")

    PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2}

    batch_id = models.CharField(_("batch id"), max_length=64, unique=True)
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="batches", verbose_name=_("account")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    script_content = models.TextField(_("script"), blank=True)
    voice_settings = models.JSONField(_("voice settings"), default=dict, blank=True)
    call_settings = models.JSONField(_("call settings"), default=dict)
    schedule_type = models.CharField(
        _("schedule type"), max_length=20, choices=ScheduleType.choices,
        default=ScheduleType.IMMEDIATE,
    )
    scheduled_at = models.DateTimeField(_("scheduled at"), null=True, blank=True)
    recurring_config = models.JSONField(_("recurring config"), null=True, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    # Denormalised from priority for ordering the dispatcher's queries by an integer.
    priority_rank = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    is_active = models.BooleanField(_("active"), default=True)
    estimated_cost = models.DecimalField(_("estimated cost"), **MONEY, default=0)
    total_rows = models.PositiveIntegerField(_("rows in file"), default=0)
    invalid_rows = models.PositiveIntegerField(_("invalid rows"), default=0)
    duplicates_merged = models.PositiveIntegerField(_("duplicates merged"), default=0)
    skipped_existing = models.PositiveIntegerField(_("skipped (already in a campaign)"), default=0)
    # Jobs created with the batch (they are never added later): lists show it without a count.
    total_jobs = models.PositiveIntegerField(_("jobs"), default=0)
    import_errors = models.JSONField(_("import errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        verbose_name=_("created by"),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # A recurring campaign is its own run 1; each later occurrence is a Batch with parent set.
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="runs",
        verbose_name=_("recurring campaign"),
    )
    run_number = models.PositiveIntegerField(_("run"), default=1)
    # The parent's next occurrence (UTC); null: not recurring, or its recurrence has ended.
    next_run_at = models.DateTimeField(_("next run at"), null=True, blank=True)
    runs_count = models.PositiveIntegerField(_("runs"), default=1)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "status"]),
            # Every campaign newest first (the operators' list, 50 a page): no sort of them
            # all at each page.
            models.Index(fields=["created_at", "id"], name="batch_created_idx"),
            models.Index(fields=["next_run_at"], condition=Q(next_run_at__isnull=False),
                         name="batch_next_run_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(schedule_type="scheduled") | Q(scheduled_at__isnull=False),
                name="batch_scheduled_has_time",
            ),
            models.UniqueConstraint(fields=["parent", "run_number"], name="batch_run_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.batch_id})"

    @property
    def is_dialable(self):
        return self.is_active and self.status == self.Status.RUNNING


class Job(TimeStamped):
    """One debtor of a batch, with several phones. Its status is the source of truth."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.PENDING, Status.IN_PROGRESS)

    # Indexes are few on purpose: each one costs on every 100,000-row COPY. The batch is
    # covered by job_batch_status_idx; the deduplication key by a plain unique constraint.
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("campaign"),
        db_index=False,
    )
    # A copy of batch.account (jobs are only ever created for their batch's account, and a
    # batch never changes account) for the per-account indexes. Its integrity follows from
    # the batch foreign key and the batch's own account foreign key, so no database
    # constraint: that would be a second foreign-key check per job on every 100,000-row
    # import. PROTECT still stops the ORM from deleting an account that has jobs.
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="jobs",
        verbose_name=_("account"),
        db_constraint=False,
    )
    deduplication_key = models.CharField(_("deduplication key"), max_length=200)
    # Indexed in Meta: a plain btree only (RUTs are looked up by equality; db_index on a
    # CharField would add a second, LIKE-pattern index that every COPY pays for).
    rut = models.CharField(_("RUT"), max_length=12)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_try_at = models.DateTimeField(_("next try at"), null=True, blank=True)
    # Lease of the worker that holds the job (status in_progress); expired leases are recovered.
    reserved_until = models.DateTimeField(_("reserved until"), null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    # Until when a published process_job message is considered in flight (dispatcher de-dup).
    enqueued_until = models.DateTimeField(null=True, blank=True, editable=False)
    # A JobReason code (text stored before codes, or a reason no code names, is kept as it is).
    last_error = models.CharField(_("last error"), max_length=255, blank=True,
                                  choices=JobReason.choices)
    last_outcome = models.CharField(_("last outcome"), max_length=64, blank=True)
    contact = models.JSONField(_("contact"), default=dict)
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["rut"], name="job_rut_idx"),
            models.Index(fields=["batch", "status"], name="job_batch_status_idx"),
            # A campaign's jobs in id order (the API's list): a page at any depth is an
            # index-only range of ids (callcenter.api.CountedPaginator).
            models.Index(fields=["batch", "id"], name="job_batch_id_idx"),
            # The dispatcher walks each running batch's due jobs in next_try_at order.
            models.Index(
                fields=["batch", "next_try_at", "id"],
                condition=Q(status="pending"),
                name="job_due_idx",
            ),
            # Jobs with a process_job message in flight, per account (dispatch budget).
            models.Index(
                fields=["account", "enqueued_until"],
                condition=Q(status="pending", enqueued_until__isnull=False),
                name="job_enqueued_idx",
            ),
            models.Index(
                fields=["account"], condition=Q(status="in_progress"), name="job_busy_idx"
            ),
            models.Index(
                fields=["reserved_until"],
                condition=Q(status="in_progress"),
                name="job_lease_idx",
            ),
            # The admin's search by phone (contact->'phones' @> '["+569..."]'): one small
            # jsonb_path_ops entry per phone.
            GinIndex(
                OpClass(KeyTransform("phones", "contact"), name="jsonb_path_ops"),
                name="job_phones_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["deduplication_key"], name="job_dedup_key_unique"),
            models.CheckConstraint(
                condition=Q(attempts__gte=0, attempts__lte=20), name="job_attempts_0_20"
            ),
            models.CheckConstraint(
                condition=~Q(status="in_progress") | Q(reserved_until__isnull=False),
                name="job_in_progress_has_lease",
            ),
        ]

    def __str__(self):
        return f"{self.contact.get('name', '')} ({self.rut})"


class JobCount(models.Model):
    """How many jobs of a batch are in one status, on PostgreSQL: kept by triggers on the
    jobs table (migration 0007), never written by the application.

    A statement-level trigger stages each statement's change per (batch, status); at commit a
    deferred trigger adds the transaction's staged changes to the row of its stripe (the
    connection's backend pid modulo 16), so concurrent transitions of one
    campaign rarely wait for each other, and the counter rows are locked last, in (batch,
    status, stripe) order, once every other lock of the transaction is held: no deadlock.
    A stripe alone may be negative (a job inserted by one connection, claimed by another);
    the sum over the stripes is the count. Read through ``selectors.job_counts``.
    """

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=20, choices=Job.Status.choices)
    stripe = models.PositiveSmallIntegerField()
    jobs = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "status", "stripe"], name="jobcount_batch_status_stripe"
            ),
        ]

    def __str__(self):
        return f"{self.batch_id} {self.status}[{self.stripe}]: {self.jobs}"


class JobEvent(models.Model):
    """The history of one job: deferrals, claims, calls, outcomes.

    ``reason`` is a JobReason code and ``detail`` the facts no code says (the call, a phone, a
    provider's status), never translated; ``message`` reads both in the reader's language.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=40)
    reason = models.CharField(_("reason"), max_length=255, blank=True, choices=JobReason.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True, db_column="message")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("job event")
        verbose_name_plural = _("job events")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["job", "created_at"])]

    def __str__(self):
        return f"{self.kind}: {self.message}"

    @property
    def message(self) -> str:
        return job_event_message(reason=self.reason, detail=self.detail)

    @message.setter
    def message(self, text: str) -> None:
        """An event written as plain text (no reason)."""
        self.reason, self.detail = "", text


def job_event_message(*, reason: str, detail: str) -> str:
    """A job event in the active language: "#2 +56912345678: dial_no_answer — maximum
    attempts reached"."""
    return " — ".join(part for part in (detail, reason_label(reason) if reason else "") if part)


class BatchEvent(models.Model):
    """The audit log of a batch: created, paused, resumed, settings changed, cancelled...

    Stored as its ``kind`` and the facts in ``data`` (counts, changes, an error); ``message``
    says it in the reader's language. ``detail``: the text of an event stored before that, shown
    as it is.
    """

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        STARTED = "started", _("Started")
        PAUSED = "paused", _("Paused")
        RESUMED = "resumed", _("Resumed")
        SETTINGS_CHANGED = "settings_changed", _("Settings changed")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        RETRIED = "retried", _("Failed jobs retried")
        PROVIDER_ERROR = "provider_error", _("Provider error")
        WAITING_BALANCE = "waiting_balance", _("Waiting for balance")
        RUN_CREATED = "run_created", _("Run created")
        RUN_SKIPPED = "run_skipped", _("Run skipped")
        RECURRENCE_ENDED = "recurrence_ended", _("Recurrence ended")

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True, db_column="message")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["batch", "created_at"])]

    def __str__(self):
        return f"{self.kind}: {self.message}"

    @property
    def message(self) -> str:
        return batch_event_message(kind=self.kind, data=self.data, detail=self.detail)

    @message.setter
    def message(self, text: str) -> None:
        """An event written as plain text."""
        self.detail = text


def _describe(value) -> str:
    return "null" if value is None else str(value)


def _changes(data: dict) -> str:
    """"max_attempts: 3 → 5, ..." (a description is only named)."""
    return ", ".join(
        key if key == "description"
        else f"{key}: {_describe(change['from'])} → {_describe(change['to'])}"
        for key, change in data.get("changes", {}).items()
    )


def batch_event_message(*, kind: str, data: dict, detail: str = "") -> str:
    """A campaign event in the active language, from its kind and its data."""
    if detail:
        return detail
    data = data or {}
    Kind = BatchEvent.Kind
    if kind == Kind.CREATED:
        return gettext(
            "Campaign created with %(jobs)s jobs from %(rows)s rows (%(invalid)s invalid, "
            "%(merged)s duplicates merged, %(skipped)s already in another campaign)."
        ) % {"jobs": data.get("total_jobs", 0), "rows": data.get("total_rows", 0),
             "invalid": data.get("invalid_rows", 0), "merged": data.get("duplicates_merged", 0),
             "skipped": data.get("skipped_existing", 0)}
    if kind == Kind.SETTINGS_CHANGED and data.get("part") == "details":
        return gettext("Campaign changed: %(changes)s") % {"changes": _changes(data)}
    if kind == Kind.SETTINGS_CHANGED:
        return gettext("Call settings changed: %(changes)s") % {"changes": _changes(data)}
    if kind == Kind.CANCELLED:
        cancelled, in_call = data.get("jobs_cancelled", 0), data.get("jobs_in_call", 0)
        message = ngettext("Campaign cancelled: %(count)s pending job cancelled.",
                           "Campaign cancelled: %(count)s pending jobs cancelled.",
                           cancelled) % {"count": cancelled}
        if in_call:
            message += " " + ngettext(
                "%(count)s call in progress finishes; its outcome decides its job's result.",
                "%(count)s calls in progress finish; their outcomes decide their jobs' results.",
                in_call) % {"count": in_call}
        return message
    if kind == Kind.RETRIED:
        moved = data.get("jobs_retried", 0)
        return ngettext("%(count)s failed job moved back to pending (attempts reset).",
                        "%(count)s failed jobs moved back to pending (attempts reset).",
                        moved) % {"count": moved}
    if kind == Kind.RUN_CREATED:
        return gettext(
            "Run %(run)s (%(batch_id)s) of campaign %(parent)s created with %(jobs)s debtors "
            "(%(excluded)s finished for good left out)."
        ) % {"run": data.get("run_number"), "batch_id": data.get("batch_id", ""),
             "parent": data.get("parent_batch_id", ""), "jobs": data.get("total_jobs", 0),
             "excluded": data.get("excluded", 0)}
    if kind == Kind.RUN_SKIPPED:
        return gettext("Run %(run)s skipped: %(error)s") % {
            "run": data.get("run_number"), "error": data.get("error", "")}
    if kind == Kind.RECURRENCE_ENDED:
        return gettext("Recurrence ended after %(runs)s runs.") % {"runs": data.get("runs", 0)}
    if kind == Kind.PROVIDER_ERROR:
        return gettext("Paused: Retell refused the account (%(error)s).") % {
            "error": data.get("error", "")}
    sentences = {
        Kind.STARTED: gettext("Campaign started as scheduled."),
        Kind.PAUSED: gettext("Campaign paused."),
        Kind.RESUMED: gettext("Campaign resumed."),
        Kind.COMPLETED: gettext("Campaign completed."),
        Kind.WAITING_BALANCE: gettext("Waiting: the balance does not cover one call. Calls "
                                      "resume by themselves after a top-up."),
    }
    return sentences.get(kind, kind)


class PendingUpload(models.Model):
    """A spreadsheet uploaded to the admin's preview, kept until its operator confirms it (or
    it expires): in the database, in chunks (``PendingUploadChunk``), so that the
    confirmation may reach any web server and no file is ever held whole in memory.
    ``token`` is what the confirmation form carries; ``claimed_at`` is set while a
    confirmation reads it, so a double submit cannot create the campaign twice."""

    token = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    suffix = models.CharField(max_length=8)
    size = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("pending upload")
        verbose_name_plural = _("pending uploads")

    def __str__(self) -> str:
        return f"{self.token}{self.suffix}"


class PendingUploadChunk(models.Model):
    """One piece (at most ``batches.uploads.CHUNK_BYTES``) of a pending upload, in order."""

    upload = models.ForeignKey(PendingUpload, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "seq"],
                                               name="pending_upload_chunk_seq")]
