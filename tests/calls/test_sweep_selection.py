"""What the sweep visits (issue 18): the accounts it dispatches and the campaigns it defers
are chosen by one statement each, never by a dispatch per account with a running campaign."""

from datetime import timedelta

import pytest
from django.utils import timezone

from batches.jobs import batches_due_before
from batches.models import Batch, Job
from callcenter.db import orm_only
from calls.sweep import accounts_with_due_work
from tests.factories import AccountFactory, BatchFactory, JobFactory

pytestmark = pytest.mark.django_db


def running(account, **kwargs):
    return BatchFactory(account=account, status=Batch.Status.RUNNING, **kwargs)


def test_only_accounts_with_a_due_job_and_a_free_slot_are_dispatched():
    now = timezone.now()
    due = AccountFactory(max_concurrent_calls=1)
    JobFactory(batch=running(due), next_try_at=None)
    JobFactory(batch=running(due), next_try_at=now - timedelta(minutes=1))
    later = AccountFactory()  # its running campaign's jobs are deferred to tomorrow
    JobFactory(batch=running(later), next_try_at=now + timedelta(days=1))
    published = AccountFactory(max_concurrent_calls=1)  # its due job is published already
    JobFactory(batch=running(published), enqueued_until=now + timedelta(minutes=5))
    JobFactory(batch=running(published), next_try_at=now + timedelta(hours=3))
    full = AccountFactory(max_concurrent_calls=1)  # its slot and lookahead are taken
    batch = running(full)
    JobFactory.create_batch(3, batch=batch, status=Job.Status.IN_PROGRESS,
                            reserved_until=now + timedelta(minutes=5))
    JobFactory(batch=batch)
    paused = AccountFactory()
    JobFactory(batch=BatchFactory(account=paused, status=Batch.Status.PAUSED))
    suspended = AccountFactory(status="suspended")
    JobFactory(batch=running(suspended))
    AccountFactory()  # idle: no campaign at all

    assert accounts_with_due_work(now=now) == [due.pk]
    # a job due within the sweep's look-ahead counts
    soon = AccountFactory()
    JobFactory(batch=running(soon), next_try_at=now + timedelta(seconds=10))
    assert accounts_with_due_work(now=now, due_by=now + timedelta(seconds=15)) == [
        due.pk, soon.pk]


def test_campaigns_with_jobs_due_before_their_opening_are_what_the_orm_finds():
    now = timezone.now()
    opens = now + timedelta(hours=10)
    due, deferred, undated, own_zone, empty = (running(AccountFactory()) for _ in range(5))
    JobFactory(batch=due, next_try_at=now - timedelta(minutes=1))
    JobFactory(batch=deferred, next_try_at=opens)
    JobFactory(batch=deferred, next_try_at=now, status=Job.Status.DONE)
    JobFactory(batch=undated, next_try_at=None)
    job = JobFactory(batch=own_zone, next_try_at=now)
    Job.objects.filter(pk=job.pk).update(contact={**job.contact, "timezone": "Pacific/Easter"})
    openings = {b.pk: opens for b in (due, deferred, undated, own_zone, empty)}

    written = batches_due_before(openings=openings)
    with orm_only():
        orm = batches_due_before(openings=openings)
    assert written == orm == {due.pk, undated.pk}
    assert batches_due_before(openings={}) == set()


def test_pending_jobs_of_cancelled_campaigns_are_cancelled_and_no_other():
    from calls.sweep import jobs_cancel_orphaned_expired

    cancelled = BatchFactory(account=AccountFactory(), status=Batch.Status.CANCELLED)
    left, done = JobFactory(batch=cancelled), JobFactory(batch=cancelled,
                                                          status=Job.Status.DONE)
    other = JobFactory(batch=running(AccountFactory()))
    assert jobs_cancel_orphaned_expired() == 1
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {left.pk: Job.Status.CANCELLED, done.pk: Job.Status.DONE,
                        other.pk: Job.Status.PENDING}
    with orm_only():
        assert jobs_cancel_orphaned_expired() == 0
