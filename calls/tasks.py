"""Celery tasks: thin wrappers that take ids and call services."""

import logging
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import task_postrun, task_prerun, worker_init
from django.db import InterfaceError, OperationalError, close_old_connections

from batches import services as batch_services
from calls import retention, services
from calls import sweep as sweep_services

logger = logging.getLogger(__name__)

# A dropped database connection fails the task cleanly; it is retried, and whatever it had
# claimed is recovered by the sweep when its lease expires.
DB_ERRORS = (OperationalError, InterfaceError)


@task_prerun.connect
@task_postrun.connect
def close_broken_connections(sender=None, **kwargs):
    """Around every task, as Django does around every request: close a database connection
    that failed or outlived CONN_MAX_AGE (with CONN_HEALTH_CHECKS, one dropped while the
    worker was idle is found at its first query). Workers keep their connection between
    tasks (CELERY_DB_REUSE_MAX), so without this a connection dropped by PostgreSQL (a
    restart, a failover, pg_terminate_backend) stays broken and every later task of that
    worker fails with "the connection is closed". Eager tasks run inside the caller's
    transaction and are left alone."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@worker_init.connect
def import_retell_sdk(**kwargs):
    """Before the worker takes its first message (prefork children inherit it): the SDK takes
    over a second of CPU to import, which the first dial of every worker paid, so one freed
    call slot per worker was refilled that much late."""
    started = time.perf_counter()
    import retell  # noqa: F401

    logger.info("retell SDK imported in %.2f s", time.perf_counter() - started)


@shared_task(acks_late=True, autoretry_for=DB_ERRORS, retry_backoff=2, retry_jitter=True,
             max_retries=5)
def process_job(job_id: int) -> str:
    result = services.job_process(job_id=job_id)
    logger.info("process_job job=%s -> %s", job_id, result)
    return result


@shared_task(acks_late=True, autoretry_for=DB_ERRORS, retry_backoff=2, max_retries=3)
def sweep() -> dict:
    result = sweep_services.sweep()
    logger.info("sweep %s", result)
    return result



# Up to an hour (the default limits are the engine's 60/90 s); stopped there, the next day's run
# goes on where it stopped: every chunk is its own transaction.
@shared_task(acks_late=True, autoretry_for=DB_ERRORS, retry_backoff=60, max_retries=3,
             soft_time_limit=55 * 60, time_limit=60 * 60)
def purge_expired_records() -> dict:
    """Daily (calls.periodic): the admin's uploads never confirmed (past their 6 hours: else
    they would wait for the next upload to go), then the retention policy over every
    account. A second run while one is going (a redelivered message) exits at once."""
    uploads = batch_services.uploads_purge_expired()
    try:
        found = retention.purge_expired_records()
    except retention.PurgeRunning:
        logger.info("purge_expired_records: another purge is running")
        return {"skipped": True}
    except SoftTimeLimitExceeded:
        logger.warning("purge_expired_records: stopped at its time limit; the next run goes on")
        return {"stopped": True}
    result = {"uploads": uploads, "accounts": len(found),
              "attempts": sum(r.attempts for r in found),
              "jobs": sum(r.jobs for r in found), "campaigns": sum(r.campaigns for r in found),
              "ledger_entries": sum(r.ledger_entries for r in found)}
    logger.info("purge_expired_records %s", result)
    return result
