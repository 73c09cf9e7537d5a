"""The periodic tasks, defined in code and installed with update_or_create (never recreated),
so operators can see and tune them in the admin."""

from django.conf import settings

SWEEP_TASK_NAME = "calls: sweep due jobs, leases, stale calls"


def periodic_tasks_install() -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=settings.CALLS_SWEEP_SECONDS, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": "calls.tasks.sweep", "interval": schedule, "enabled": True,
                  "expires": None, "one_off": False},
    )
