"""Operators' admin for call attempts (read-only: they are the billing and audit history) and
the operations dashboard (``calls.dashboard``), served under the call attempts' admin URLs."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from accounts.admin import AccountListFilter
from batches.selectors import job_ids_for, search_phone, search_rut
from callcenter.paginator import LargeTableAdminMixin
from calls import dashboard
from calls.models import CallAttempt


@admin.register(CallAttempt)
class CallAttemptAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "rut",
        "job_link",
        "batch",
        "account",
        "attempt_number",
        "phone",
        "status",
        "outcome",
        "disconnection_reason",
        "duration_seconds",
        "cost",
    ]
    # No date hierarchy: its year and month links are a DISTINCT over every attempt; the
    # "created at" filter (today, past 7 days, this month, this year) is an index range.
    list_filter = ["outcome", "status", "created_at", AccountListFilter]
    list_select_related = ["batch", "account"]
    # Searched through indexes only (get_search_results).
    search_fields = ["call_id"]
    search_help_text = _("RUT, phone (+569...) or Retell call id.")
    list_per_page = 100
    ordering = ["-created_at", "-id"]
    # Only what an index can sort (a sort on another column reads every attempt).
    sortable_by = ["created_at", "job_link"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("job_link", "batch", "account"),
                    ("rut", "attempt_number", "phone"),
                    ("status", "outcome", "disconnection_reason"),
                    ("created_at", "started_at", "ended_at"),
                    ("duration_seconds", "cost", "settled_at"),
                    ("call_id", "idempotency_key"),
                    "error",
                    "recording_link",
                    "transcript",
                    "analysis",
                ]
            },
        ),
        (
            _("Provider data"),
            {
                "fields": [
                    ("hold_amount", "hold_unit", "provider_failures"),
                    ("ring_timeout", "max_call_duration"),
                    "raw",
                ],
                "classes": ["collapse"],
            },
        ),
    ]
    readonly_fields = [
        "job_link",
        "batch",
        "account",
        "rut",
        "attempt_number",
        "phone",
        "status",
        "outcome",
        "disconnection_reason",
        "created_at",
        "started_at",
        "ended_at",
        "duration_seconds",
        "cost",
        "settled_at",
        "call_id",
        "idempotency_key",
        "error",
        "recording_link",
        "transcript",
        "analysis",
        "hold_amount",
        "hold_unit",
        "provider_failures",
        "ring_timeout",
        "max_call_duration",
        "raw",
    ]

    class Media:
        css = {"all": ["admin/callcenter/callcenter.css"]}

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name == "calls_callattempt_changelist":
            queryset = queryset.defer("raw", "analysis", "transcript")
        return queryset

    def get_search_results(self, request, queryset, search_term):
        """A RUT (with or without dots or check digit) or a phone in any local format finds
        the attempts of the debtor's jobs (job_rut_idx, job_phones_idx, then the attempts'
        job index); any term is also tried as a Retell call id (exact, unique index)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        found = Q(call_id=term)
        rut, phone = search_rut(term), search_phone(term)
        if rut:
            found |= Q(job_id__in=job_ids_for(rut=rut, phone=None))
        if phone:
            found |= Q(job_id__in=job_ids_for(rut=None, phone=phone), phone=phone)
        return queryset.filter(found), False

    @admin.display(description=_("job"), ordering="job_id")
    def job_link(self, obj):
        url = reverse("admin:batches_job_change", args=[obj.job_id])
        return format_html('<a href="{}">{}</a>', url, obj.job_id)

    @admin.display(description=_("recording"))
    def recording_link(self, obj):
        if not obj.recording_url.startswith(("https://", "http://")):
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>',
            obj.recording_url,
            Truncator(obj.recording_url).chars(80),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # --- the dashboard ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("dashboard/", wrap(self.dashboard_view), name="calls_dashboard"),
            path("dashboard/data/", wrap(self.dashboard_data_view), name="calls_dashboard_data"),
            *super().get_urls(),
        ]

    def _check(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied

    def dashboard_view(self, request):
        self._check(request)
        return dashboard.dashboard_view(request, admin_site=self.admin_site)

    def dashboard_data_view(self, request):
        self._check(request)
        return dashboard.dashboard_data_view(request)
