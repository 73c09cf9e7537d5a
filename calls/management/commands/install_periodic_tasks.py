from django.core.management.base import BaseCommand

from calls.periodic import SWEEP_TASK_NAME, periodic_tasks_install


class Command(BaseCommand):
    help = "Install or update the call engine's periodic tasks (django-celery-beat)."

    def handle(self, *args, **options):
        periodic_tasks_install()
        self.stdout.write(f"Installed periodic task: {SWEEP_TASK_NAME}")
