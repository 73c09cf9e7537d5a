"""The call engine's rules, driven through services against the Retell simulator."""

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Account, DoNotCall, LedgerEntry
from batches.jobs import job_claim
from batches.models import Batch, BatchEvent, Job, JobEvent
from batches.reasons import JobReason as outcomes
from callcenter.db import orm_only
from calls.dispatch import dispatch_account
from calls.exports import results_queryset
from calls.models import CallAttempt
from calls.services import job_process, job_process_claimed
from calls.settlement import call_update
from calls.sweep import jobs_recover_expired, sweep
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory

pytestmark = pytest.mark.django_db


def ledger_sum(account, unit="credits"):
    return LedgerEntry.objects.filter(account=account, unit=unit).aggregate(s=Sum("amount"))["s"]


@pytest.fixture
def account():
    acct = AccountFactory(max_concurrent_calls=5, cost_per_call_setup=Decimal("5"),
                          cost_per_minute=Decimal("60"))
    account_services.account_topup(account=acct, credits=Decimal("10000"), reference="t")
    acct.refresh_from_db()
    return acct


@pytest.fixture
def job(account):
    batch = BatchFactory(account=account)
    return JobFactory(batch=batch, contact={
        "name": "Juan Soto", "phones": ["+56912345671", "+56912345672"],
        "next_phone_index": 0, "invalid_phones": [],
    }, payload={"debt_amount": "150000.00", "due_date": "2025-03-01",
                "company_name": "Retail SpA", "installments": 3,
                "additional_info": {"Sucursal": "Maipú", "Cuotas": 3}})


def end(sim, attempt, reason):
    """End the simulated call with a reason and apply the call object (as a webhook would)."""
    sim.end_call(attempt.call_id, reason)
    return call_update(call=sim.get_call(attempt.call_id), event="call_ended")


def test_dials_with_the_full_retell_request(sim, job, account):
    assert job_process(job_id=job.pk) == "dialled"
    attempt = CallAttempt.objects.get(job=job)
    assert attempt.status == CallAttempt.Status.REGISTERED
    assert attempt.idempotency_key == f"job-{job.pk}-attempt-1"
    job.refresh_from_db()
    assert job.status == Job.Status.IN_PROGRESS and job.attempts == 1
    call = sim.get_call(attempt.call_id)
    assert call["to_number"] == "+56912345671"
    assert call["metadata"] == {"job_id": job.pk, "batch_id": job.batch.batch_id,
                                "account_id": account.account_id, "attempt": 1}
    variables = call["retell_llm_dynamic_variables"]
    assert variables["nombre"] == "Juan Soto" and variables["monto_total"] == "150000.00"
    assert variables["Sucursal"] == "Maipú" and variables["cuotas_adeudadas"] == "3"
    assert all(isinstance(v, str) for v in variables.values())
    # The hold covers the longest allowed call: setup 5 + 60/min * 10 min.
    hold = LedgerEntry.objects.get(account=account, kind=LedgerEntry.Kind.RESERVATION)
    assert hold.amount == Decimal("-605")


def test_a_duplicated_message_never_places_a_second_call(sim, job):
    assert job_process(job_id=job.pk) == "dialled"
    assert job_process(job_id=job.pk) == "not_claimed"
    assert sim.stats()["calls_created"] == 1


def test_answered_call_settles_and_completes_the_job(sim, job, account):
    job_process(job_id=job.pk)
    attempt = CallAttempt.objects.get(job=job)
    sim.configure(talk_ms=0)
    assert end(sim, attempt, "user_hangup") == "finished"
    attempt.refresh_from_db()
    job.refresh_from_db()
    account.refresh_from_db()
    assert job.status == Job.Status.DONE and attempt.outcome == CallAttempt.Outcome.CONTACT
    assert attempt.cost == account_services.call_cost(
        account=account, seconds=attempt.duration_seconds, answered=True)
    assert account.credits == Decimal("10000") - attempt.cost
    assert account.credits == ledger_sum(account)
    assert account.total_spent == attempt.cost
    # A duplicated call_ended changes nothing.
    assert call_update(call=sim.get_call(attempt.call_id), event="call_ended") == "ignored"
    account.refresh_from_db()
    assert account.credits == ledger_sum(account) == Decimal("10000") - attempt.cost


def test_no_answer_retries_next_phone_after_delay_then_fails_at_max(sim, job, account):
    for n in range(1, 4):
        assert job_process(job_id=job.pk) == "dialled"
        attempt = CallAttempt.objects.get(job=job, attempt_number=n)
        assert attempt.phone == ("+56912345671" if n % 2 else "+56912345672")
        end(sim, attempt, "dial_no_answer")
        job.refresh_from_db()
        attempt.refresh_from_db()
        if n < 3:
            assert job.status == Job.Status.PENDING
            assert job.next_try_at >= attempt.ended_at + timedelta(hours=30)
            Job.objects.filter(pk=job.pk).update(next_try_at=timezone.now())
    assert job.status == Job.Status.FAILED and job.last_error == outcomes.FAIL_MAX_ATTEMPTS
    assert job.attempts == 3
    account.refresh_from_db()
    # Unanswered calls pay only the setup fee.
    assert account.credits == Decimal("10000") - 3 * account.cost_per_call_setup
    assert account.credits == ledger_sum(account)


def test_invalid_number_is_skipped_and_the_job_fails_without_phones(sim, job):
    job_process(job_id=job.pk)
    end(sim, CallAttempt.objects.get(job=job, attempt_number=1), "invalid_destination")
    job.refresh_from_db()
    assert job.contact["invalid_phones"] == ["+56912345671"]
    assert job.status == Job.Status.PENDING
    job_process(job_id=job.pk)
    second = CallAttempt.objects.get(job=job, attempt_number=2)
    assert second.phone == "+56912345672"
    end(sim, second, "dial_failed")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.last_error == outcomes.FAIL_NO_PHONE


def test_do_not_call_request_suppresses_phone_and_rut(sim, job, account):
    job_process(job_id=job.pk)
    end(sim, CallAttempt.objects.get(job=job), "user_requested_dnc")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert DoNotCall.objects.filter(account=account, rut=job.rut).exists()
    assert DoNotCall.objects.filter(account=account, phone="+56912345671").exists()
    other = JobFactory(batch=job.batch, rut=job.rut, deduplication_key="other")
    assert job_process(job_id=other.pk) == "do_not_call"
    assert sim.stats()["calls_created"] == 1


def test_provider_outcome_gives_the_attempt_back(sim, job):
    job_process(job_id=job.pk)
    end(sim, CallAttempt.objects.get(job=job), "error_llm_websocket_open")
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.attempts == 0
    assert job.last_error == outcomes.WAIT_PROVIDER


def test_paused_batch_releases_untouched(sim, job):
    Batch.objects.filter(pk=job.batch_id).update(is_active=False, status=Batch.Status.PAUSED)
    before = job.next_try_at
    assert job_process(job_id=job.pk) == "paused"
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.next_try_at == before
    assert job.attempts == 0 and sim.stats()["calls_created"] == 0


def test_cancelled_batch_cancels_the_job(sim, job):
    Batch.objects.filter(pk=job.batch_id).update(status=Batch.Status.CANCELLED)
    assert job_process(job_id=job.pk) == "cancelled"
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


def cancel_by_api(batch) -> dict:
    api = APIClient()
    api.force_authenticate(UserFactory(account=batch.account))
    response = api.post(f"/api/v1/batches/{batch.batch_id}/cancel")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("meanwhile", ["cancelled", "paused", "account_suspended"])
def test_a_do_not_call_request_is_kept_whatever_happened_during_the_call(sim, job, account,
                                                                         meanwhile):
    """Issue 14.1: the outcome of a call is applied in full, whatever its campaign became."""
    assert job_process(job_id=job.pk) == "dialled"
    attempt = CallAttempt.objects.get(job=job)
    if meanwhile == "cancelled":
        assert cancel_by_api(job.batch)["jobs_cancelled"] == 0
    elif meanwhile == "paused":
        Batch.objects.filter(pk=job.batch_id).update(is_active=False,
                                                     status=Batch.Status.PAUSED)
    else:
        Account.objects.filter(pk=account.pk).update(status=Account.Status.SUSPENDED)
    sim.configure(talk_ms=0)
    assert end(sim, attempt, "user_requested_dnc") == "finished"

    assert DoNotCall.objects.filter(account=account, phone="+56912345671").exists()
    assert DoNotCall.objects.filter(account=account, rut=job.rut).exists()
    job.refresh_from_db()
    attempt.refresh_from_db()
    assert (job.status, job.last_outcome) == (Job.Status.DONE, "user_requested_dnc")
    assert attempt.outcome == CallAttempt.Outcome.DO_NOT_CALL  # counted by the weekly limits
    account.refresh_from_db()
    assert account.credits == Decimal("10000") - attempt.cost == ledger_sum(account)
    # A new campaign with the same debtor never dials them.
    Account.objects.filter(pk=account.pk).update(status=Account.Status.ACTIVE)
    again = JobFactory(batch=BatchFactory(account=account), rut=job.rut, contact=job.contact)
    assert job_process(job_id=again.pk) == "do_not_call"
    assert sim.stats()["calls_created"] == 1


def test_a_do_not_call_request_is_kept_for_a_job_that_moved_on(sim, job, account):
    """A call found placed after its job was cancelled (a create answered too late)."""
    job_process(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.CANCELLED, reserved_until=None)
    assert end(sim, CallAttempt.objects.get(job=job), "user_requested_dnc") == "finished"
    assert DoNotCall.objects.filter(account=account, rut=job.rut).exists()
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED


def test_cancel_stops_what_has_not_started_and_live_calls_end_by_their_outcome(sim, account):
    """Issue 14.2: 5 jobs, 3 in a call, 1 claimed by a worker, 1 pending, then a cancel."""
    batch = BatchFactory(account=account)  # 3 attempts, 30 h between them
    phones = {"phones": ["+56912340001", "+56912340002"], "next_phone_index": 0}
    talked, unanswered, invalid, claimed, pending = (
        JobFactory(batch=batch, contact={"name": f"Deudor {n}", **phones}) for n in range(5))
    for job in (talked, unanswered, invalid):
        assert job_process(job_id=job.pk) == "dialled"
    claim = job_claim(job_id=claimed.pk)

    answer = cancel_by_api(batch)
    assert answer["jobs_cancelled"] == 2
    assert answer["jobs_in_call"] == 3
    # The worker holding the claimed job lost its lease: it never dials.
    assert job_process_claimed(claim) == "claim_lost"
    assert sim.stats()["calls_created"] == 3
    event = batch.events.get(kind=BatchEvent.Kind.CANCELLED)
    assert event.data == {"jobs_cancelled": 2, "jobs_in_call": 3}
    assert event.message == ("Campaign cancelled: 2 pending jobs cancelled. 3 calls in progress "
                             "finish; their outcomes decide their jobs' results.")

    sim.configure(talk_ms=0)
    for job, reason in ((talked, "user_hangup"), (unanswered, "dial_no_answer"),
                        (invalid, "invalid_destination")):
        assert end(sim, CallAttempt.objects.get(job=job), reason) == "finished"
    results = {row["id"]: (row["status"], row["last_outcome"], row["last_error"], row["calls"])
               for row in results_queryset(batch=batch)}
    assert results == {
        talked.pk: ("done", "user_hangup", "", 1),
        # Would have been retried: its result is the call's, its retries are cancelled.
        unanswered.pk: ("cancelled", "dial_no_answer", outcomes.CANCELLED, 1),
        invalid.pk: ("cancelled", "invalid_destination", outcomes.CANCELLED, 1),
        claimed.pk: ("cancelled", "", "", 0),
        pending.pk: ("cancelled", "", "", 0),
    }
    invalid.refresh_from_db()
    assert invalid.contact["invalid_phones"] == ["+56912340001"]
    batch.refresh_from_db()
    assert (batch.status, batch.is_active) == (Batch.Status.CANCELLED, False)
    assert sweep()["completed"] == 0  # a cancelled campaign stays cancelled
    assert sorted(JobEvent.objects.filter(job__batch=batch).values_list("kind", flat=True)) \
        == ["cancelled", "cancelled", "done"]


def test_a_live_call_on_its_last_attempt_fails_after_a_cancel(sim, job):
    Job.objects.filter(pk=job.pk).update(attempts=2)
    assert job_process(job_id=job.pk) == "dialled"
    cancel_by_api(job.batch)
    end(sim, CallAttempt.objects.get(job=job), "dial_busy")
    job.refresh_from_db()
    assert (job.status, job.last_error) == (Job.Status.FAILED, outcomes.FAIL_MAX_ATTEMPTS)


def test_scheduled_batch_waits_for_its_time(sim, job):
    later = timezone.now() + timedelta(hours=2)
    Batch.objects.filter(pk=job.batch_id).update(scheduled_at=later)
    assert job_process(job_id=job.pk) == "scheduled"
    job.refresh_from_db()
    assert job.next_try_at == later


def test_outside_window_defers_to_the_next_opening_without_an_attempt(sim, job, account):
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    # Santiago landlines: the profile's hours hold in America/Santiago (a mobile may be on
    # Easter Island, see tests/reliability/test_windows.py).
    job.contact["phones"] = ["+56223456781", "+56223456782"]
    job.save()
    # Sunday 2025-06-08 10:00 in Santiago (UTC-4): CL allows Monday-Saturday 08:00-20:00.
    with time_machine.travel(datetime(2025, 6, 8, 14, 0, tzinfo=UTC), tick=False):
        Job.objects.filter(pk=job.pk).update(next_try_at=timezone.now())
        assert job_process(job_id=job.pk) == "outside_window"
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.attempts == 0
    assert job.next_try_at == datetime(2025, 6, 9, 12, 0, tzinfo=UTC)  # Monday 08:00 local
    assert job.last_error == outcomes.WAIT_WINDOW
    assert sim.stats()["calls_created"] == 0


def test_contact_timezone_overrides_the_batch(sim, job, account):
    Account.objects.filter(pk=account.pk).update(compliance_profile="US")
    job.contact["timezone"] = "America/New_York"
    job.contact["phones"] = ["+12125550101"]  # New York: the number's zone too
    job.save()
    # 07:30 in New York (allowed in Santiago at 08:30 if it were Santiago time).
    with time_machine.travel(datetime(2025, 6, 10, 11, 30, tzinfo=UTC), tick=False):
        Job.objects.filter(pk=job.pk).update(next_try_at=timezone.now())
        assert job_process(job_id=job.pk) == "outside_window"
    job.refresh_from_db()
    assert job.next_try_at == datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def test_max_attempts_fails_without_calling(sim, job):
    Job.objects.filter(pk=job.pk).update(attempts=3)
    assert job_process(job_id=job.pk) == "max_attempts"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and sim.stats()["calls_created"] == 0


def test_insufficient_balance_waits_and_resumes_after_topup(sim, job, account):
    Account.objects.filter(pk=account.pk).update(credits=0)
    LedgerEntry.objects.filter(account=account).delete()
    assert job_process(job_id=job.pk) == "no_balance"
    job.refresh_from_db()
    assert job.status == Job.Status.PENDING and job.last_error == outcomes.WAIT_BALANCE
    account_services.account_topup(account=account, credits=Decimal("605"), reference="t2")
    assert job_process(job_id=job.pk) == "dialled"
    account.refresh_from_db()
    assert account.credits == Decimal("0") == ledger_sum(account)


def test_dispatch_skips_campaigns_the_balance_cannot_pay_for_until_a_topup(
        job, account, _no_publish, django_capture_on_commit_callbacks):
    """Jobs that could only be refused for balance are not published at every sweep; the
    campaign says why once, and a top-up publishes them at once."""
    Account.objects.filter(pk=account.pk).update(credits=0, compliance_profile="none")
    LedgerEntry.objects.filter(account=account).delete()
    account_services.account_topup(account=account, credits=Decimal("604"), reference="t")
    short_calls = BatchFactory(account=account, call_settings={
        **job.batch.call_settings, "max_call_duration": 60})
    cheap = JobFactory(batch=short_calls)  # hold 5 + 60 = 65 credits: affordable
    # Nothing due in this one (a retry tomorrow): nothing to say about it.
    JobFactory(batch=BatchFactory(account=account),
               next_try_at=timezone.now() + timedelta(days=1))

    with translation.override("es-cl"):  # the workers' language (LANGUAGE_CODE)
        assert dispatch_account(account_id=account.pk) == [cheap.pk]  # not the 605 credits
    waiting = BatchEvent.objects.filter(kind=BatchEvent.Kind.WAITING_BALANCE)
    assert [e.batch_id for e in waiting] == [job.batch_id]
    with translation.override("es-cl"):  # rendered in the reader's language
        assert "saldo" in waiting.get().message  # shipped in Spanish
    Job.objects.filter(pk=cheap.pk).update(status=Job.Status.DONE)
    assert dispatch_account(account_id=account.pk) == []
    assert waiting.count() == 1  # said once

    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_topup(account=account, credits=Decimal("1"), reference="t2")
    assert _no_publish[-1:] == [job.pk]
    assert dispatch_account(account_id=account.pk) == []  # already nudged


def test_unlimited_plans_are_dispatched_without_balance(job, account):
    Account.objects.filter(pk=account.pk).update(
        plan_type=Account.Plan.UNLIMITED, credits=0, minutes=0, compliance_profile="none")
    assert dispatch_account(account_id=account.pk) == [job.pk]
    assert not BatchEvent.objects.filter(kind=BatchEvent.Kind.WAITING_BALANCE).exists()


# Monday 2025-06-09 in Santiago (UTC-4); CL allows 08:00-20:00, i.e. from 12:00 UTC.
OPENING = datetime(2025, 6, 9, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("before, published", [(timedelta(seconds=10), True),
                                               (timedelta(seconds=20), False)])
def test_sweep_publishes_jobs_the_window_opens_for_before_the_next_sweep(
        job, account, settings, _no_publish, before, published):
    """Deferred to the 08:00 opening (as the engine leaves them), they are published by the
    sweep before it with a countdown to 08:00 sharp, not up to a sweep period late."""
    settings.CALLS_SWEEP_SECONDS = 15
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    Job.objects.filter(pk=job.pk).update(next_try_at=OPENING)
    with time_machine.travel(OPENING - before, tick=False):
        sweep()
    assert _no_publish == ([job.pk] if published else [])
    assert _no_publish.eta == ({job.pk: OPENING} if published else {})
    job.refresh_from_db()
    assert (job.enqueued_until is not None) is published


def test_jobs_due_later_in_the_sweep_period_start_on_their_due_time(
        job, account, settings, _no_publish):
    """A retry whose delay ends before the next sweep, in an open window: published now with
    its own due time; jobs due now go without one; a job due after the look-ahead waits."""
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    now = OPENING + timedelta(hours=2)
    due_now = JobFactory(batch=job.batch, next_try_at=now - timedelta(minutes=1))
    later = JobFactory(batch=job.batch, next_try_at=now + timedelta(hours=1))
    Job.objects.filter(pk=job.pk).update(next_try_at=now + timedelta(seconds=4))
    with time_machine.travel(now, tick=False):
        assert sorted(dispatch_account(account_id=account.pk,
                                       due_by=now + timedelta(seconds=15))) == [job.pk, due_now.pk]
    assert _no_publish == [due_now.pk, job.pk]
    assert _no_publish.eta == {job.pk: now + timedelta(seconds=4)}
    # Without a look-ahead (a call ended and freed its slot) only what is due now goes.
    with time_machine.travel(now, tick=False):
        assert dispatch_account(account_id=account.pk) == []
    later.refresh_from_db()
    assert later.enqueued_until is None
    # The message held until its due time finds the job claimable then, not before.
    with time_machine.travel(now + timedelta(seconds=3), tick=False):
        assert job_process(job_id=job.pk) == "not_claimed"


def test_minutes_plan_reserves_minutes(sim, job, account):
    Account.objects.filter(pk=account.pk).update(plan_type=Account.Plan.MINUTES)
    account_services.account_topup(account=account, minutes=Decimal("30"), reference="m")
    job_process(job_id=job.pk)
    account.refresh_from_db()
    assert account.minutes == Decimal("20")  # 10 minutes held
    attempt = CallAttempt.objects.get(job=job)
    end(sim, attempt, "user_hangup")
    account.refresh_from_db()
    attempt.refresh_from_db()
    used = Decimal(attempt.duration_seconds) / 60
    assert account.minutes == (Decimal("30") - used).quantize(Decimal("0.0001"))
    assert account.minutes == ledger_sum(account, "minutes")


def test_concurrency_limit_holds_the_job_back(sim, account):
    Account.objects.filter(pk=account.pk).update(max_concurrent_calls=1)
    batch = BatchFactory(account=account)
    first, second = JobFactory(batch=batch), JobFactory(batch=batch)
    sim.configure(never_end=True)
    assert job_process(job_id=first.pk) == "dialled"
    assert job_process(job_id=second.pk) == "no_slot"
    second.refresh_from_db()
    assert second.status == Job.Status.PENDING and second.last_error == outcomes.WAIT_SLOT


def test_transient_provider_error_reuses_the_attempt_and_key(sim, job, account):
    sim.configure(fail_next=[{"status": 429, "count": 1}])
    assert job_process(job_id=job.pk) == "provider_transient"
    attempt = CallAttempt.objects.get(job=job)
    job.refresh_from_db()
    account.refresh_from_db()
    assert attempt.status == CallAttempt.Status.PROVIDER_ERROR and job.attempts == 0
    assert job.next_try_at > timezone.now()
    assert account.credits == Decimal("10000") == ledger_sum(account)
    Job.objects.filter(pk=job.pk).update(next_try_at=timezone.now())
    assert job_process(job_id=job.pk) == "dialled"
    assert CallAttempt.objects.filter(job=job).count() == 1
    assert CallAttempt.objects.get(job=job).idempotency_key == f"job-{job.pk}-attempt-1"


def next_create_times_out(sim, settings):
    """Retell places the next call but answers after the client's timeout (1 s)."""
    settings.RETELL_TIMEOUT_SECONDS = 1
    sim.configure(create_delay_ms=1500, create_delay_count=1, accept_then_timeout=True)


def test_a_call_whose_create_timed_out_is_settled_by_its_webhook(sim, job, account, settings):
    """Retell placed the call but its answer came after our timeout: the attempt was given
    back as a provider error. The call's webhook then arrives before the re-send: the attempt
    takes its hold again, is bound and settled, and the job moves on; nothing dials again."""
    next_create_times_out(sim, settings)
    assert job_process(job_id=job.pk) == "provider_transient"
    attempt = CallAttempt.objects.get(job=job)
    assert attempt.status == CallAttempt.Status.PROVIDER_ERROR and attempt.call_id is None
    (call,) = sim.calls()
    sim.end_call(call["call_id"], "user_hangup")
    assert call_update(call=sim.get_call(call["call_id"]), event="call_ended") == "finished"

    attempt.refresh_from_db()
    job.refresh_from_db()
    account.refresh_from_db()
    assert attempt.status == CallAttempt.Status.ENDED and attempt.call_id == call["call_id"]
    assert attempt.outcome == CallAttempt.Outcome.CONTACT
    assert job.status == Job.Status.DONE and job.attempts == 1
    assert attempt.cost == account_services.call_cost(
        account=account, seconds=attempt.duration_seconds, answered=True) > 0
    assert account.credits == Decimal("10000") - attempt.cost == ledger_sum(account)
    kinds = LedgerEntry.objects.filter(reference=attempt.idempotency_key).order_by("pk")
    assert [e.kind for e in kinds] == [
        LedgerEntry.Kind.RESERVATION, LedgerEntry.Kind.REFUND,  # the create that timed out
        LedgerEntry.Kind.RESERVATION, LedgerEntry.Kind.REFUND,  # the call found placed
        LedgerEntry.Kind.SETTLEMENT]
    assert job_process(job_id=job.pk) == "not_claimed"
    assert sim.stats()["calls_created"] == 1


def test_a_call_found_placed_after_its_create_failed_never_takes_the_balance_below_zero(
        sim, settings):
    """Meanwhile another call took most of the balance: the call found placed holds what is
    left and is charged at most that."""
    account = AccountFactory(max_concurrent_calls=5, cost_per_call_setup=Decimal("5"),
                             cost_per_minute=Decimal("60"))
    account_services.account_topup(account=account, credits=Decimal("700"), reference="t")
    first, second = (JobFactory(batch=BatchFactory(account=account)) for _ in range(2))
    next_create_times_out(sim, settings)
    assert job_process(job_id=first.pk) == "provider_transient"
    assert job_process(job_id=second.pk) == "dialled"  # holds 605 of the 700
    attempt = CallAttempt.objects.get(job=first)
    (call,) = [c for c in sim.calls() if c["metadata"]["job_id"] == first.pk]
    sim.end_call(call["call_id"], "user_hangup")
    ended = {**sim.get_call(call["call_id"]), "duration_ms": 120_000}  # 2 min: 125 credits
    assert call_update(call=ended, event="call_ended") == "finished"
    account.refresh_from_db()
    attempt.refresh_from_db()
    assert attempt.status == CallAttempt.Status.ENDED and attempt.cost == Decimal("125")
    assert account.credits == Decimal("0") == ledger_sum(account)
    charged = LedgerEntry.objects.get(reference=attempt.idempotency_key,
                                      kind=LedgerEntry.Kind.SETTLEMENT)
    assert charged.amount == Decimal("-95")


def test_a_worker_whose_claim_was_taken_over_never_dials(sim, job):
    """A worker stalled past its lease; the sweep handed the job back. When the worker
    wakes up it does not dial: the job is no longer its own."""
    stalled = job_claim(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))
    assert jobs_recover_expired() == 1
    assert job_process_claimed(stalled) == "claim_lost"
    assert sim.stats()["calls_created"] == 0
    assert not CallAttempt.objects.filter(job=job).exists()
    assert job_process(job_id=job.pk) == "dialled"


def test_invalid_request_marks_the_phone_invalid(sim, job):
    sim.configure(fail_next=[{"status": 400, "count": 1}])
    assert job_process(job_id=job.pk) == "provider_invalid"
    job.refresh_from_db()
    assert job.contact["invalid_phones"] == ["+56912345671"] and job.attempts == 0


def test_account_rejected_by_retell_pauses_its_campaigns(sim, job):
    sim.configure(fail_next=[{"status": 402, "count": 1}])
    with translation.override("es-cl"):  # the workers' language (LANGUAGE_CODE)
        assert job_process(job_id=job.pk) == "provider_account"
    batch = Batch.objects.get(pk=job.batch_id)
    assert batch.is_active is False and batch.status == Batch.Status.PAUSED
    event = BatchEvent.objects.get(batch=batch, kind=BatchEvent.Kind.PROVIDER_ERROR)
    with translation.override("es-cl"):  # rendered in the reader's language
        assert event.message.startswith("Pausada: Retell rechazó la cuenta (")


def test_crash_after_saving_the_attempt_is_recovered_with_the_same_key(sim, job):
    """A worker that died after Retell accepted the call but before recording it: the sweep
    recovers the job, and re-sending the same idempotency key returns the same call."""
    sim.configure(never_end=True)
    assert job_process(job_id=job.pk) == "dialled"
    # Simulate the crash: the create response was never recorded.
    CallAttempt.objects.filter(job=job).update(status=CallAttempt.Status.DIALLING, call_id=None)
    Job.objects.filter(pk=job.pk).update(attempts=0,
                                         reserved_until=timezone.now() - timedelta(seconds=1))
    with translation.override("es-cl"):
        assert jobs_recover_expired() == 1
    with translation.override("es-cl"):  # rendered in the reader's language
        assert JobEvent.objects.get(job=job, kind="recovered").message.startswith("Recuperado:")
    assert job_process(job_id=job.pk) == "dialled"
    assert sim.stats()["calls_created"] == 1
    job.refresh_from_db()
    assert job.attempts == 1


def test_sweep_starts_scheduled_campaigns_and_completes_finished_ones(job, account):
    scheduled = BatchFactory(account=account, status=Batch.Status.PENDING,
                             schedule_type=Batch.ScheduleType.SCHEDULED,
                             scheduled_at=timezone.now() - timedelta(minutes=1))
    JobFactory(batch=scheduled)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE)
    with translation.override("es-cl"):
        sweep()
    scheduled.refresh_from_db()
    assert scheduled.status == Batch.Status.RUNNING
    with translation.override("es-cl"):  # rendered in the reader's language
        assert BatchEvent.objects.get(batch=scheduled, kind=BatchEvent.Kind.STARTED).message \
            == "Campaña iniciada según lo programado."
        assert Batch.objects.get(pk=job.batch_id).status == Batch.Status.COMPLETED
        assert BatchEvent.objects.get(batch_id=job.batch_id,
                                      kind=BatchEvent.Kind.COMPLETED).message \
            == "Campaña completada."


def test_sweep_closes_calls_that_retell_forgot(sim, job, account, settings):
    settings.CALLS_STALE_MARGIN_SECONDS = 10
    sim.configure(never_end=True)
    job_process(job_id=job.pk)
    attempt = CallAttempt.objects.get(job=job)
    CallAttempt.objects.filter(pk=attempt.pk).update(
        call_id="unknown-call", started_at=timezone.now() - timedelta(hours=1))
    sweep()
    attempt.refresh_from_db()
    account.refresh_from_db()
    assert attempt.status == CallAttempt.Status.FAILED
    assert attempt.outcome == CallAttempt.Outcome.UNKNOWN
    assert account.credits == Decimal("10000") == ledger_sum(account)


def test_sweep_polls_only_stale_calls_oldest_first_and_at_most_its_limit(
        sim, account, settings, monkeypatch):
    settings.CALLS_STALE_MARGIN_SECONDS = 10
    monkeypatch.setattr("calls.sweep.POLL_LIMIT", 2)
    sim.configure(never_end=True)
    batch = BatchFactory(account=account)
    jobs = [JobFactory(batch=batch) for _ in range(4)]
    for job in jobs:
        assert job_process(job_id=job.pk) == "dialled"
    attempts = list(CallAttempt.objects.filter(job__in=jobs).order_by("job_id"))
    # Three are long past ring + duration + margin (oldest: the last one), one just started.
    for hours, attempt in zip((2, 3, 4), attempts[:3], strict=True):
        CallAttempt.objects.filter(pk=attempt.pk).update(
            call_id=f"forgotten-{hours}", started_at=timezone.now() - timedelta(hours=hours))
    polls = sim.stats()["get_requests"]

    sweep()
    assert sim.stats()["get_requests"] - polls == 2
    closed = set(CallAttempt.objects.filter(status=CallAttempt.Status.FAILED)
                 .values_list("call_id", flat=True))
    assert closed == {"forgotten-4", "forgotten-3"}

    sweep()
    assert sim.stats()["get_requests"] - polls == 3  # the last stale one; not the fresh call
    assert CallAttempt.objects.get(pk=attempts[3].pk).status == CallAttempt.Status.REGISTERED


def test_expired_leases_are_recovered_together_except_jobs_with_a_placed_call(sim, account):
    sim.configure(never_end=True)
    batch = BatchFactory(account=account)
    crashed = [JobFactory(batch=batch) for _ in range(3)]
    calling = JobFactory(batch=batch)
    assert job_process(job_id=calling.pk) == "dialled"
    expired = timezone.now() - timedelta(seconds=1)
    Job.objects.filter(pk__in=[j.pk for j in crashed]).update(
        status=Job.Status.IN_PROGRESS, reserved_until=expired)
    Job.objects.filter(pk=calling.pk).update(reserved_until=expired)

    assert jobs_recover_expired() == 3
    assert set(Job.objects.filter(status=Job.Status.PENDING).values_list("pk", flat=True)) \
        == {j.pk for j in crashed}
    assert JobEvent.objects.filter(kind="recovered").count() == 3
    assert Job.objects.get(pk=calling.pk).status == Job.Status.IN_PROGRESS
    assert jobs_recover_expired() == 0


def test_cl_profile_allows_one_answered_contact_per_week(sim, account):
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    first = JobFactory(batch=BatchFactory(account=account))
    second = JobFactory(batch=BatchFactory(account=account), rut=first.rut,
                        deduplication_key="second")
    # Tuesday 2025-06-10 11:00 in Santiago.
    with time_machine.travel(datetime(2025, 6, 10, 15, 0, tzinfo=UTC), tick=False):
        Job.objects.update(next_try_at=timezone.now())
        job_process(job_id=first.pk)
        end(sim, CallAttempt.objects.get(job=first), "user_hangup")
        assert job_process(job_id=second.pk) == "weekly_limit"
    second.refresh_from_db()
    ended = CallAttempt.objects.get(job=first).ended_at
    assert second.next_try_at >= ended + timedelta(days=7)
    assert second.last_error == outcomes.WAIT_WEEKLY_CONTACT


@pytest.mark.parametrize("orm", [False, True], ids=["postgresql-sql", "orm-path"])
def test_cl_weekly_limit_counts_by_phone_when_the_debtor_has_no_rut(sim, account, orm):
    Account.objects.filter(pk=account.pk).update(compliance_profile="CL")
    phones = {"name": "Sin RUT", "rut": "", "email": None, "next_phone_index": 0}
    first = JobFactory(batch=BatchFactory(account=account), rut="", deduplication_key="a",
                       contact={**phones, "phones": ["+56912345671"]})
    second = JobFactory(batch=BatchFactory(account=account), rut="", deduplication_key="b",
                        contact={**phones, "phones": ["+56912345671", "+56922222222"]})
    other = JobFactory(batch=BatchFactory(account=account), rut="", deduplication_key="c",
                       contact={**phones, "phones": ["+56933333333"]})
    with time_machine.travel(datetime(2025, 6, 10, 15, 0, tzinfo=UTC), tick=False):
        Job.objects.update(next_try_at=timezone.now())
        job_process(job_id=first.pk)
        end(sim, CallAttempt.objects.get(job=first), "user_hangup")
        with orm_only() if orm else contextlib.nullcontext():
            assert job_process(job_id=second.pk) == "weekly_limit"  # shares the first's phone
            assert job_process(job_id=other.pk) == "dialled"  # another phone: another debtor
    second.refresh_from_db()
    assert second.last_error == outcomes.WAIT_WEEKLY_CONTACT



def dialling_at_the_cancel_then_worker_dies(sim, job):
    """The cancel spares a job whose create is in flight (attempt dialling, hold taken); its
    worker then dies before recording Retell's answer and its lease expires."""
    sim.configure(never_end=True)
    assert job_process(job_id=job.pk) == "dialled"
    (call,) = sim.calls()
    attempt = CallAttempt.objects.get(job=job)
    CallAttempt.objects.filter(pk=attempt.pk).update(status=CallAttempt.Status.DIALLING,
                                                     call_id=None, started_at=None)
    Job.objects.filter(pk=job.pk).update(attempts=0)
    assert cancel_by_api(job.batch)["jobs_in_call"] == 1
    Job.objects.filter(pk=job.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))
    sweep()  # recovers the job and, its campaign cancelled, cancels it
    job.refresh_from_db()
    assert (job.status, job.last_error) == (Job.Status.CANCELLED, outcomes.CANCELLED)
    assert JobEvent.objects.filter(job=job, kind="cancelled",
                                   reason=outcomes.CANCELLED).count() == 1
    attempt.refresh_from_db()
    return attempt, call


def past_the_stale_margin(attempt, settings):
    return attempt.updated_at + timedelta(seconds=attempt.ring_timeout
                                          + attempt.max_call_duration
                                          + settings.CALLS_STALE_MARGIN_SECONDS + 1)


def test_a_job_dialling_at_the_cancel_whose_worker_died_is_cancelled_and_its_hold_released(
        sim, job, account, settings):
    attempt, _ = dialling_at_the_cancel_then_worker_dies(sim, job)
    # Never re-sent (its campaign is cancelled); until the margin Retell may still answer.
    assert attempt.status == CallAttempt.Status.DIALLING and attempt.hold_amount > 0
    account.refresh_from_db()
    assert account.credits == Decimal("10000") - attempt.hold_amount
    with time_machine.travel(past_the_stale_margin(attempt, settings), tick=False):
        assert sweep()["unsent_abandoned"] == 1
        assert sweep()["unsent_abandoned"] == 0  # once
    attempt.refresh_from_db()
    account.refresh_from_db()
    job.refresh_from_db()
    assert attempt.status == CallAttempt.Status.PROVIDER_ERROR and attempt.hold_amount == 0
    assert account.credits == Decimal("10000") == ledger_sum(account)
    assert job.status == Job.Status.CANCELLED and job.attempts == 0
    assert [e.kind for e in LedgerEntry.objects.filter(
        reference=attempt.idempotency_key).order_by("pk")] == [
        LedgerEntry.Kind.RESERVATION, LedgerEntry.Kind.REFUND]
    assert sim.stats()["calls_created"] == 1


@pytest.mark.parametrize("late", [False, True], ids=["before_the_margin", "after_the_margin"])
def test_a_call_of_a_job_dialling_at_the_cancel_is_settled_by_its_webhook_once(
        sim, job, account, settings, late):
    attempt, call = dialling_at_the_cancel_then_worker_dies(sim, job)
    if late:  # the attempt was given up as a provider error, its hold released
        with time_machine.travel(past_the_stale_margin(attempt, settings), tick=False):
            assert sweep()["unsent_abandoned"] == 1
    sim.end_call(call["call_id"], "user_hangup")
    assert call_update(call=sim.get_call(call["call_id"]), event="call_ended") == "finished"
    with time_machine.travel(past_the_stale_margin(attempt, settings), tick=False):
        assert sweep()["unsent_abandoned"] == 0
    attempt.refresh_from_db()
    account.refresh_from_db()
    job.refresh_from_db()
    assert attempt.status == CallAttempt.Status.ENDED and attempt.call_id == call["call_id"]
    assert attempt.cost > 0 and attempt.hold_amount > 0
    assert account.credits == Decimal("10000") - attempt.cost == ledger_sum(account)
    assert LedgerEntry.objects.filter(reference=attempt.idempotency_key,
                                      kind=LedgerEntry.Kind.SETTLEMENT).count() == 1
    assert job.status == Job.Status.CANCELLED  # the call's result stands, no retry
    assert sim.stats()["calls_created"] == 1
