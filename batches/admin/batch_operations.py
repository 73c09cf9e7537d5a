"""Pausing, resuming, retrying the failed jobs of and cancelling campaigns: as changelist
actions and as the change page's buttons (the operate view). The same services as the API."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from batches import services
from batches.models import Batch
from calls import campaigns


def _service_call(request, batch, call) -> bool:
    """Run one service call for an action; a refusal becomes an error message."""
    try:
        call()
    except services.BatchError as exc:
        detail = "; ".join(str(m) for msgs in exc.errors.values() for m in msgs)
        messages.error(request, f"{batch.name}: {detail}")
        return False
    return True


def _retried_message(count: int) -> str:
    return ngettext(
        "%(count)s failed job will be tried again (within the calling window and limits).",
        "%(count)s failed jobs will be tried again (within the calling window and limits).",
        count,
    ) % {"count": count}


class BatchOperationsMixin:
    """The operations of ``BatchAdmin`` (a ``ModelAdmin``; ``_viewable`` is its own)."""

    def _operations(self, request, obj) -> list[dict]:
        if not self.has_change_permission(request, obj):
            return []
        finished = obj.status in services.FINISHED_STATUSES
        ops = []

        def op(name, label, confirm=""):
            ops.append(
                {
                    "name": name,
                    "label": label,
                    "url": reverse("admin:batches_batch_operate", args=[obj.pk, name]),
                    "confirm": confirm,
                }
            )

        if not finished and obj.is_active:
            op("pause", _("Pause"))
        if not finished and not obj.is_active:
            op("resume", _("Resume"))
        if obj.status != Batch.Status.CANCELLED and obj.n_failed:
            op("retry", _("Retry failed now"))
        if obj.status != Batch.Status.CANCELLED and obj.status != Batch.Status.COMPLETED:
            op(
                "cancel",
                _("Cancel campaign"),
                confirm=_("Cancel this campaign? Its pending jobs will never be called."),
            )
        return ops

    # --- actions (the same services as the API) ---

    def _set_active_selected(self, request, queryset, *, is_active: bool) -> None:
        count = sum(
            _service_call(
                request,
                b,
                lambda b=b: services.batch_set_active(
                    batch=b, is_active=is_active, user=request.user
                ),
            )
            for b in queryset
        )
        if not count:
            return
        if is_active:
            text = ngettext("%(count)s campaign resumed.", "%(count)s campaigns resumed.", count)
        else:
            text = ngettext("%(count)s campaign paused.", "%(count)s campaigns paused.", count)
        messages.success(request, text % {"count": count})

    @admin.action(description=_("Pause selected campaigns"), permissions=["change"])
    def pause_selected(self, request, queryset):
        self._set_active_selected(request, queryset, is_active=False)

    @admin.action(description=_("Resume selected campaigns"), permissions=["change"])
    def resume_selected(self, request, queryset):
        self._set_active_selected(request, queryset, is_active=True)

    @admin.action(description=_("Retry failed jobs now"), permissions=["change"])
    def retry_failed_selected(self, request, queryset):
        moved = [0]

        def retry(batch):
            moved[0] += services.job_retry_failed(batch=batch, user=request.user)

        for batch in queryset:
            _service_call(request, batch, lambda b=batch: retry(b))
        if moved[0]:
            messages.success(request, _retried_message(moved[0]))
        else:
            messages.info(request, _("No failed job to retry."))

    @admin.action(description=_("Cancel selected campaigns"), permissions=["change"])
    def cancel_selected(self, request, queryset):
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Cancel campaigns"),
                "opts": self.model._meta,
                "queryset": queryset,
                "action_name": "cancel_selected",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/batches/batch/cancel_confirmation.html", context
            )
        count = sum(
            _service_call(
                request, b, lambda b=b: campaigns.batch_cancel(batch=b, user=request.user)
            )
            for b in queryset
        )
        if count:
            messages.success(
                request,
                ngettext("%(count)s campaign cancelled.", "%(count)s campaigns cancelled.", count)
                % {"count": count},
            )
        return None

    # --- the change page's buttons ---

    def operate_view(self, request, object_id, operation):
        return require_POST(self._operate)(request, object_id, operation)

    def _operate(self, request, object_id, operation):
        batch = self._viewable(request, object_id)
        if not self.has_change_permission(request, batch):
            raise PermissionDenied
        user = request.user
        calls = {
            "pause": lambda: services.batch_set_active(batch=batch, is_active=False, user=user),
            "resume": lambda: services.batch_set_active(batch=batch, is_active=True, user=user),
            "cancel": lambda: campaigns.batch_cancel(batch=batch, user=user),
            "retry": lambda: services.job_retry_failed(batch=batch, user=user),
        }
        if operation not in calls:
            raise Http404
        done_messages = {
            "pause": _("Campaign paused: no new call will start (calls in progress finish)."),
            "resume": _("Campaign resumed."),
            "cancel": _("Campaign cancelled."),
        }
        try:
            result = calls[operation]()
        except services.BatchError as exc:
            for msgs in exc.errors.values():
                for message in msgs:
                    messages.error(request, message)
        else:
            if operation == "retry":
                if result:
                    messages.success(request, _retried_message(result))
                else:
                    messages.info(request, _("No failed job to retry."))
            else:
                messages.success(request, done_messages[operation])
            self.log_change(request, batch, [{"changed": {"fields": [operation]}}])
        return HttpResponseRedirect(reverse("admin:batches_batch_change", args=[batch.pk]))
