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

from django.db import connection
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
from callcenter.db import written_sql
from calls import queries
from calls.models import CallAttempt

CHART_BATCHES = 8
RECENT_DAYS = 7
DAILY_DAYS = 30  # calls per day: today and the 29 days before
REFRESH_SECONDS = 30
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
    account ``account_id`` or for all accounts (None). Each query is bounded by the window
    (the month or the last DAILY_DAYS days, attempt_created_idx) or by what is live now."""
    now = now or timezone.now()
    today, month = _day_and_month_start(now, tz)
    first_day = _first_day(today)
    attempts = CallAttempt.objects.all()
    if account_id is not None:
        attempts = attempts.filter(account_id=account_id)
    hourly = written_sql() and _whole_hours(today, month, first_day)
    if hourly:
        # A few hundred hourly sums kept by the database, not a month of calls.
        figures, per_day = _hourly_figures(account_id=account_id, today=today, month=month,
                                           first_day=first_day)
    else:
        figures = attempts.filter(
            Q(created_at__gte=month) | Q(status__in=CallAttempt.LIVE_STATUSES)
        ).aggregate(
            calls_today=Count("pk", filter=Q(started_at__gte=today)),
            in_flight=Count("pk", filter=Q(status__in=CallAttempt.LIVE_STATUSES)),
            contacted_today=Count("pk", filter=Q(outcome=Outcome.CONTACT,
                                                 ended_at__gte=today)),
            dialled_today=Count("pk", filter=DIALLED & Q(ended_at__gte=today)),
            spend_today=Sum("cost", filter=Q(settled_at__gte=today)),
            spend_month=Sum("cost", filter=Q(settled_at__gte=month)),
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
        "spend_today": figures["spend_today"] or Decimal("0"),
        "spend_month": figures["spend_month"] or Decimal("0"),
        "running_campaigns": campaigns.get(Batch.Status.RUNNING, 0),
        "paused_campaigns": campaigns.get(Batch.Status.PAUSED, 0),
        "batches": batch_outcomes(now=now, batches=batches),
        "calls_per_day": per_day if hourly else calls_per_day(attempts=attempts,
                                                              first_day=first_day),
    }


def _whole_hours(*instants: datetime) -> bool:
    """Whether every day of the window starts on a whole hour of UTC (so that each hourly
    sum falls in one day): true of every zone but a few (India's +05:30, Nepal...), which
    take the scan."""
    first_day = min(instants)
    days = (first_day.date() + timedelta(days=i) for i in range(DAILY_DAYS + 1))
    zone = first_day.tzinfo
    starts = [*instants, *(datetime(d.year, d.month, d.day, tzinfo=zone) for d in days)]
    return all(start.utcoffset().total_seconds() % 3600 == 0 for start in starts)


def _hourly_figures(*, account_id: int | None, today: datetime, month: datetime,
                    first_day: datetime) -> tuple[dict, list[tuple[date, int]]]:
    """PostgreSQL: the figures and the calls per day from the hourly sums (AttemptHour),
    with the calls in flight: two queries whatever the history. Calls are counted by when
    they started, contacts and dialled calls by when they ended, spend by when settled."""
    params = {"scope": account_id or 0, "since": min(month, first_day), "today": today,
              "month": month,
              "tz": getattr(first_day.tzinfo, "key", None) or str(first_day.tzinfo)}
    with connection.cursor() as cursor:
        cursor.execute(queries.DASHBOARD_FIGURES_SQL, params)
        started, contacted, dialled, spend_today, spend_month, live = cursor.fetchone()
        cursor.execute(queries.DASHBOARD_DAYS_SQL, {**params, "since": first_day})
        counts = {day: int(n) for day, n in cursor.fetchall()}
    figures = {"calls_today": int(started), "in_flight": live, "contacted_today": int(contacted),
               "dialled_today": int(dialled), "spend_today": spend_today,
               "spend_month": spend_month}
    days = (first_day.date() + timedelta(days=i) for i in range(DAILY_DAYS))
    return figures, [(day, counts.get(day, 0)) for day in days]


def calls_per_day(*, attempts, first_day: datetime) -> list[tuple[date, int]]:
    """Calls started on each of the DAILY_DAYS days from ``first_day`` (its zone's calendar
    days), zeros included: one query. An attempt is saved before it is dialled, so
    ``created_at`` bounds the scan to the window."""
    counts = dict(
        attempts.filter(created_at__gte=first_day, started_at__gte=first_day)
        .annotate(day=TruncDate("started_at", tzinfo=first_day.tzinfo))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    days = (first_day.date() + timedelta(days=i) for i in range(DAILY_DAYS))
    return [(day, counts.get(day, 0)) for day in days]


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
