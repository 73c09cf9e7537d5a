"""The shapes of the accounts API: validation of what comes in, the form of what goes out.

Request and response bodies nest the account the same way: ``features.max_concurrent_calls``,
``settings.timezone`` and ``settings.compliance_profile`` (``source="*"`` maps them onto the
flat model), ``balance {credits, minutes, total_spent}`` in responses. Unknown fields are
refused with 400, and validation errors name the field dotted, as everywhere in the API
(``callcenter.api.exception_handler``): ``{"features.max_concurrent_calls": ["..."]}``. The
rules themselves live on the model fields and in the services, so the admin applies the same
ones.
"""

from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from callcenter.api import MoneyField

from .models import MONEY, Account, LedgerEntry
from .services import account_topup_validate

UNKNOWN_FIELD = _("Unknown field.")
READ_ONLY_FIELD = _("This field is read-only.")


class StrictSerializerMixin:
    """Refuse keys that are not writable fields of the serializer, instead of dropping them."""

    def to_internal_value(self, data):
        unexpected = {}
        if isinstance(data, Mapping):
            for key in data:
                field = self.fields.get(key)
                if field is None:
                    unexpected[key] = [UNKNOWN_FIELD]
                elif field.read_only:
                    unexpected[key] = [READ_ONLY_FIELD]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unexpected and isinstance(exc.detail, Mapping):
                raise serializers.ValidationError({**exc.detail, **unexpected})
            raise
        if unexpected:
            raise serializers.ValidationError(unexpected)
        return value


def money_field(**kwargs) -> MoneyField:
    return MoneyField(**MONEY, **kwargs)


# --- Parts shared by requests and responses -------------------------------------------------


class AccountFeaturesSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """The account's limits."""

    class Meta:
        model = Account
        fields = ["max_concurrent_calls"]


class AccountSettingsSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """Where the account calls from and under which rules."""

    class Meta:
        model = Account
        fields = ["timezone", "compliance_profile"]


class BalanceSerializer(serializers.ModelSerializer):
    """The balance; it changes only through the ledger."""

    class Meta:
        model = Account
        fields = ["credits", "minutes", "total_spent"]
        read_only_fields = fields


# --- Responses -------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    """An account as the API shows it."""

    features = AccountFeaturesSerializer(source="*", read_only=True)
    settings = AccountSettingsSerializer(source="*", read_only=True)
    balance = BalanceSerializer(source="*", read_only=True)

    class Meta:
        model = Account
        fields = [
            "account_id",
            "account_name",
            "contact_name",
            "contact_email",
            "contact_phone",
            "plan_type",
            "status",
            "features",
            "settings",
            "cost_per_call_setup",
            "cost_per_minute",
            "balance",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One change of the balance."""

    class Meta:
        model = LedgerEntry
        fields = [
            "id",
            "kind",
            "unit",
            "amount",
            "balance_after",
            "reason",
            "reference",
            "created_at",
        ]
        read_only_fields = fields


class AccountListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100,
        help_text=_("Text the account's name or id contains (any case)."))


class TopupResultSerializer(serializers.Serializer):
    """The balance after a top-up and the ledger entries it wrote."""

    account_id = serializers.SlugField()
    balance = BalanceSerializer()
    entries = LedgerEntrySerializer(many=True, help_text=_("The ledger entries written."))


class CurrentBalanceSerializer(serializers.Serializer):
    credits = money_field()
    minutes = money_field()
    total_spent = money_field(help_text=_("Credits value of every call ever charged."))


class UsageThisMonthSerializer(serializers.Serializer):
    credits_used = money_field(help_text=_("Credits charged by calls settled this month."))
    minutes_used = money_field(help_text=_("Minutes charged by calls settled this month."))
    total_cost = money_field(help_text=_("Credits value of the calls that ended this month."))


class AccountBalanceSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    current_balance = CurrentBalanceSerializer()
    usage_this_month = UsageThisMonthSerializer()
    estimated_depletion_date = serializers.DateTimeField(
        allow_null=True,
        help_text=_(
            "When the plan's balance runs out at the average daily charge of the last 30 days: "
            "the start of that day in the account's time zone; null for unlimited plans or "
            "without charges."
        ),
    )


class AccountStatsSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    total_batches = serializers.IntegerField()
    active_batches = serializers.IntegerField(help_text=_("Pending or running campaigns."))
    total_jobs = serializers.IntegerField()
    completed_jobs = serializers.IntegerField(help_text=_("Jobs done or failed."))
    success_rate = MoneyField(
        max_digits=5,
        decimal_places=2,
        help_text=_("Percentage of completed jobs that reached the debtor (done)."),
    )
    total_cost_this_month = money_field(
        help_text=_("Credits value of the calls that ended this month.")
    )


# --- Requests --------------------------------------------------------------------------------

ACCOUNT_WRITE_FIELDS = [
    "account_name",
    "contact_name",
    "contact_email",
    "contact_phone",
    "plan_type",
    "features",
    "settings",
    "cost_per_call_setup",
    "cost_per_minute",
]


class AccountCreateSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A new account. Omitted settings take their defaults; unknown fields are refused."""

    features = AccountFeaturesSerializer(source="*", required=False)
    settings = AccountSettingsSerializer(source="*", required=False)
    initial_credits = money_field(min_value=0, required=False)
    initial_minutes = money_field(min_value=0, required=False)

    class Meta:
        model = Account
        fields = [
            "account_id",
            *ACCOUNT_WRITE_FIELDS,
            "initial_credits",
            "initial_minutes",
            "status",
        ]
        read_only_fields = ["status"]
        extra_kwargs = {
            "account_id": {
                "required": False,
                "help_text": _("A slug; generated from the account name when omitted."),
            },
        }


class AccountUpdateSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """PATCH: any subset of the writable fields. The balance changes only through top-ups."""

    features = AccountFeaturesSerializer(source="*", required=False)
    settings = AccountSettingsSerializer(source="*", required=False)

    class Meta:
        model = Account
        fields = ["account_id", "status", *ACCOUNT_WRITE_FIELDS]
        read_only_fields = ["account_id", "status"]


class TopupSerializer(StrictSerializerMixin, serializers.Serializer):
    """Credits, minutes or both to add, each above zero."""

    credits = money_field(required=False, allow_null=True)
    minutes = money_field(required=False, allow_null=True)
    reference = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Your reference for the payment (invoice, transfer id)."),
    )

    def validate(self, attrs):
        try:
            account_topup_validate(credits=attrs.get("credits"), minutes=attrs.get("minutes"))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict)
        return attrs
