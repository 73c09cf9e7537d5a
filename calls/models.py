from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import MONEY, Account, TimeStamped
from batches.models import Batch, Job


class CallAttempt(TimeStamped):
    """One dialled attempt of a job. Saved before Retell is called (status dialling)."""

    class Status(models.TextChoices):
        DIALLING = "dialling", _("Dialling")
        REGISTERED = "registered", _("Registered")
        ONGOING = "ongoing", _("Ongoing")
        ENDED = "ended", _("Ended")
        FAILED = "failed", _("Failed")
        # Retell refused or could not be reached; the same attempt number is tried again.
        PROVIDER_ERROR = "provider_error", _("Provider error")

    LIVE_STATUSES = (Status.DIALLING, Status.REGISTERED, Status.ONGOING)

    class Outcome(models.TextChoices):
        CONTACT = "contact", _("Contacted")
        NO_CONTACT = "no_contact", _("No contact")
        INVALID_NUMBER = "invalid_number", _("Invalid number")
        DO_NOT_CALL = "do_not_call", _("Asked not to be called")
        PROVIDER_ERROR = "provider_error", _("Provider error")
        UNKNOWN = "unknown", _("Unknown")

    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="call_attempts")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="call_attempts")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="call_attempts")
    rut = models.CharField(_("RUT"), max_length=12)
    attempt_number = models.PositiveSmallIntegerField(_("attempt"))
    phone = models.CharField(_("phone"), max_length=20)
    idempotency_key = models.CharField(max_length=80, unique=True)
    call_id = models.CharField(_("call id"), max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DIALLING
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    disconnection_reason = models.CharField(_("disconnection reason"), max_length=64, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    provider_failures = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True, db_index=True)
    duration_seconds = models.PositiveIntegerField(_("duration (s)"), null=True, blank=True)
    # What the call cost, in credits at the account's prices (charged in the plan's unit).
    cost = models.DecimalField(_("cost"), **MONEY, null=True, blank=True)
    hold_amount = models.DecimalField(_("hold"), **MONEY, default=0)
    hold_unit = models.CharField(max_length=10, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    max_call_duration = models.PositiveIntegerField(default=600)
    ring_timeout = models.PositiveIntegerField(default=60)
    transcript = models.TextField(_("transcript"), blank=True)
    recording_url = models.URLField(_("recording"), max_length=500, blank=True)
    analysis = models.JSONField(_("analysis"), default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["account"],
                condition=Q(status__in=["dialling", "registered", "ongoing"]),
                name="attempt_live_idx",
            ),
            models.Index(fields=["account", "rut", "ended_at"], name="attempt_rut_idx"),
            models.Index(fields=["batch", "status"], name="attempt_batch_idx"),
            # The dashboard's window (calls.dashboard): its scans end at the month's start.
            models.Index(fields=["created_at"], name="attempt_created_idx"),
            # An account's calls ended in a month, with their cost (the balance's and the
            # statistics' month cost): an index-only range, not every call of the account.
            models.Index(fields=["account", "ended_at"], include=["cost"],
                         name="attempt_account_ended_idx"),
            # The weekly limits of a debtor without RUT, known by its phones (calls.queries
            # RECENT_ENDS_BY_PHONE_WHERE), as attempt_rut_idx serves those with one.
            models.Index(fields=["account", "phone", "ended_at"], name="attempt_phone_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["job", "attempt_number"], name="attempt_job_n_unique"),
            models.CheckConstraint(condition=Q(hold_amount__gte=0), name="attempt_hold_gte_0"),
            models.CheckConstraint(
                condition=Q(attempt_number__gte=1, attempt_number__lte=100),
                name="attempt_number_1_100",
            ),
        ]

    def __str__(self):
        return f"{self.job_id}#{self.attempt_number} {self.phone} {self.status}"


class AttemptTotal(models.Model):
    """A batch's call figures on PostgreSQL, kept by triggers on the attempts table (migration
    0004), never written by the application: attempts made, calls in flight, contacts, seconds
    and cost. Striped and folded at commit like ``batches.JobCount`` (same lock order, no
    deadlock); the sum over the stripes is the figure. Read through
    ``selectors.attempt_totals``."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+", db_index=False)
    stripe = models.PositiveSmallIntegerField()
    attempts = models.BigIntegerField()
    in_flight = models.BigIntegerField()
    contacted = models.BigIntegerField()
    seconds = models.BigIntegerField()
    cost = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "stripe"], name="attempttotal_batch_stripe"),
        ]

    def __str__(self):
        return f"{self.batch_id}[{self.stripe}]: {self.attempts} attempts, {self.cost}"


class AttemptHour(models.Model):
    """The dashboard's figures per account and hour (UTC), on PostgreSQL: kept by triggers on
    the attempts table (migration 0006), never written by the application. Calls started in
    the hour, contacts and dialled calls ended in it, the cost settled in it and the cost of
    the calls ended in it (an account's month cost: ``calls.selectors``); account 0
    holds every account's. Striped and folded at commit like ``AttemptTotal``; the sum over
    the stripes is the figure. Read by ``calls.dashboard.dashboard_data``."""

    account_id = models.BigIntegerField()  # 0: every account (no foreign key)
    hour = models.DateTimeField()
    stripe = models.PositiveSmallIntegerField()
    started = models.BigIntegerField()
    contacted = models.BigIntegerField()
    dialled = models.BigIntegerField()
    spend = models.DecimalField(max_digits=20, decimal_places=4)  # by settled_at
    ended_cost = models.DecimalField(max_digits=20, decimal_places=4)  # by ended_at

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_id", "hour", "stripe"],
                                    name="attempthour_account_hour_stripe"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.hour:%Y-%m-%d %H}h[{self.stripe}]: {self.started}"
