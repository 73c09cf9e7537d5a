"""When a recurring campaign runs again: ``recurring_config`` checked, and its occurrences.

Occurrences are counted from the campaign's first start (``scheduled_at``) in the campaign's
time zone, so "daily at 10:00" stays at 10:00 local time across daylight-saving changes, and a
monthly campaign started on the 31st runs on the last day of shorter months.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

FREQUENCIES = ("daily", "weekly", "monthly")
MAX_INTERVAL = 365
MAX_RUNS = 1_000
_KEYS = {"frequency", "interval", "end_date", "max_runs"}


def recurring_config_clean(config) -> tuple[dict, dict[str, list]]:
    """(cleaned config, errors by dotted field). ``frequency`` daily|weekly|monthly (any case),
    ``interval`` 1-365 (default 1), optional ``end_date`` (YYYY-MM-DD, the last local day a run
    may start) and ``max_runs`` (runs in all, the first included)."""
    if not isinstance(config, dict):
        return {}, {"recurring_config": [_("Must be an object.")]}
    errors: dict[str, list] = {}
    for key in config.keys() - _KEYS:
        errors[f"recurring_config.{key}"] = [_("Unknown field.")]
    frequency = config.get("frequency")
    if not isinstance(frequency, str) or frequency.lower() not in FREQUENCIES:
        errors["recurring_config.frequency"] = [
            _("Must be one of: %(choices)s.") % {"choices": ", ".join(FREQUENCIES)}]
    cleaned = {"frequency": str(frequency).lower(), "interval": config.get("interval", 1)}
    if not _whole(cleaned["interval"], 1, MAX_INTERVAL):
        errors["recurring_config.interval"] = [
            _("Must be a whole number from 1 to %(max)s.") % {"max": MAX_INTERVAL}]
    cleaned["interval"] = _as_int(cleaned["interval"])
    if config.get("max_runs") is not None:
        if not _whole(config["max_runs"], 1, MAX_RUNS):
            errors["recurring_config.max_runs"] = [
                _("Must be a whole number from 1 to %(max)s.") % {"max": MAX_RUNS}]
        cleaned["max_runs"] = _as_int(config["max_runs"])
    if config.get("end_date") is not None:
        try:
            cleaned["end_date"] = date.fromisoformat(config["end_date"]).isoformat()
        except (TypeError, ValueError):
            errors["recurring_config.end_date"] = [_("Must be a date, YYYY-MM-DD.")]
    return cleaned, errors


def _whole(value, low: int, high: int) -> bool:
    """A whole number (2 or 2.0, as JSON numbers come) within [low, high]."""
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and float(value).is_integer() and low <= value <= high)


def _as_int(value):
    return int(value) if _whole(value, 0, 10**9) else value


def _add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def occurrence(*, config: dict, anchor: datetime, timezone: str, index: int) -> datetime:
    """The ``index``-th start (0 = ``anchor``) in UTC: the anchor's local wall time moved by
    index × interval days, weeks or months in ``timezone``."""
    local = anchor.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
    steps = index * config["interval"]
    if config["frequency"] == "monthly":
        moved = _add_months(local, steps)
    else:
        moved = local + timedelta(days=steps * (7 if config["frequency"] == "weekly" else 1))
    # A wall time skipped by a DST change resolves forward (fold=0), one repeated to its first.
    return moved.replace(tzinfo=ZoneInfo(timezone)).astimezone(ZoneInfo("UTC"))


def next_run_after(*, config: dict, anchor: datetime, timezone: str, after: datetime,
                   runs: int) -> datetime | None:
    """The first occurrence later than ``after`` for a campaign that has had ``runs`` runs,
    or None when ``max_runs`` or ``end_date`` allows no more. Occurrences missed while
    nothing ran (paused, the beat down) are skipped, never run in a burst."""
    if config.get("max_runs") is not None and runs >= config["max_runs"]:
        return None
    elapsed_days = max((after - anchor).days, 0)
    per_step = {"daily": 1, "weekly": 7, "monthly": 31}[config["frequency"]] * config["interval"]
    index = max(elapsed_days // per_step, 1)  # never before the estimate: 31 ≥ any month
    while (when := occurrence(config=config, anchor=anchor, timezone=timezone,
                              index=index)) <= after:
        index += 1
    end = config.get("end_date")
    if end is not None and when.astimezone(ZoneInfo(timezone)).date() > date.fromisoformat(end):
        return None
    return when
