"""Helpers shared by the batch and job admins: display formatting and the read-only inline."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

# --- Display helpers ------------------------------------------------------------------------


def money(value) -> str:
    return number_format(value if value is not None else Decimal("0"), 2, force_grouping=True)


def progress_bar(*, total: int, done: int, failed: int, cancelled: int) -> str:
    """A three-colour bar (done / failed+cancelled / pending) with the counts as its title."""
    total = max(total, 0)
    pending = max(total - done - failed - cancelled, 0)
    if not total:
        return format_html('<span class="cc-muted">{}</span>', _("no jobs"))

    def pct(n):
        return f"{100 * n / total:.2f}"

    title = _("%(done)s done, %(failed)s failed, %(cancelled)s cancelled, %(pending)s open") % {
        "done": done,
        "failed": failed,
        "cancelled": cancelled,
        "pending": pending,
    }
    finished = done + failed + cancelled
    return format_html(
        '<div class="cc-progress" title="{}" role="img" aria-label="{}">'
        '<span class="cc-done" style="width:{}%"></span>'
        '<span class="cc-failed" style="width:{}%"></span>'
        '<span class="cc-cancelled" style="width:{}%"></span></div>'
        '<span class="cc-progress-label">{} / {} ({}%)</span>',
        title,
        title,
        pct(done),
        pct(failed),
        pct(cancelled),
        finished,
        total,
        f"{100 * finished / total:.0f}",
    )


def rate(part, whole) -> str:
    if not whole:
        return "—"
    return f"{100 * (part or 0) / whole:.0f}%"


class ReadOnlyInline(admin.TabularInline):
    classes = ["cc-readonly-inline"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
