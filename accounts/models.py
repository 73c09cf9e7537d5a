import hashlib
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.compliance import PROFILE_CHOICES, time_zones, zone_error

MONEY = {"max_digits": 16, "decimal_places": 4}
MAX_CONCURRENT_CALLS = 50
# How long call records are kept (calls.retention): two years by default, which is also the
# floor (Chilean collection rules ask for the records of every contact attempt); ten at most.
RETENTION_DEFAULT_MONTHS = 24
RETENTION_MIN_MONTHS = 24
RETENTION_MAX_MONTHS = 120


def validate_timezone(value: str) -> None:
    """An IANA time zone name such as America/Santiago (shared by the API and the admin)."""
    if value not in time_zones():
        raise ValidationError(
            _("Unknown time zone %(value)s: use an IANA name such as America/Santiago."),
            code="invalid_timezone",
            params={"value": value},
        )


not_negative = MinValueValidator(Decimal("0"))


def default_cost_per_call_setup():
    return settings.DEFAULT_COST_PER_CALL_SETUP


def default_cost_per_minute():
    return settings.DEFAULT_COST_PER_MINUTE


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class Account(TimeStamped):
    class Plan(models.TextChoices):
        CREDIT = "credit_based", _("Credit based")
        MINUTES = "minutes_based", _("Minutes based")
        UNLIMITED = "unlimited", _("Unlimited")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    account_id = models.SlugField(_("account id"), max_length=64, unique=True)
    account_name = models.CharField(_("account name"), max_length=200)
    contact_name = models.CharField(_("contact name"), max_length=200)
    contact_email = models.EmailField(_("contact email"))
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    plan_type = models.CharField(_("plan"), max_length=20, choices=Plan.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    max_concurrent_calls = models.PositiveSmallIntegerField(
        _("max concurrent calls"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CONCURRENT_CALLS)],
        help_text=_("Calls of this account that may be in progress at once (1 to 50)."),
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="America/Santiago",
        validators=[validate_timezone],
        help_text=_("IANA name, such as America/Santiago."),
    )
    compliance_profile = models.CharField(
        _("compliance profile"),
        max_length=8,
        choices=PROFILE_CHOICES,
        default="CL",
        help_text=_("The legal calling rules applied to every campaign of this account."),
    )
    cost_per_call_setup = models.DecimalField(
        _("cost per call setup"),
        **MONEY,
        default=default_cost_per_call_setup,
        validators=[not_negative],
        help_text=_("Credits charged for every dialled call, answered or not."),
    )
    cost_per_minute = models.DecimalField(
        _("cost per minute"),
        **MONEY,
        default=default_cost_per_minute,
        validators=[not_negative],
        help_text=_("Credits charged per minute talked, billed per second."),
    )
    retell_agent_id = models.CharField(_("Retell agent id"), max_length=100, blank=True)
    record_retention_months = models.PositiveSmallIntegerField(
        _("record retention (months)"),
        default=RETENTION_DEFAULT_MONTHS,
        validators=[MinValueValidator(RETENTION_MIN_MONTHS),
                    MaxValueValidator(RETENTION_MAX_MONTHS)],
        help_text=_("Call records, finished campaigns and ledger entries older than this are "
                    "removed every night; the ledger keeps one summary entry in their place "
                    "(24 to 120 months)."),
    )
    credits = models.DecimalField(_("credits"), **MONEY, default=Decimal("0"))
    minutes = models.DecimalField(_("minutes"), **MONEY, default=Decimal("0"))
    total_spent = models.DecimalField(_("total spent"), **MONEY, default=Decimal("0"))

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["account_name"]
        # Beyond add/change/view: money and legal rules are granted on their own
        # (accounts.permissions; the API and the admin check the same ones).
        permissions = [
            ("topup_account", _("Can top up an account")),
            ("change_compliance_profile", _("Can change the compliance profile of an account")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(credits__gte=0), name="account_credits_gte_0"),
            models.CheckConstraint(condition=Q(minutes__gte=0), name="account_minutes_gte_0"),
            models.CheckConstraint(
                condition=Q(max_concurrent_calls__gte=1, max_concurrent_calls__lte=50),
                name="account_max_concurrent_1_50",
            ),
            models.CheckConstraint(
                condition=Q(cost_per_call_setup__gte=0, cost_per_minute__gte=0),
                name="account_prices_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(plan_type__in=["credit_based", "minutes_based", "unlimited"]),
                name="account_plan_valid",
            ),
            models.CheckConstraint(
                condition=Q(record_retention_months__gte=RETENTION_MIN_MONTHS,
                            record_retention_months__lte=RETENTION_MAX_MONTHS),
                name="account_retention_24_120",
            ),
        ]

    def __str__(self):
        return f"{self.account_name} ({self.account_id})"

    def clean(self):
        # The account's zone is its campaigns' default: under CL or US it must be of that
        # country, or the profile's hours would be counted on a clock abroad.
        super().clean()
        if self.timezone in time_zones() and (
            message := zone_error(self.timezone, self.compliance_profile)
        ) is not None:
            raise ValidationError({"timezone": [message]})

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class User(AbstractUser):
    """Staff users are operators and see everything; a client user belongs to one account."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )


class LedgerEntry(models.Model):
    """One change of an account's balance. The balance always equals the sum of its entries."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        RESERVATION = "reservation", _("Reservation")
        SETTLEMENT = "settlement", _("Settlement")
        REFUND = "refund", _("Refund")
        ADJUSTMENT = "adjustment", _("Adjustment")
        # The entries removed by the retention policy, as one entry (calls.retention): their
        # sum, the balance after the last of them; its reference "retention:<count>:<first
        # day>:<last day>". The only entry whose amount may be zero.
        RETENTION_SUMMARY = "retention_summary", _("Retention summary")

    class Unit(models.TextChoices):
        CREDITS = "credits", _("Credits")
        MINUTES = "minutes", _("Minutes")

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("account")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    balance_after = models.DecimalField(_("balance after"), **MONEY)
    reason = models.CharField(_("reason"), max_length=255)
    reference = models.CharField(_("reference"), max_length=120, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "unit", "created_at"]),
            # The admin's filter by kind: every kind but settlements (one per call) is rare,
            # and a walk of created_at would read the whole ledger to find a page of them.
            # Partial: a settlement, the hot path's insert, does not touch it.
            models.Index(
                fields=["kind", "created_at"],
                condition=~Q(kind="settlement"),
                name="ledger_kind_idx",
            ),
            # An account's settlements since a date, with their unit and amount (the balance's
            # usage this month and over the last 30 days): an index-only range.
            models.Index(fields=["account", "created_at"], include=["unit", "amount"],
                         condition=Q(kind="settlement"), name="ledger_settlement_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="ledger_balance_gte_0"),
            models.CheckConstraint(condition=~Q(amount=0) | Q(kind="retention_summary"),
                                   name="ledger_amount_not_zero"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.unit}"


class UsageHour(models.Model):
    """What an account's settlements charged in one hour (UTC), per unit, on PostgreSQL:
    kept by triggers on the ledger (migration 0006), never written by the application. The
    balance's usage (this month, the last 30 days) adds up a few hundred of these instead
    of every settlement (``calls.selectors.account_balance_summary``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    unit = models.CharField(max_length=10, choices=LedgerEntry.Unit.choices)
    hour = models.DateTimeField()
    amount = models.DecimalField(max_digits=20, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "unit", "hour"],
                                    name="usagehour_account_unit_hour"),
        ]

    def __str__(self):
        return f"{self.account_id} {self.unit} {self.hour:%Y-%m-%d %H}h: {self.amount}"


class DoNotCall(TimeStamped):
    """A phone or RUT the account must never call (the debtor asked, or an operator added it)."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="do_not_call", verbose_name=_("account")
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    rut = models.CharField(_("RUT"), max_length=12, blank=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        constraints = [
            models.CheckConstraint(condition=~Q(phone="", rut=""), name="dnc_phone_or_rut"),
            models.UniqueConstraint(
                fields=["account", "phone"], condition=~Q(phone=""), name="dnc_unique_phone"
            ),
            models.UniqueConstraint(
                fields=["account", "rut"], condition=~Q(rut=""), name="dnc_unique_rut"
            ),
        ]

    def __str__(self):
        return self.phone or self.rut


class ApiToken(models.Model):
    """An API key of a user (``Authorization: Token <key>``). Only the key's SHA-256 digest is
    stored: the key is shown once, when issued (``manage.py drf_create_token``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
    )
    digest = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    # A default, not auto_now_add: tokens migrated from DRF's authtoken keep their date.
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user} ({self.digest[:8]})"

    @staticmethod
    def digest_of(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
