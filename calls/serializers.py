"""The shapes of ``/dashboard`` and ``/options`` (``calls.api``): typed for the schema, money
as JSON numbers with its exact decimal value (up to 4 decimal places)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import MONEY
from callcenter.api import MoneyField


def _money() -> MoneyField:
    return MoneyField(**MONEY)


class OutcomeCountsSerializer(serializers.Serializer):
    """Attempts of a campaign per outcome (calls.dashboard.SEGMENTS); in_progress: live now."""

    contact = serializers.IntegerField(default=0)
    no_contact = serializers.IntegerField(default=0)
    invalid_number = serializers.IntegerField(default=0)
    do_not_call = serializers.IntegerField(default=0)
    provider_error = serializers.IntegerField(default=0)
    in_progress = serializers.IntegerField(default=0)


class CampaignOutcomesSerializer(serializers.Serializer):
    batch_id = serializers.CharField()
    name = serializers.CharField()
    account_id = serializers.CharField()
    status = serializers.CharField(source="status_code")
    total = serializers.IntegerField()
    counts = serializers.SerializerMethodField()

    def get_counts(self, batch) -> OutcomeCountsSerializer:
        return OutcomeCountsSerializer(batch["counts"]).data


class DayCallsSerializer(serializers.Serializer):
    date = serializers.DateField()
    calls = serializers.IntegerField()

    def to_representation(self, instance):
        day, calls = instance
        return super().to_representation({"date": day, "calls": calls})


class CampaignCountsSerializer(serializers.Serializer):
    running = serializers.IntegerField(source="running_campaigns")
    paused = serializers.IntegerField(source="paused_campaigns")


class DashboardSerializer(serializers.Serializer):
    account_id = serializers.CharField(
        allow_null=True, help_text="The account shown; null: every account (operators)."
    )
    time_zone = serializers.CharField(help_text="The zone whose calendar days are counted.")
    generated_at = serializers.DateTimeField(source="now")
    calls_today = serializers.IntegerField(help_text="Calls started today.")
    live_calls = serializers.IntegerField(source="in_flight", help_text="Calls in progress now.")
    dialled_today = serializers.IntegerField(
        help_text="Calls that ended today after ringing (provider errors left out)."
    )
    contacted_today = serializers.IntegerField()
    contact_rate_today = serializers.FloatField(
        allow_null=True, help_text="Percent of today's dialled calls answered; null: none dialled."
    )
    spend_today = _money()
    spend_month = _money()
    campaigns = CampaignCountsSerializer(source="*")
    outcomes_per_campaign = CampaignOutcomesSerializer(
        source="batches", many=True, help_text="Open campaigns and those of the last 7 days (8)."
    )
    calls_per_day = DayCallsSerializer(many=True, help_text="The last 30 days, oldest first.")


class RangeSerializer(serializers.Serializer):
    minimum = serializers.IntegerField()
    maximum = serializers.IntegerField()
    default = serializers.IntegerField(allow_null=True)


class DecimalRangeSerializer(serializers.Serializer):
    minimum = MoneyField(max_digits=8, decimal_places=4)
    maximum = MoneyField(max_digits=8, decimal_places=4)
    default = MoneyField(max_digits=8, decimal_places=4)
    decimal_places = serializers.IntegerField()


class HoursSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="HH:MM")
    end = serializers.CharField(help_text="HH:MM")


class HoursLimitSerializer(serializers.Serializer):
    format = serializers.CharField()
    default = HoursSerializer(allow_null=True)


class DaysLimitSerializer(serializers.Serializer):
    minimum = serializers.IntegerField()
    maximum = serializers.IntegerField()
    default = serializers.ListField(child=serializers.IntegerField(), allow_null=True)


class ChoiceLimitSerializer(serializers.Serializer):
    choices = serializers.ListField(child=serializers.CharField())
    default = serializers.CharField()


class CallSettingsLimitsSerializer(serializers.Serializer):
    max_call_duration = RangeSerializer()
    ring_timeout = RangeSerializer()
    max_attempts = RangeSerializer()
    retry_delay_hours = DecimalRangeSerializer()
    allowed_hours = HoursLimitSerializer()
    days_of_week = DaysLimitSerializer()
    priority = ChoiceLimitSerializer()


class LimitsSerializer(serializers.Serializer):
    max_concurrent_calls = RangeSerializer()
    call_settings = CallSettingsLimitsSerializer()


class ComplianceProfileSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    country = serializers.CharField(allow_null=True)
    time_zones = serializers.ListField(
        child=serializers.CharField(), help_text="The zones allowed (every IANA zone: none)."
    )
    hours = HoursSerializer(allow_null=True, help_text="Local calling hours [start, end).")
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(), allow_null=True, help_text="ISO weekdays; null: all."
    )
    holidays_country = serializers.CharField(
        allow_null=True, help_text="Never on this country's public holidays."
    )
    max_answered_contacts_per_7d = serializers.IntegerField(allow_null=True)
    max_attempts_per_7d = serializers.IntegerField(allow_null=True)


class ScriptVariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class PrioritySerializer(ChoiceSerializer):
    number = serializers.IntegerField(help_text="call_settings.priority as a number.")


class FloatRangeSerializer(serializers.Serializer):
    minimum = serializers.FloatField()
    maximum = serializers.FloatField()
    default = serializers.FloatField()


class VoiceLimitsSerializer(serializers.Serializer):
    speed = FloatRangeSerializer(help_text="Retell's voice_speed.")
    volume = FloatRangeSerializer()
    pitch = FloatRangeSerializer(help_text="Accepted and stored, never sent: see not_applied.")


class VoiceOptionsSerializer(serializers.Serializer):
    limits = VoiceLimitsSerializer()
    languages = serializers.ListField(
        child=serializers.CharField(),
        help_text="The languages Retell speaks. A regional Spanish (es-CL, es-AR...) is "
        "accepted too and sent as regional_spanish.",
    )
    regional_spanish = serializers.CharField()
    default_language = serializers.CharField()
    default_voice_ids = serializers.ListField(
        child=serializers.CharField(), help_text="voice_id values meaning the agent's own voice."
    )
    not_applied = serializers.ListField(
        child=serializers.CharField(), help_text="Settings kept but not applied by Retell."
    )


class RecurringOptionsSerializer(serializers.Serializer):
    frequencies = serializers.ListField(child=serializers.CharField())
    max_interval = serializers.IntegerField()
    max_runs = serializers.IntegerField()


class OptionsSerializer(serializers.Serializer):
    compliance_profiles = ComplianceProfileSerializer(many=True)
    default_compliance_profile = serializers.CharField()
    script_variables = ScriptVariableSerializer(many=True)
    script_custom_variables = serializers.CharField()
    limits = LimitsSerializer()
    plan_types = ChoiceSerializer(many=True)
    priorities = PrioritySerializer(many=True)
    voice = VoiceOptionsSerializer(help_text="voice_settings: ranges, languages, defaults.")
    recurring = RecurringOptionsSerializer(help_text="recurring_config's choices and limits.")
