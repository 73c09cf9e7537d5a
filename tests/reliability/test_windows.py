"""Calling windows that a client cannot move (issue 13.1) and that say when they open (14.3).

The CL profile's 08:00-20:00, Monday to Saturday, no holidays, are the debtor's local hours:
they are checked in the zones the number dialled may be in, whatever zone the campaign or the
contact names, and a zone outside the profile's country is refused at the door. A campaign
whose window is closed shows, on every job and in /status, when calls start.
"""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Account
from batches.models import Batch, Job
from batches.reasons import JobReason as outcomes
from calls.dispatch import dispatch_account
from calls.models import CallAttempt
from calls.services import job_process
from calls.sweep import sweep
from tests.factories import AccountFactory, BatchFactory, JobFactory, rut_with_dv

pytestmark = [pytest.mark.reliability, pytest.mark.django_db]

SANTIAGO = ZoneInfo("America/Santiago")
MOBILE, LANDLINE, PUNTA_ARENAS = "+56962345671", "+56223456781", "+56612200001"


def santiago(*args) -> datetime:
    return datetime(*args, tzinfo=SANTIAGO)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def chile(account_a):
    Account.objects.filter(pk=account_a.pk).update(compliance_profile="CL",
                                                   timezone="America/Santiago")
    account_services.account_topup(account=account_a, credits=Decimal("10000"), reference="t")
    account_a.refresh_from_db()
    return account_a


def contact(n: int, phone: str, **extra) -> dict:
    return {"name": f"Deudor {n}", "rut": rut_with_dv(21_000_000 + n), "phones": [phone],
            **extra}


def create(api, **body):
    return api.post("/api/v1/batches", {"account_id": "acct-a", "name": "Cartera", **body},
                    format="json")


# --- 13.1: refused at the door ----------------------------------------------------------------


def test_a_cl_campaign_in_a_zone_abroad_is_refused(api_a, chile):
    response = create(api_a, contacts=[contact(1, MOBILE)],
                      call_settings={"timezone": "Pacific/Kiritimati"})
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["call_settings.timezone"]
    assert "America/Santiago" in response.json()["call_settings.timezone"][0]
    assert not Batch.objects.exists()


def test_a_contact_in_a_zone_abroad_is_refused(api_a, chile):
    contacts = [contact(1, MOBILE), contact(2, LANDLINE, timezone="Pacific/Pago_Pago")]
    response = create(api_a, contacts=contacts)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["contacts[1].timezone"]
    assert not Batch.objects.exists() and not Job.objects.exists()


def test_the_none_profile_still_accepts_any_zone(api_a, account_a):
    response = create(api_a, contacts=[contact(1, MOBILE, timezone="Pacific/Pago_Pago")],
                      call_settings={"timezone": "Pacific/Kiritimati"})
    assert response.status_code == 201, response.content


def test_an_account_under_cl_must_have_a_chilean_zone(api_operator, chile):
    response = api_operator.patch(f"/api/v1/accounts/{chile.account_id}",
                                  {"settings": {"timezone": "Pacific/Kiritimati"}},
                                  format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["settings.timezone"]  # issue 16: one dotted error shape
    response = api_operator.patch(f"/api/v1/accounts/{chile.account_id}",
                                  {"settings": {"timezone": "America/Punta_Arenas"}},
                                  format="json")
    assert response.status_code == 200, response.content


# --- 13.1: the engine checks the number's zones, whatever is stored ----------------------------


@pytest.mark.parametrize(
    ("call_zone", "contact_zone", "phone", "at"),
    [
        ("Pacific/Kiritimati", None, MOBILE, santiago(2025, 6, 10, 23)),  # Tuesday 23:00
        ("Pacific/Kiritimati", None, MOBILE, santiago(2025, 6, 8, 12)),  # Sunday noon
        ("America/Santiago", "Pacific/Pago_Pago", LANDLINE, santiago(2025, 6, 11, 2)),
    ],
)
def test_a_zone_stored_before_the_fix_never_dials_outside_the_debtors_hours(
        chile, settings, call_zone, contact_zone, phone, at):
    settings.RETELL_BASE_URL = "http://127.0.0.1:9"  # nothing may be dialled
    batch = BatchFactory(account=chile)
    Batch.objects.filter(pk=batch.pk).update(
        call_settings={**batch.call_settings, "timezone": call_zone})
    zone = {"timezone": contact_zone} if contact_zone else {}
    job = JobFactory(batch=batch, contact={"name": "Juan", "phones": [phone], **zone})
    with time_machine.travel(at, tick=False):
        Job.objects.filter(pk=job.pk).update(next_try_at=timezone.now())
        assert job_process(job_id=job.pk) == "outside_window"
    job.refresh_from_db()
    assert not CallAttempt.objects.exists()
    assert job.last_error == outcomes.WAIT_WINDOW and job.attempts == 0
    opening = job.next_try_at.astimezone(SANTIAGO)
    assert opening.isoweekday() != 7 and 8 <= opening.hour < 20


# --- 14.3: a closed window says when it opens ---------------------------------------------------


@pytest.mark.parametrize(
    ("created", "call_settings", "landline_opens", "mobile_opens"),
    [
        # Saturday before the September DST change; Monday only, 09:00-18:00 (now -03).
        (santiago(2025, 9, 6, 12), {"days_of_week": [1],
                                    "allowed_hours": {"start": "09:00", "end": "18:00"}},
         utc(2025, 9, 8, 12), utc(2025, 9, 8, 13)),  # Easter Island's 08:00 is 10:00 here
        # Wednesday evening before Fiestas Patrias (Thursday 18 and Friday 19 are holidays).
        (santiago(2025, 9, 17, 19), {"days_of_week": [4, 5]},
         utc(2025, 9, 25, 11), utc(2025, 9, 25, 13)),
    ],
)
def test_a_campaign_created_while_its_window_is_closed_shows_when_calls_start(
        api_a, chile, published, django_capture_on_commit_callbacks, created, call_settings,
        landline_opens, mobile_opens):
    with time_machine.travel(created, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = create(api_a, contacts=[contact(1, LANDLINE), contact(2, MOBILE)],
                              call_settings=call_settings)
        assert response.status_code == 201, response.content
        batch_id = response.json()["batch_id"]
        assert sweep()["dispatched"] == 0
        status = api_a.get(f"/api/v1/batches/{batch_id}/status").json()
    jobs = {j.contact["phones"][0]: j for j in Job.objects.all()}
    assert jobs[LANDLINE].next_try_at == landline_opens
    assert jobs[MOBILE].next_try_at == mobile_opens
    assert {j.last_error for j in jobs.values()} == {outcomes.WAIT_WINDOW}
    assert datetime.fromisoformat(status["next_attempt_at"]) == landline_opens
    assert published == [] and not CallAttempt.objects.exists()
    assert {j.attempts for j in jobs.values()} == {0}


def test_the_sweep_moves_a_closed_campaigns_due_jobs_in_one_statement_per_class(
        chile, published, django_assert_max_num_queries):
    batch = BatchFactory(account=chile)
    sunday = santiago(2025, 6, 8, 12)  # winter: Santiago -04, Punta Arenas and Easter -03/-06
    jobs = {phone: JobFactory(batch=batch, next_try_at=sunday,
                              contact={"name": "Juan", "phones": [phone]})
            for phone in (MOBILE, LANDLINE, PUNTA_ARENAS)}
    with time_machine.travel(sunday, tick=False):
        assert sweep()["deferred"] == 3
        assert sweep()["deferred"] == 0  # said once
    for job in jobs.values():
        job.refresh_from_db()
    assert jobs[PUNTA_ARENAS].next_try_at == utc(2025, 6, 9, 11)  # 08:00 in Punta Arenas
    assert jobs[LANDLINE].next_try_at == utc(2025, 6, 9, 12)  # 08:00 in Santiago
    assert jobs[MOBILE].next_try_at == utc(2025, 6, 9, 14)  # 08:00 on Easter Island
    assert published == []
    # At 08:00 in Punta Arenas only its job is due: no job is published to be sent back.
    with time_machine.travel(utc(2025, 6, 9, 11), tick=False):
        assert dispatch_account(account_id=chile.pk) == [jobs[PUNTA_ARENAS].pk]


def test_jobs_already_deferred_further_keep_their_time(chile, published):
    batch = BatchFactory(account=chile)
    later = utc(2025, 6, 12, 15)
    job = JobFactory(batch=batch, next_try_at=later, contact={"name": "J", "phones": [MOBILE]})
    AccountFactory()  # another account, nothing running
    with time_machine.travel(santiago(2025, 6, 8, 12), tick=False):
        sweep()
    job.refresh_from_db()
    assert job.next_try_at == later and job.last_error == ""
