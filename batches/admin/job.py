"""The Job admin (read-only): the list with its filters and search, and a job's attempts and
history."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from batches.admin.common import ReadOnlyInline
from batches.debtors.phones import phone_to_e164
from batches.debtors.rut import normalize_rut
from batches.debtors.text import FieldError
from batches.models import Batch, Job, JobEvent
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
class JobAdmin(admin.ModelAdmin):
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
    list_filter = ["status", BatchListFilter, "account", LastOutcomeFilter]
    list_select_related = ["batch", "account"]
    search_fields = ["rut", "contact__name", "contact__phones"]
    search_help_text = _("RUT (with or without dots), name or phone.")
    show_full_result_count = False
    list_per_page = 100
    ordering = ["-id"]
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
        """Also find a RUT typed with dots (12.345.678-5) and a phone in any local format."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if not term:
            return results, may_have_duplicates
        extra = Q()
        try:
            extra |= Q(rut=normalize_rut(term))
        except FieldError:
            pass
        phone = phone_to_e164(term) if any(ch.isdigit() for ch in term) else None
        if phone:
            extra |= Q(contact__phones__contains=[phone])
        if extra:
            results = results | queryset.filter(extra)
        return results, may_have_duplicates

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
