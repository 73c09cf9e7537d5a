"""batches.services.control: pause/resume and edits of a running batch, cancelling it, and
what each change logs."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from batches import services
from batches.models import Batch, Job
from calls import campaigns
from tests.factories import BatchFactory, JobFactory

# --- control ---------------------------------------------------------------------------------


def test_pause_is_visible_to_the_engine_at_once(account_a, client_a):
    batch = BatchFactory(account=account_a)
    services.batch_set_active(batch=batch, is_active=False, user=client_a)
    fresh = Batch.objects.get(pk=batch.pk)
    assert not fresh.is_dialable and fresh.status == "paused"
    assert (batch.status, batch.is_active) == ("paused", False)  # caller's instance refreshed


def test_set_active_without_change_logs_nothing(account_a):
    batch = BatchFactory(account=account_a)
    services.batch_set_active(batch=batch, is_active=True, user=None)
    assert not batch.events.exists()


def test_resume_dispatches_after_commit(funded_a, account_a, published,
                                        django_capture_on_commit_callbacks):
    batch = BatchFactory(account=account_a, status="paused", is_active=False)
    job = JobFactory(batch=batch)
    with django_capture_on_commit_callbacks(execute=True):
        services.batch_set_active(batch=batch, is_active=True, user=None)
    assert published == [job.pk]
    assert batch.events.get().kind == "resumed" and batch.events.get().user is None


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_finished_batches_cannot_resume_or_change_settings(account_a, status):
    batch = BatchFactory(account=account_a, status=status, is_active=False)
    with pytest.raises(services.BatchError):
        services.batch_set_active(batch=batch, is_active=True, user=None)
    with pytest.raises(services.BatchError):
        services.batch_update_settings(batch=batch, call_settings={"max_attempts": 4}, user=None)


def test_settings_change_diff_and_window_reset(account_a, client_a):
    batch = BatchFactory(account=account_a)
    later = timezone.now() + timedelta(days=1)
    waiting = JobFactory(batch=batch, next_try_at=later)
    other = BatchFactory(account=account_a)
    untouched = JobFactory(batch=other, next_try_at=later)

    services.batch_update_settings(
        batch=batch, call_settings={"days_of_week": [1, 2, 3]}, user=client_a
    )

    event = batch.events.get(kind="settings_changed")
    assert event.data["changes"] == {"days_of_week": {"from": None, "to": [1, 2, 3]}}
    assert event.data["jobs_made_due"] == 1 and event.user == client_a
    assert "days_of_week" in event.message
    waiting.refresh_from_db()
    untouched.refresh_from_db()
    assert waiting.next_try_at <= timezone.now() and untouched.next_try_at == later


def test_non_window_change_keeps_deferred_jobs(account_a):
    batch = BatchFactory(account=account_a)
    later = timezone.now() + timedelta(days=1)
    job = JobFactory(batch=batch, next_try_at=later)
    services.batch_update_settings(batch=batch, call_settings={"ring_timeout": 30}, user=None)
    job.refresh_from_db()
    assert job.next_try_at == later


def test_settings_priority_moves_the_batch_priority(account_a):
    batch = BatchFactory(account=account_a)
    services.batch_update_settings(batch=batch, call_settings={"priority": "low"}, user=None)
    batch.refresh_from_db()
    assert (batch.priority, batch.priority_rank) == ("low", 0)


def test_cancel_is_one_update_and_idempotent(account_a, django_assert_max_num_queries):
    batch = BatchFactory(account=account_a)
    for _ in range(20):
        JobFactory(batch=batch)
    with django_assert_max_num_queries(7):  # whatever the jobs: one update, one count
        _batch, cancelled, in_call = campaigns.batch_cancel(batch=batch, user=None)
    assert (cancelled, in_call) == (20, 0)
    assert (batch.status, batch.is_active) == ("cancelled", False)
    assert campaigns.batch_cancel(batch=batch, user=None)[1] == 0
    assert batch.events.filter(kind="cancelled").count() == 1
    assert batch.events.get(kind="cancelled").message == (
        "Campaign cancelled: 20 pending jobs cancelled.")


def test_cancel_message_counts_in_the_singular_and_in_spanish(account_a):
    batch = BatchFactory(account=account_a)
    JobFactory(batch=batch)
    with translation.override("es-cl"):
        campaigns.batch_cancel(batch=batch, user=None)
        assert batch.events.get(kind="cancelled").message == (
            "Campaña cancelada: 1 gestión pendiente cancelada.")


def test_events_are_stored_as_codes_and_read_in_the_readers_language(account_a):
    """An event written by a Spanish worker reads in English to an English admin (issue 15)."""
    batch = BatchFactory(account=account_a)
    job = JobFactory(batch=batch, status=Job.Status.FAILED, last_error="max_attempts")
    with translation.override("es-cl"):
        campaigns.batch_cancel(batch=batch, user=None)
    event = batch.events.get(kind="cancelled")
    assert event.detail == "" and event.data["jobs_cancelled"] == 0
    with translation.override("en"):
        assert event.message == "Campaign cancelled: 0 pending jobs cancelled."
        assert job.get_last_error_display() == "maximum attempts reached"
    with translation.override("es-cl"):
        assert event.message == "Campaña cancelada: 0 gestiones pendientes canceladas."
        assert job.get_last_error_display() == "máximo de intentos"
