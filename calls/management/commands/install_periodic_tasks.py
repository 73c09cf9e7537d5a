from django.core.management.base import BaseCommand

from calls.periodic import RETENTION_TASK_NAME, SWEEP_TASK_NAME, periodic_tasks_install


class Command(BaseCommand):
    help = "Install or update the call engine's periodic tasks (django-celery-beat)."

    def handle(self, *args, **options):
        periodic_tasks_install()
        for name in (SWEEP_TASK_NAME, RETENTION_TASK_NAME):
            self.stdout.write(f"Installed periodic task: {name}")
