"""The Batch (campaign) admin: the changelist with its per-row figures, the change page
(details and call settings saved through the services), and the progress and export views."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.admin import AccountListFilter
from batches import services
from batches.admin.batch_operations import BatchOperationsMixin
from batches.admin.common import ReadOnlyInline, money, progress_bar, rate
from batches.admin.excel_flow import ExcelCreationMixin
from batches.admin.forms import BatchChangeForm, CallSettingsForm
from batches.admin.progress import render_progress, with_progress
from batches.api.exports import download
from batches.models import Batch, BatchEvent
from calls import exports
from calls import selectors as call_selectors

EVENTS_INLINE_ROWS = 100


class BatchEventInline(ReadOnlyInline):
    model = BatchEvent
    fields = ["created_at", "kind", "message", "user"]
    readonly_fields = fields
    verbose_name_plural = _("campaign log (latest 100)")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        match = request.resolver_match
        object_id = match.kwargs.get("object_id") if match else None
        if object_id is None:
            return queryset
        latest = (
            BatchEvent.objects.filter(batch_id=unquote(object_id))
            .order_by("-created_at", "-id")
            .values("id")[:EVENTS_INLINE_ROWS]
        )
        return queryset.filter(id__in=Subquery(latest)).order_by("-created_at", "-id")


@admin.register(Batch)
class BatchAdmin(BatchOperationsMixin, ExcelCreationMixin, admin.ModelAdmin):
    form = BatchChangeForm
    list_display = [
        "name",
        "account",
        "status_badge",
        "is_active",
        "progress",
        "contact_rate",
        "cost_display",
        "next_attempt",
        "created_at",
    ]
    list_display_links = ["name"]
    list_filter = ["status", "is_active", AccountListFilter]
    list_select_related = ["account"]
    search_fields = ["batch_id", "name", "account__account_name", "account__account_id"]
    list_per_page = 50
    ordering = ["-created_at", "-id"]
    actions = ["pause_selected", "resume_selected", "retry_failed_selected", "cancel_selected"]
    inlines = [BatchEventInline]
    readonly_fields = [
        "batch_id",
        "account",
        "status",
        "is_active",
        "live_progress",
        "schedule_type",
        "scheduled_at",
        "total_jobs",
        "total_rows",
        "invalid_rows",
        "duplicates_merged",
        "skipped_existing",
        "estimated_cost",
        "import_issues",
        "created_by",
        "created_at",
        "updated_at",
        "completed_at",
        "jobs_link",
        "parent",
        "run_number",
        "next_run_at",
        "runs_count",
        "runs_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "batch_id",
                    "account",
                    "name",
                    "description",
                    ("status", "is_active"),
                    "live_progress",
                    "jobs_link",
                ]
            },
        ),
        (
            _("Call settings"),
            {
                "fields": [
                    ("max_attempts", "retry_delay_hours"),
                    ("allowed_start", "allowed_end"),
                    "days_of_week",
                    ("ring_timeout", "max_call_duration"),
                    ("priority", "timezone"),
                ],
                "description": _(
                    "Changes apply to every job not yet dialled, from its next attempt, within "
                    "the account's compliance profile."
                ),
            },
        ),
        (
            _("Import"),
            {
                "fields": [
                    ("total_rows", "invalid_rows", "duplicates_merged", "skipped_existing"),
                    ("total_jobs", "estimated_cost"),
                    "import_issues",
                ],
                "classes": ["collapse"],
            },
        ),
        (
            _("Schedule and history"),
            {
                "fields": [
                    ("schedule_type", "scheduled_at"),
                    ("parent", "run_number"),
                    ("next_run_at", "runs_count", "runs_link"),
                    ("created_by", "created_at"),
                    ("updated_at", "completed_at"),
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["admin/callcenter/callcenter.css"]}
        js = ["admin/callcenter/live.js"]

    # --- queryset and columns ---

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("account", "created_by")
        return with_progress(queryset)

    @staticmethod
    def _finished(obj) -> bool:
        return obj is not None and obj.status in services.FINISHED_STATUSES

    def get_readonly_fields(self, request, obj=None):
        if self._finished(obj):
            # A finished campaign cannot change (the services refuse it too).
            return [
                *self.readonly_fields,
                "name",
                "description",
                "call_settings_display",
                *CallSettingsForm.SETTINGS_FIELDS,
            ]
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if self._finished(obj):
            fieldsets = list(fieldsets)
            fieldsets[1] = (fieldsets[1][0], {"fields": ["call_settings_display"]})
        return fieldsets

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj):
        return format_html(
            '<span class="cc-badge cc-{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return progress_bar(
            total=obj.total_jobs,
            done=obj.n_done,
            failed=obj.n_failed,
            cancelled=obj.n_cancelled,
        )

    @admin.display(description=_("contact rate"))
    def contact_rate(self, obj):
        return format_html(
            '<span title="{}">{}</span>',
            _("%(contacted)s contacted of %(dialled)s calls completed")
            % {"contacted": obj.n_contacted, "dialled": obj.n_dialled},
            rate(obj.n_contacted, obj.n_dialled),
        )

    @admin.display(description=_("cost so far"), ordering="cost_so_far")
    def cost_display(self, obj):
        return money(obj.cost_so_far)

    @admin.display(description=_("next attempt"), ordering="next_due")
    def next_attempt(self, obj):
        if obj.status in services.FINISHED_STATUSES or obj.next_due is None:
            return "—"
        if not obj.is_active:
            return format_html('<span class="cc-muted">{}</span>', _("paused"))
        when = obj.next_due
        if obj.scheduled_at and obj.scheduled_at > when:
            when = obj.scheduled_at
        return formats.date_format(timezone.localtime(when), "SHORT_DATETIME_FORMAT")

    @admin.display(description=_("progress"))
    def live_progress(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:batches_batch_progress", args=[obj.pk])
        return format_html(
            '<div class="cc-live" data-live-url="{}" data-live-interval="5">{}</div>',
            url,
            render_progress(obj),
        )

    @admin.display(description=_("jobs"))
    def jobs_link(self, obj):
        url = reverse("admin:batches_job_changelist") + f"?batch={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("See the jobs of this campaign"))

    @admin.display(description=_("later runs"))
    def runs_link(self, obj):
        if obj.runs_count <= 1:
            return "—"
        url = reverse("admin:batches_batch_changelist") + f"?parent={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("See the runs of this campaign"))

    @admin.display(description=_("rows with problems"))
    def import_issues(self, obj):
        issues = obj.import_errors or []
        if not issues:
            return "—"
        return format_html(
            '<table class="cc-issues"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("row"),
            _("column"),
            _("value"),
            _("problem"),
            _("level"),
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        i.get("row", ""),
                        i.get("column", ""),
                        i.get("value", ""),
                        i.get("message", ""),
                        i.get("level", ""),
                    )
                    for i in issues[:200]
                ),
            ),
        )

    @admin.display(description=_("call settings"))
    def call_settings_display(self, obj):
        return format_html_join(
            "", "<div><strong>{}</strong>: {}</div>", sorted(obj.call_settings.items())
        )

    # --- permissions ---

    def has_add_permission(self, request):
        # Campaigns are created from an Excel file (create_from_excel) or the API, never from
        # a bare model form.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def can_create(self, request) -> bool:
        return request.user.has_perm("batches.add_batch")

    # --- saving through the services ---

    def save_model(self, request, obj, form, change):
        """Never ``obj.save()``: the services lock the row, validate again and log events."""
        if self._finished(obj):
            return
        details = {
            key: form.cleaned_data[key]
            for key in ("name", "description")
            if key in form.changed_data
        }
        cleaned = getattr(form, "cleaned_call_settings", None)
        try:
            if details:
                services.batch_update_details(batch=obj, user=request.user, **details)
            if cleaned is not None and cleaned != obj.call_settings:
                services.batch_update_settings(
                    batch=obj, call_settings=cleaned.to_json(), user=request.user
                )
        except services.BatchError as exc:
            for msgs in exc.errors.values():
                for message in msgs:
                    messages.error(request, message)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = extra_context or {}
        if object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                extra_context["operations"] = self._operations(request, obj)
                extra_context["export_url"] = reverse("admin:batches_batch_export", args=[obj.pk])
                extra_context["audit_url"] = reverse(
                    "admin:batches_batch_export_audit", args=[obj.pk]
                )
        return super().changeform_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        if self.can_create(request):
            extra_context["create_url"] = reverse("admin:batches_batch_create_from_excel")
        return super().changelist_view(request, extra_context)

    # --- extra views ---

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "create-from-excel/",
                wrap(self.create_from_excel_view),
                name="batches_batch_create_from_excel",
            ),
            path(
                "<path:object_id>/progress/",
                wrap(self.progress_view),
                name="batches_batch_progress",
            ),
            path(
                "<path:object_id>/export/",
                wrap(self.export_view),
                name="batches_batch_export",
            ),
            path(
                "<path:object_id>/export/audit/",
                wrap(self.export_audit_view),
                name="batches_batch_export_audit",
            ),
            path(
                "<path:object_id>/operate/<str:operation>/",
                wrap(self.operate_view),
                name="batches_batch_operate",
            ),
            *super().get_urls(),
        ]

    def _viewable(self, request, object_id) -> Batch:
        batch = get_object_or_404(Batch.objects.select_related("account"), pk=unquote(object_id))
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        return batch

    def progress_view(self, request, object_id):
        """JSON for the live block of the batch page (polled every 5 s)."""
        batch = self._viewable(request, object_id)
        status = call_selectors.batch_status(batch=batch)
        return JsonResponse(
            {
                "html": render_progress(batch, status=status),
                "status": status["status"],
                "is_active": status["is_active"],
                "counts": status["counts"],
                "progress_percent": status["progress_percent"],
                "calls_in_flight": status["calls_in_flight"],
                "cost_so_far": str(status["cost_so_far"]),
            },
            headers={"Cache-Control": "no-store"},
        )

    def export_view(self, request, object_id):
        return download(exports.export_results(batch=self._viewable(request, object_id)))

    def export_audit_view(self, request, object_id):
        batch = self._viewable(request, object_id)
        return download(exports.export_audit(batch=batch, viewer=request.user))
