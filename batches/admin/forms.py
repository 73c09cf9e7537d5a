"""The call settings as form fields (shared by the batch page and the Excel creation) and the
batch change form."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from batches import services
from batches.call_settings import INT_LIMITS, MAX_RETRY_DELAY, CallSettings
from batches.models import Batch

WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


# --- Call settings form fields (shared by the batch page and the Excel creation) -------------


class CallSettingsForm(forms.Form):
    """The call settings as form fields; validated by ``batches.services.call_settings_clean``
    (the API's rules: limits, the window, and the account's compliance profile)."""

    max_attempts = forms.IntegerField(
        label=_("Max attempts"),
        min_value=INT_LIMITS["max_attempts"][0],
        max_value=INT_LIMITS["max_attempts"][1],
    )
    retry_delay_hours = forms.DecimalField(
        label=_("Retry delay (hours)"),
        min_value=0,
        max_value=MAX_RETRY_DELAY,
        decimal_places=4,
        help_text=_("Time between two attempts of a debtor that did not answer."),
    )
    allowed_start = forms.TimeField(
        label=_("Allowed hours: from"),
        required=False,
        widget=forms.TimeInput(format="%H:%M", attrs={"placeholder": "09:00", "size": 6}),
        help_text=_("Empty: the compliance profile's hours."),
    )
    allowed_end = forms.TimeField(
        label=_("Allowed hours: until"),
        required=False,
        widget=forms.TimeInput(format="%H:%M", attrs={"placeholder": "19:00", "size": 6}),
    )
    days_of_week = forms.TypedMultipleChoiceField(
        label=_("Days"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every day the compliance profile allows."),
    )
    ring_timeout = forms.IntegerField(
        label=_("Ring timeout (s)"),
        min_value=INT_LIMITS["ring_timeout"][0],
        max_value=INT_LIMITS["ring_timeout"][1],
        initial=CallSettings.ring_timeout,
    )
    max_call_duration = forms.IntegerField(
        label=_("Max call duration (s)"),
        min_value=INT_LIMITS["max_call_duration"][0],
        max_value=INT_LIMITS["max_call_duration"][1],
        initial=CallSettings.max_call_duration,
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Batch.Priority.choices)
    timezone = forms.CharField(
        label=_("Time zone"),
        required=False,
        max_length=64,
        help_text=_("IANA name; empty: the account's time zone."),
    )

    SETTINGS_FIELDS = (
        "max_attempts",
        "retry_delay_hours",
        "allowed_start",
        "allowed_end",
        "days_of_week",
        "ring_timeout",
        "max_call_duration",
        "priority",
        "timezone",
    )
    # Dotted names of the services' errors → form fields.
    ERROR_FIELDS = {
        "max_attempts": "max_attempts",
        "retry_delay_hours": "retry_delay_hours",
        "allowed_hours": "allowed_start",
        "allowed_hours.start": "allowed_start",
        "allowed_hours.end": "allowed_end",
        "days_of_week": "days_of_week",
        "ring_timeout": "ring_timeout",
        "max_call_duration": "max_call_duration",
        "priority": "priority",
        "timezone": "timezone",
    }

    @classmethod
    def initial_from(cls, call_settings: dict | None) -> dict:
        cs = CallSettings.from_json(call_settings)
        hours = cs.allowed_hours or {}
        return {
            "max_attempts": cs.max_attempts,
            "retry_delay_hours": Decimal(cs.retry_delay_hours),
            "allowed_start": hours.get("start", ""),
            "allowed_end": hours.get("end", ""),
            "days_of_week": list(cs.days_of_week or []),
            "ring_timeout": cs.ring_timeout,
            "max_call_duration": cs.max_call_duration,
            "priority": cs.priority,
            "timezone": cs.timezone,
        }

    def call_settings_data(self) -> dict:
        """The call settings dict the services take, from the cleaned fields."""
        data = self.cleaned_data
        start, end = data.get("allowed_start"), data.get("allowed_end")
        settings_ = {
            "max_attempts": data.get("max_attempts"),
            "retry_delay_hours": format(data["retry_delay_hours"].normalize(), "f")
            if data.get("retry_delay_hours") is not None
            else None,
            "allowed_hours": None,
            "days_of_week": sorted(data.get("days_of_week") or []) or None,
            "ring_timeout": data.get("ring_timeout"),
            "max_call_duration": data.get("max_call_duration"),
            "priority": data.get("priority"),
        }
        if start or end:
            settings_["allowed_hours"] = {
                "start": start.strftime("%H:%M") if start else "",
                "end": end.strftime("%H:%M") if end else "",
            }
        if data.get("timezone"):
            settings_["timezone"] = data["timezone"].strip()
        return settings_

    def add_service_errors(self, errors: dict[str, list], prefix: str = "call_settings") -> None:
        """Put a BatchError's messages on the fields they name (the rest on the form)."""
        for key, messages_ in errors.items():
            name = key[len(prefix) + 1 :] if key.startswith(prefix + ".") else key
            field = self.ERROR_FIELDS.get(name)
            if field is None and name in self.fields:
                field = name
            for message in messages_:
                if field is not None and field in self.fields:
                    if field not in self.errors or message not in self.errors[field]:
                        self.add_error(field, str(message))
                else:
                    self.add_error(None, str(message))


# --- Batch change form ------------------------------------------------------------------------


class BatchChangeForm(CallSettingsForm, forms.ModelForm):
    """Name and description (``batch_update_details``) and the call settings
    (``batch_update_settings``); validated with the same rules as the API."""

    class Meta:
        model = Batch
        fields = ["name", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for key, value in CallSettingsForm.initial_from(self.instance.call_settings).items():
                self.initial.setdefault(key, value)

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.instance.pk:
            return cleaned
        merged = {**(self.instance.call_settings or {}), **self.call_settings_data()}
        if "timezone" not in self.call_settings_data():
            merged["timezone"] = self.instance.account.timezone
        try:
            self.cleaned_call_settings = services.call_settings_clean(
                account=self.instance.account, call_settings=merged
            )
        except services.BatchError as exc:
            self.add_service_errors(exc.errors)
        return cleaned
