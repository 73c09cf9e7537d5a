"""The operators' dashboard: today's calls, calls in flight, contact rate, spend, and a
per-campaign outcome chart rendered on the server as SVG (no JavaScript library, no CDN: the
deployment may have no internet).

``dashboard_data`` is a read (five aggregate queries over the last 31 days' attempts, whatever
the size of the history); the views here are admin views (staff only, registered by
``calls.admin``), and ``GET /api/v1/dashboard`` (``calls.api``) serves the same figures, for
one account or all. The page refreshes itself every 30 s from ``dashboard_data_view``
(``static/admin/callcenter/live.js``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from batches.models import Batch
from calls.models import CallAttempt

CHART_BATCHES = 8
RECENT_DAYS = 7
DAILY_DAYS = 30  # calls per day: today and the 29 days before
REFRESH_SECONDS = 30
# Today's figures read the attempts created since yesterday's midnight: an attempt is saved
# just before it is dialled (a provider error re-sent later keeps its row: one created the
# day before and re-sent today still counts).
TODAY_CREATED_DAYS = 1
# The days before today, read once (past_days); an hour at most, so a correction shows.
PAST_DAYS_SECONDS = 3600
Outcome = CallAttempt.Outcome
IN_PROGRESS = "in_progress"
# Chart segments, in order, with their colours (also in the legend).
SEGMENTS = [
    (Outcome.CONTACT, gettext_lazy("Contacted"), "#2e7d32"),
    (Outcome.NO_CONTACT, gettext_lazy("No contact"), "#f9a825"),
    (Outcome.INVALID_NUMBER, gettext_lazy("Invalid number"), "#6d4c41"),
    (Outcome.DO_NOT_CALL, gettext_lazy("Asked not to be called"), "#8e24aa"),
    (Outcome.PROVIDER_ERROR, gettext_lazy("Provider error"), "#c62828"),
    (IN_PROGRESS, gettext_lazy("In progress"), "#1565c0"),
]
DIALLED = Q(status=CallAttempt.Status.ENDED) & ~Q(
    outcome__in=[Outcome.PROVIDER_ERROR, Outcome.UNKNOWN]
)


def _day_and_month_start(now: datetime, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    local = timezone.localtime(now, tz)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return today, today.replace(day=1)


def _first_day(today: datetime) -> datetime:
    """Midnight of the first of the DAILY_DAYS days (a calendar day back, whatever DST does)."""
    day = today.date() - timedelta(days=DAILY_DAYS - 1)
    return datetime(day.year, day.month, day.day, tzinfo=today.tzinfo)


def dashboard_data(
    *, now: datetime | None = None, account_id: int | None = None, tz: tzinfo | None = None
) -> dict:
    """The figures of the dashboard, in ``tz`` (default: the operators' TIME_ZONE), for the
    account ``account_id`` or for all accounts (None).

    Today's figures and the calls in flight are read live, bounded by what was created since
    yesterday's midnight (attempt_created_idx) or is live now (attempt_live_idx); the days
    before today (calls per day, this month's spend until today) by ``past_days``, which
    reads them once per day and keeps them in the cache: a day that has passed does not
    change, and reading a month of attempts on every refresh would cost seconds at scale."""
    now = now or timezone.now()
    today, month = _day_and_month_start(now, tz)
    first_day = _first_day(today)
    attempts = CallAttempt.objects.all()
    if account_id is not None:
        attempts = attempts.filter(account_id=account_id)
    figures = attempts.filter(
        Q(created_at__gte=today - timedelta(days=TODAY_CREATED_DAYS))
        | Q(status__in=CallAttempt.LIVE_STATUSES)
    ).aggregate(
        calls_today=Count("pk", filter=Q(started_at__gte=today)),
        in_flight=Count("pk", filter=Q(status__in=CallAttempt.LIVE_STATUSES)),
        contacted_today=Count("pk", filter=Q(outcome=Outcome.CONTACT, ended_at__gte=today)),
        dialled_today=Count("pk", filter=DIALLED & Q(ended_at__gte=today)),
        spend_today=Sum("cost", filter=Q(settled_at__gte=today)),
    )
    past = past_days(
        attempts=attempts, account_id=account_id, today=today, month=month, first_day=first_day
    )
    batches = Batch.objects.all() if account_id is None else Batch.objects.filter(
        account_id=account_id
    )
    campaigns = dict(
        batches.filter(status__in=[Batch.Status.RUNNING, Batch.Status.PAUSED])
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    dialled = figures["dialled_today"]
    spend_today = figures["spend_today"] or Decimal("0")
    calls = {**past["calls"], today.date(): figures["calls_today"]}
    days = (first_day.date() + timedelta(days=i) for i in range(DAILY_DAYS))
    return {
        "now": now,
        "today": today,
        "month": month,
        "calls_today": figures["calls_today"],
        "in_flight": figures["in_flight"],
        "contacted_today": figures["contacted_today"],
        "dialled_today": dialled,
        "contact_rate_today": (
            round(100 * figures["contacted_today"] / dialled, 1) if dialled else None
        ),
        "spend_today": spend_today,
        "spend_month": past["spend"] + spend_today,
        "running_campaigns": campaigns.get(Batch.Status.RUNNING, 0),
        "paused_campaigns": campaigns.get(Batch.Status.PAUSED, 0),
        "batches": batch_outcomes(now=now, batches=batches),
        "calls_per_day": [(day, calls.get(day, 0)) for day in days],
    }


def past_days(
    *, attempts, account_id: int | None, today: datetime, month: datetime, first_day: datetime
) -> dict:
    """{"calls": {date: calls started that day}, "spend": settled this month} for the days
    before ``today`` (the calendar days of today's zone): one query over the attempts created
    since the earlier of ``first_day`` and ``month`` (an attempt is saved before it is
    dialled, so ``created_at`` bounds the scan), kept in the cache until the day ends."""
    key = f"calls:dashboard:past:{account_id or 'all'}:{today.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        attempts.filter(created_at__gte=min(first_day, month), created_at__lt=today)
        .annotate(day=TruncDate("started_at", tzinfo=first_day.tzinfo))
        .order_by()
        .values("day")
        .annotate(
            n=Count(
                "pk",
                filter=Q(created_at__gte=first_day, started_at__gte=first_day,
                         started_at__lt=today),
            ),
            spend=Sum(
                "cost",
                filter=Q(created_at__gte=month, settled_at__gte=month, settled_at__lt=today),
            ),
        )
        .values_list("day", "n", "spend")
    )
    calls: dict[date, int] = {}
    spend = Decimal("0")
    for day, n, cost in rows:
        if n:
            calls[day] = n
        spend += cost or 0
    result = {"calls": calls, "spend": spend}
    cache.set(key, result, PAST_DAYS_SECONDS)
    return result


def batch_outcomes(*, now: datetime, batches=None) -> list[dict]:
    """Attempts per outcome of the open campaigns of ``batches`` (default: all) and those
    finished in the last 7 days, the newest first (at most 8): two queries."""
    recent = now - timedelta(days=RECENT_DAYS)
    batches = list(
        (Batch.objects.all() if batches is None else batches).filter(
            Q(status__in=[Batch.Status.PENDING, Batch.Status.RUNNING, Batch.Status.PAUSED])
            | Q(updated_at__gte=recent)
        )
        .select_related("account")
        .order_by("-created_at", "-id")
        .only("pk", "name", "batch_id", "status", "account__account_id", "account__account_name")[
            :CHART_BATCHES
        ]
    )
    counts: dict[int, dict[str, int]] = {b.pk: {} for b in batches}
    rows = (
        CallAttempt.objects.filter(batch_id__in=list(counts))
        .order_by()
        .values("batch_id", "outcome", "status")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        if row["status"] in CallAttempt.LIVE_STATUSES:
            key = IN_PROGRESS
        elif (
            row["outcome"] in (Outcome.UNKNOWN, "")
            or row["status"] == CallAttempt.Status.PROVIDER_ERROR
        ):
            key = Outcome.PROVIDER_ERROR
        else:
            key = row["outcome"]
        bucket = counts[row["batch_id"]]
        bucket[key] = bucket.get(key, 0) + row["n"]
    return [
        {
            "pk": b.pk,
            "name": b.name,
            "batch_id": b.batch_id,
            "account": b.account.account_name,
            "account_id": b.account.account_id,
            "status": b.get_status_display(),
            "status_code": b.status,
            "counts": counts[b.pk],
            "total": sum(counts[b.pk].values()),
        }
        for b in batches
    ]


def outcome_chart_svg(batches: list[dict]) -> SafeString:
    """Horizontal 100% stacked bars, one per campaign, with a legend. Every text is escaped
    (format_html); the numbers are ours."""
    label_w, bar_w, total_w, row_h, bar_h, top = 230, 440, 70, 30, 18, 8
    width = label_w + bar_w + total_w
    legend_y = top + row_h * max(len(batches), 1) + 10
    height = legend_y + 26
    parts: list[SafeString] = []
    if not batches:
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="cc-chart-empty">{}</text>',
                10,
                top + 20,
                _("No active or recent campaigns."),
            )
        )
    for i, batch in enumerate(batches):
        y = top + i * row_h
        parts.append(
            format_html(
                '<text x="0" y="{}" class="cc-chart-label"><title>{}</title>{}</text>',
                y + bar_h - 4,
                f"{batch['name']} · {batch['account']} · {batch['status']}",
                Truncator(batch["name"]).chars(32),
            )
        )
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#eceff1"/>',
                label_w,
                y,
                bar_w,
                bar_h,
            )
        )
        x = float(label_w)
        total = batch["total"]
        for key, label, colour in SEGMENTS:
            n = batch["counts"].get(key, 0)
            if not n or not total:
                continue
            w = bar_w * n / total
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" '
                    'data-outcome="{}"><title>{}: {} ({}%)</title></rect>',
                    f"{x:.2f}",
                    y,
                    f"{w:.2f}",
                    bar_h,
                    colour,
                    key,
                    label,
                    n,
                    f"{100 * n / total:.0f}",
                )
            )
            x += w
        parts.append(
            format_html(
                '<text x="{}" y="{}" class="cc-chart-total">{}</text>',
                label_w + bar_w + 8,
                y + bar_h - 4,
                _("%(n)s calls") % {"n": total},
            )
        )
    x = 0
    for _key, label, colour in SEGMENTS:
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
                '<text x="{}" y="{}" class="cc-chart-legend">{}</text>',
                x,
                legend_y,
                colour,
                x + 16,
                legend_y + 11,
                label,
            )
        )
        x += 16 + 8 * len(str(label)) + 14
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="cc-chart" viewBox="0 0 {} {}" '
        'width="100%" role="img" aria-label="{}">{}</svg>',
        max(width, x),
        height,
        _("Call outcomes per campaign"),
        mark_safe("".join(parts)),  # every part was built with format_html
    )


def _context(data: dict) -> dict:
    links = {
        b["pk"]: reverse("admin:batches_batch_change", args=[b["pk"]]) for b in data["batches"]
    }
    return {
        **data,
        "spend_today_display": number_format(data["spend_today"], 2, force_grouping=True),
        "spend_month_display": number_format(data["spend_month"], 2, force_grouping=True),
        "chart": outcome_chart_svg(data["batches"]),
        "batch_links": format_html_join(
            "",
            '<li><a href="{}">{}</a> <span class="cc-muted">{} · {}</span></li>',
            ((links[b["pk"]], b["name"], b["account"], b["status"]) for b in data["batches"]),
        ),
    }


def render_dashboard(data: dict | None = None) -> str:
    data = data or dashboard_data()
    return render_to_string("admin/calls/_dashboard.html", _context(data))


def dashboard_view(request, *, admin_site):
    """The dashboard page (an admin view: staff only)."""
    context = {
        **admin_site.each_context(request),
        "title": _("Operations dashboard"),
        "dashboard": render_dashboard(),
        "data_url": reverse("admin:calls_dashboard_data"),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return TemplateResponse(request, "admin/calls/dashboard.html", context)


def dashboard_data_view(request):
    """JSON for the dashboard's refresh: the figures and the rendered block."""
    data = dashboard_data()
    return JsonResponse(
        {
            "html": render_dashboard(data),
            "calls_today": data["calls_today"],
            "in_flight": data["in_flight"],
            "contact_rate_today": data["contact_rate_today"],
            "spend_today": str(data["spend_today"]),
            "spend_month": str(data["spend_month"]),
            "batches": [
                {"batch_id": b["batch_id"], "total": b["total"], "counts": b["counts"]}
                for b in data["batches"]
            ],
        },
        headers={"Cache-Control": "no-store"},
    )
