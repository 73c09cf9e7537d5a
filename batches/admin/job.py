"""The Job admin (read-only): the list with its filters and search, and a job's attempts and
history."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.admin import AccountListFilter
from batches.admin.common import ReadOnlyInline
from batches.models import Batch, Job, JobEvent
from batches.selectors import job_ids_for, search_phone, search_rut
from callcenter.paginator import LargeTableAdminMixin
from calls import outcomes
from calls.models import CallAttempt


class CallAttemptInline(ReadOnlyInline):
    model = CallAttempt
    fk_name = "job"
    fields = [
        "attempt_link",
        "phone",
        "status",
        "outcome",
        "started_at",
        "duration_seconds",
        "disconnection_reason",
        "cost",
        "transcript_snippet",
        "recording_link",
    ]
    readonly_fields = fields
    ordering = ["attempt_number", "id"]
    verbose_name_plural = _("call attempts")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw", "analysis")

    @admin.display(description=_("attempt"))
    def attempt_link(self, obj):
        url = reverse("admin:calls_callattempt_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.attempt_number)

    @admin.display(description=_("transcript"))
    def transcript_snippet(self, obj):
        if not obj.transcript:
            return "—"
        return format_html(
            '<span title="{}">{}</span>',
            Truncator(obj.transcript).chars(2000),
            Truncator(obj.transcript).chars(120),
        )

    @admin.display(description=_("recording"))
    def recording_link(self, obj):
        if not obj.recording_url.startswith(("https://", "http://")):
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            obj.recording_url,
            _("listen"),
        )


class JobEventInline(ReadOnlyInline):
    model = JobEvent
    fields = ["created_at", "kind", "message"]
    readonly_fields = fields
    verbose_name_plural = _("job history")


class BatchListFilter(admin.SimpleListFilter):
    """The latest campaigns (a full list of every batch ever would not fit a sidebar)."""

    title = _("campaign")
    parameter_name = "batch"
    LIMIT = 30

    def lookups(self, request, model_admin):
        recent = list(Batch.objects.order_by("-created_at").values_list("pk", "name")[: self.LIMIT])
        value = self.value()
        if value and value.isdigit() and all(str(pk) != value for pk, _n in recent):
            recent += list(Batch.objects.filter(pk=value).values_list("pk", "name"))
        return [(str(pk), name) for pk, name in recent]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(batch_id=int(value))
        return queryset


class LastOutcomeFilter(admin.SimpleListFilter):
    """What the last call gave, grouped like the engine does (Retell's reasons)."""

    title = _("last outcome")
    parameter_name = "outcome"
    GROUPS = {
        CallAttempt.Outcome.CONTACT: outcomes.CONTACT_REASONS,
        CallAttempt.Outcome.NO_CONTACT: outcomes.NO_CONTACT_REASONS,
        CallAttempt.Outcome.INVALID_NUMBER: outcomes.INVALID_NUMBER_REASONS,
        CallAttempt.Outcome.DO_NOT_CALL: outcomes.DO_NOT_CALL_REASONS,
    }

    def lookups(self, request, model_admin):
        return [
            *((key, CallAttempt.Outcome(key).label) for key in self.GROUPS),
            ("other", _("Other (provider error)")),
            ("none", _("Not called yet")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in self.GROUPS:
            return queryset.filter(last_outcome__in=sorted(self.GROUPS[value]))
        if value == "none":
            return queryset.filter(last_outcome="")
        if value == "other":
            known = set().union(*self.GROUPS.values())
            return queryset.exclude(last_outcome="").exclude(last_outcome__in=sorted(known))
        return queryset


@admin.register(Job)
class JobAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "rut",
        "debtor_name",
        "phones",
        "campaign",
        "account",
        "status",
        "attempts",
        "last_outcome",
        "next_try_at",
        "updated_at",
    ]
    list_filter = ["status", BatchListFilter, AccountListFilter, LastOutcomeFilter]
    list_select_related = ["batch", "account"]
    # The RUT and the phone are looked up in their indexes (get_search_results); any other
    # term is a name (contains, case-insensitive).
    search_fields = ["contact__name"]
    search_help_text = _("RUT (with or without dots), name or phone.")
    list_per_page = 100
    ordering = ["-id"]
    # Only what an index can sort (a sort on another column reads the whole table).
    sortable_by = ["rut", "campaign"]
    inlines = [CallAttemptInline, JobEventInline]
    fields = [
        "batch",
        "account",
        "rut",
        "debtor_name",
        "phones",
        "status",
        "attempts",
        "next_try_at",
        "last_outcome",
        "last_error",
        "reserved_until",
        "contact",
        "payload",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    class Media:
        css = {"all": ["admin/callcenter/callcenter.css"]}

    @admin.display(description=_("name"))
    def debtor_name(self, obj):
        return (obj.contact or {}).get("name") or ""

    @admin.display(description=_("campaign"), ordering="batch_id")
    def campaign(self, obj):
        return obj.batch.name

    @admin.display(description=_("phones"))
    def phones(self, obj):
        contact = obj.contact or {}
        invalid = set(contact.get("invalid_phones") or ())
        return format_html_join(
            ", ",
            '<span class="{}">{}</span>',
            (("cc-invalid" if p in invalid else "", p) for p in contact.get("phones") or ()),
        )

    def get_search_results(self, request, queryset, search_term):
        """A RUT (12.345.678-5, 12345678-5, 12345678) or a phone in any local format is
        found through its index; anything else is searched in the debtors' names."""
        term = search_term.strip()
        if not term:
            return queryset, False
        rut, phone = search_rut(term), search_phone(term)
        if rut or phone:
            return queryset.filter(id__in=job_ids_for(rut=rut, phone=phone)), False
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
