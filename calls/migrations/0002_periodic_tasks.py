from django.db import migrations


def install(apps, schema_editor):
    from django.conf import settings

    from calls.periodic import SWEEP_TASK_NAME

    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = IntervalSchedule.objects.get_or_create(
        every=settings.CALLS_SWEEP_SECONDS, period="seconds"
    )
    PeriodicTask.objects.update_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": "calls.tasks.sweep", "interval": schedule, "enabled": True},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
