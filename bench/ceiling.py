"""The ceiling of a task, for bench/dispatch.py: the most tasks/s the workers can run at all.

``probe_database`` does nothing but one PostgreSQL round trip; the worker loads it with
``--include bench.ceiling``.
"""

from celery import shared_task

from callcenter.queues import DIAL


# On the dial queue, as the engine's process_job it is compared with.
@shared_task(acks_late=True, queue=DIAL)
def probe_database(job_id: int) -> None:
    """One UPDATE that changes nothing (``attempts = attempts``): a real round trip."""
    from django.db.models import F

    from batches.models import Job

    Job.objects.filter(pk=job_id).update(attempts=F("attempts"))
