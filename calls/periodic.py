"""The periodic tasks, defined in code and installed with update_or_create (never recreated),
so operators can see and tune them in the admin."""

from django.conf import settings

SWEEP_TASK_NAME = "calls: sweep due jobs, leases, stale calls"
RETENTION_TASK_NAME = "calls: purge records past their retention period"


def periodic_tasks_install() -> None:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=settings.CALLS_SWEEP_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": "calls.tasks.sweep", "interval": schedule, "enabled": True,
                  "expires": None, "one_off": False},
    )
    # Daily at 03:30 UTC, the quietest hour of Chilean calling (no campaign dials at night).
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.update_or_create(
        name=RETENTION_TASK_NAME,
        defaults={"task": "calls.tasks.purge_expired_records", "crontab": nightly,
                  "interval": None, "enabled": True, "expires": None, "one_off": False},
    )
