"""The retention policy: call records older than their account's retention period
(``Account.record_retention_months``, 24 months by default and at least) are removed, and the
ledger entries as old are replaced by one summary entry.

Per account, from the cutoff (now minus the period):

1. call attempts (with their transcripts, recordings' addresses and analyses) of finished
   campaigns that ended before the cutoff; never a call in progress (its hold is open), never
   one of a campaign still pending, running or paused, nor of a recurring campaign that goes
   on (``batches.services.retention``);
2. then the finished jobs of those campaigns last changed before the cutoff with no call left
   (their events go with them);
3. then those campaigns finished before the cutoff with no job and no run left (their events
   and counters go with them);
4. ledger entries dated before the cutoff, replaced by the account's one summary entry per
   unit (``accounts.services.ledger_summarize_chunk``): the balance equals the ledger's sum at
   every commit.

Every step works in chunks of ``batch_size`` rows, each its own short transaction whose rows
are locked with SKIP LOCKED (never waited for); killed midway, a run leaves a consistent
database and the next one goes on from there; a second run finds nothing. The campaign
counters (``batches.JobCount``, ``calls.AttemptTotal``) follow the rows, kept by their
triggers: a campaign's figures count the records it still has. Imported-file figures
(``total_rows``, ``total_jobs``...) and ``Account.total_spent`` are lifetime values and stay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import Account, LedgerEntry
from batches import services as batch_services
from batches.models import Job
from calls import queries
from calls.models import CallAttempt

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5_000
# Attempts that are over: no call in progress, no hold open.
CLOSED_STATUSES = (CallAttempt.Status.ENDED, CallAttempt.Status.FAILED,
                   CallAttempt.Status.PROVIDER_ERROR)


@dataclass
class AccountPurge:
    """What was (or, in a dry run, would be) removed of one account."""

    account_id: int
    account_key: str
    cutoff: datetime
    attempts: int = 0
    jobs: int = 0
    campaigns: int = 0
    ledger: list[account_selectors.LedgerExpiry] = field(default_factory=list)
    ledger_entries: int = 0  # removed (a real run)
    longest: dict[str, float] = field(default_factory=dict)  # seconds, per kind of chunk

    @property
    def longest_chunk_seconds(self) -> float:
        return max(self.longest.values(), default=0.0)

    @property
    def empty(self) -> bool:
        return not (self.attempts or self.jobs or self.campaigns or self.ledger
                    or self.ledger_entries)


class PurgeRunning(Exception):
    """Another purge holds the lock: one runs at a time."""


def _expired_attempts(*, batch_ids: list[int], cutoff: datetime):
    ended_before = Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, updated_at__lt=cutoff)
    return CallAttempt.objects.filter(ended_before, batch_id__in=batch_ids,
                                      status__in=CLOSED_STATUSES)


def _kept_attempts(*, cutoff: datetime):
    """Attempts of a job that stay: in progress, or ended on or after the cutoff."""
    expired = Q(status__in=CLOSED_STATUSES) & (
        Q(ended_at__lt=cutoff) | Q(ended_at__isnull=True, updated_at__lt=cutoff))
    return CallAttempt.objects.filter(job_id=OuterRef("pk")).exclude(expired)


def _attempts_chunk(*, batch_ids, cutoff, limit: int) -> int:
    with transaction.atomic():
        locked = batch_services.retention_batches_lock(batch_ids=batch_ids)
        ids = list(_expired_attempts(batch_ids=locked, cutoff=cutoff)
                   .select_for_update(skip_locked=True)
                   .values_list("id", flat=True)[:limit])
        if ids:
            CallAttempt.objects.filter(id__in=ids).delete()
        return len(ids)


def _jobs_chunk(*, batch_ids, cutoff, limit: int) -> int:
    with transaction.atomic():
        locked = batch_services.retention_batches_lock(batch_ids=batch_ids)
        jobs = batch_services.retention_jobs(batch_ids=locked, cutoff=cutoff)
        ids = list(jobs.filter(~Exists(CallAttempt.objects.filter(job_id=OuterRef("pk"))))
                   .select_for_update(skip_locked=True, of=("self",))
                   .values_list("id", flat=True)[:limit])
        if ids:
            batch_services.retention_jobs_delete(job_ids=ids)
        return len(ids)


def _campaigns_chunk(*, batch_ids, cutoff, limit: int) -> int:
    with transaction.atomic():
        locked = batch_services.retention_batches_lock(batch_ids=batch_ids)
        campaigns = batch_services.retention_batches(batch_ids=locked, cutoff=cutoff)
        ids = list(campaigns.values_list("id", flat=True)[:limit])
        if ids:
            # Events, job counters and call totals cascade.
            campaigns.model.objects.filter(id__in=ids).delete()
        return len(ids)


def _repeat(chunk: Callable[..., int], report: AccountPurge, kind: str, **kwargs) -> int:
    """Run ``chunk`` until it removes nothing (SKIP LOCKED may leave rows for the next run),
    noting its longest transaction (the longest any of its row locks is held)."""
    total = 0
    while True:
        started = time.perf_counter()
        removed = chunk(**kwargs)
        took = time.perf_counter() - started
        report.longest[kind] = max(report.longest.get(kind, 0.0), took)
        total += removed
        if removed == 0:
            return total


def _dry_run(account: Account, report: AccountPurge, batch_ids: list[int]) -> None:
    cutoff = report.cutoff
    report.attempts = _expired_attempts(batch_ids=batch_ids, cutoff=cutoff).count()
    going = (batch_services.retention_jobs(batch_ids=batch_ids, cutoff=cutoff)
             .filter(~Exists(_kept_attempts(cutoff=cutoff))))
    report.jobs = going.count()
    # Campaigns left empty (a recurring campaign's parent counts only when it has no run at
    # all; one whose runs all go is removed by the run after).
    staying = Job.objects.filter(batch_id=OuterRef("pk")).exclude(id__in=going.values("id"))
    report.campaigns = (batch_services.retention_batches(batch_ids=batch_ids, cutoff=cutoff,
                                                         jobs=staying).count())
    report.ledger = account_selectors.ledger_expired(account_id=account.pk, cutoff=cutoff)


def account_purge(*, account: Account, now: datetime, dry_run: bool = False,
                  batch_size: int = DEFAULT_BATCH_SIZE) -> AccountPurge:
    """Remove (or count, ``dry_run``) one account's expired records; see the module."""
    cutoff = account_selectors.retention_cutoff(account=account, now=now)
    report = AccountPurge(account_id=account.pk, account_key=account.account_id, cutoff=cutoff)
    batch_ids = batch_services.retention_batch_ids(account_id=account.pk, cutoff=cutoff)
    if dry_run:
        _dry_run(account, report, batch_ids)
        return report
    if batch_ids:
        report.attempts = _repeat(_attempts_chunk, report, "attempts", batch_ids=batch_ids,
                                  cutoff=cutoff, limit=batch_size)
        report.jobs = _repeat(_jobs_chunk, report, "jobs", batch_ids=batch_ids,
                              cutoff=cutoff, limit=batch_size)
        # Runs first, then (next pass) a recurring campaign they leave without runs.
        report.campaigns = _repeat(_campaigns_chunk, report, "campaigns",
                                   batch_ids=batch_ids, cutoff=cutoff, limit=batch_size)
    report.ledger = account_selectors.ledger_expired(account_id=account.pk, cutoff=cutoff)
    for unit in LedgerEntry.Unit.values:
        report.ledger_entries += _repeat(account_services.ledger_summarize_chunk, report,
                                         "ledger", account_id=account.pk, unit=unit, cutoff=cutoff,
                                         limit=batch_size)
    return report


def purge_expired_records(*, account_id: int | None = None, dry_run: bool = False,
                          batch_size: int = DEFAULT_BATCH_SIZE, now: datetime | None = None,
                          on_account: Callable[[AccountPurge], None] | None = None,
                          ) -> list[AccountPurge]:
    """Every account's (or one's) expired records removed, or counted with ``dry_run``.
    Returns the accounts where something was (would be) removed; ``on_account`` sees each as
    it is done. Raises ``PurgeRunning`` when another purge runs (a dry run does not care)."""
    now = now or timezone.now()
    accounts = Account.objects.order_by("id").only("id", "account_id",
                                                   "record_retention_months")
    if account_id is not None:
        accounts = accounts.filter(pk=account_id)
    found = []
    with _one_at_a_time(dry_run):
        for account in list(accounts):
            report = account_purge(account=account, now=now, dry_run=dry_run,
                                   batch_size=batch_size)
            if report.empty:
                continue
            found.append(report)
            if on_account is not None:
                on_account(report)
            if not dry_run:
                logger.info("retention account=%s cutoff=%s attempts=%s jobs=%s campaigns=%s "
                            "ledger_entries=%s", report.account_key, report.cutoff.isoformat(),
                            report.attempts, report.jobs, report.campaigns,
                            report.ledger_entries)
    return found


class _one_at_a_time:
    """A session-level advisory lock on PostgreSQL (released by a dying connection too)."""

    def __init__(self, dry_run: bool):
        self.held = False
        self.dry_run = dry_run

    def __enter__(self):
        if self.dry_run or connection.vendor != "postgresql":
            return self
        with connection.cursor() as db:
            db.execute(queries.RETENTION_LOCK_SQL, [queries.RETENTION_LOCK_KEY])
            self.held = db.fetchone()[0]
        if not self.held:
            raise PurgeRunning("another purge of expired records is running")
        return self

    def __exit__(self, *exc):
        if self.held:
            with connection.cursor() as db:
                db.execute(queries.RETENTION_UNLOCK_SQL, [queries.RETENTION_LOCK_KEY])
