"""The /api/v1/batches contract: JSON creation, control, progress, logs, tenancy."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from batches.models import Batch, BatchEvent, Job
from calls.models import CallAttempt
from tests.batches.api.support import contact, create, payload
from tests.factories import BatchFactory, JobFactory, rut_with_dv

# --- JSON creation ----------------------------------------------------------------------------


def test_create_from_json(funded_a, api_a, account_a, client_a, published, commit):
    body = payload(
        contacts=[
            contact(
                1,
                email="Ana@Correo.CL",
                debt_amount="$150.000",
                due_date="01/03/2025",
                installments=3,
                company_name="Retail SpA",
                custom_fields={"sucursal": "Centro", "tramo": 2},
            ),
            {"name": "Sin extras", "dni": "12.345.678-5", "phones": ["9 8765 4321"]},
        ],
        call_settings={"max_attempts": 5, "retry_delay_hours": 0.25},
        voice_settings={"speed": 1.2, "language": "es-CL"},
        description="Mora 30-60",
        priority="high",
    )
    response = create(api_a, body, commit)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["success"] is True
    assert data["status"] == "running"
    assert (data["total_jobs"], data["total_rows"], data["invalid_rows"]) == (2, 2, 0)
    assert (data["duplicates_merged"], data["skipped_existing"]) == (0, 0)
    assert data["errors"] == [] and data["warnings"] == []
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert batch.batch_id.startswith("batch-") and len(batch.batch_id) == len(
        "batch-2025-10-26-142744-439872"
    )
    assert (batch.account, batch.created_by, batch.is_active) == (account_a, client_a, True)
    assert (batch.priority, batch.priority_rank) == ("high", 2)
    assert batch.call_settings["max_attempts"] == 5
    assert batch.call_settings["retry_delay_hours"] == "0.25"
    assert batch.call_settings["ring_timeout"] == 60  # defaults filled in
    assert batch.call_settings["timezone"] == account_a.timezone
    assert batch.call_settings["priority"] == "high"
    assert batch.voice_settings["speed"] == 1.2 and batch.voice_settings["volume"] == 1.0
    assert batch.total_jobs == 2
    # 2 jobs × (5 setup + 50/min × 2 min)
    assert batch.estimated_cost == Decimal("210.0000")

    first = Job.objects.get(batch=batch, rut=rut_with_dv(20_000_001))
    assert first.deduplication_key == f"acct-a::{first.rut}::{batch.batch_id}"
    assert first.status == "pending" and first.attempts == 0 and first.next_try_at
    assert first.contact == {
        "name": "Deudor 1",
        "rut": first.rut,
        "phones": ["+56987650001"],
        "email": "Ana@correo.cl",
        "next_phone_index": 0,
        "invalid_phones": [],
    }
    assert first.payload == {
        "debt_amount": "150000.00",
        "due_date": "2025-03-01",
        "company_name": "Retail SpA",
        "installments": 3,
        "fecha_limite": None,
        "fecha_maxima": None,
        "additional_info": {"sucursal": "Centro", "tramo": "2"},
    }
    second = Job.objects.get(batch=batch, rut="12345678-5")
    assert second.contact["phones"] == ["+56987654321"]
    assert BatchEvent.objects.filter(batch=batch, kind="created", user=client_a).count() == 1
    assert sorted(published) == sorted(Job.objects.filter(batch=batch).values_list("pk", flat=True))


def test_creation_publishes_at_most_free_slots_plus_lookahead(
    funded_a, api_a, account_a, published, commit, settings
):
    settings.CALLS_DISPATCH_LOOKAHEAD = 2
    account_a.max_concurrent_calls = 3
    account_a.save()

    response = create(api_a, payload(contacts=[contact(n) for n in range(30)]), commit)

    assert response.status_code == 201
    assert len(published) == 5
    batch = Batch.objects.get(batch_id=response.json()["batch_id"])
    assert set(published) <= set(batch.jobs.values_list("pk", flat=True))
    assert batch.jobs.count() == 30


def test_client_may_omit_account_id(api_a, account_a, published):
    body = payload()
    del body["account_id"]
    response = create(api_a, body)
    assert response.status_code == 201
    assert Batch.objects.get().account == account_a


def test_operator_must_name_the_account(api_operator, account_a, account_b, published):
    body = payload()
    del body["account_id"]
    response = create(api_operator, body)
    assert response.status_code == 400
    assert response.json() == {"account_id": ["This field is required."]}

    response = create(api_operator, payload(account_id="acct-b"))
    assert response.status_code == 201
    assert Batch.objects.get().account == account_b


def test_client_cannot_create_in_another_account(api_b, account_a, published):
    response = create(api_b, payload(account_id="acct-a"))
    assert response.status_code == 400
    assert response.json() == {"account_id": ["Unknown account."]}
    response = create(api_b, payload(account_id="no-such-account"))
    assert response.json() == {"account_id": ["Unknown account."]}
    assert not Batch.objects.exists()


def test_suspended_account_cannot_create(api_a, account_a, published):
    account_a.status = "suspended"
    account_a.save()
    response = create(api_a, payload())
    assert response.status_code == 400
    assert response.json() == {"account_id": ["The account is suspended."]}


def test_invalid_contacts_name_each_field_and_store_nothing(api_a, account_a, published):
    contacts = [
        contact(0),
        {"name": "Malo", "rut": "12.345.678-Z", "phones": ["+56961777631"]},
        {"name": "Sin fono", "rut": "12.345.678-5", "phones": ["123", "+56961777631"]},
        {"name": "Vacío", "rut": "11.111.111-1", "phones": []},
        {"name": "Extra", "rut": "22.222.222-2", "phones": ["+56961777631"], "color": ["x"]},
        {"name": "Email", "rut": "33.333.333-3", "phones": ["+56961777631"], "email": "no@"},
        {
            "name": "Monto",
            "rut": "44.444.444-4",
            "phones": ["+56961777631"],
            "debt_amount": "-5",
            "due_date": "31/02/2025",
        },
        {"dni": "no es un rut", "phones": ["+56961777631"]},
        "not an object",
        {"name": "Listas", "rut": "55.555.555-5", "phones": ["+56961777631"],
         "debt_amount": [1], "due_date": {"d": 1}},
    ]
    response = create(api_a, payload(contacts=contacts, strict=True))
    assert response.status_code == 400
    errors = response.json()
    assert errors == {
        "contacts[1].rut": ["Invalid RUT format"],
        "contacts[2].phones[0]": ["Invalid phone number: 123"],
        "contacts[3].phones": ["At least one phone number is required."],
        "contacts[4].color": ["Unknown field."],
        "contacts[5].email": ["Invalid email address"],
        "contacts[6].debt_amount": ["Amount cannot be negative"],
        "contacts[6].due_date": ["Invalid date: that day does not exist"],
        "contacts[7].dni": ["Invalid RUT format"],
        "contacts[8]": ["Must be an object."],
        "contacts[9].debt_amount": ["Invalid amount"],
        "contacts[9].due_date": ["Unrecognised date (use dd/mm/yyyy)"],
    }
    assert not Batch.objects.exists() and not Job.objects.exists()


def test_one_bad_contact_is_left_out_and_reported_the_rest_created(api_a, account_a, published):
    contacts = [
        contact(0),
        {"name": "Malo", "rut": "abc", "phones": ["+56961777631"]},
        {"name": "Dígito", "rut": "12345678-9", "phones": ["+56912345678"]},
    ]
    response = create(api_a, payload(contacts=contacts))

    assert response.status_code == 201
    data = response.json()
    assert (data["total_jobs"], data["total_rows"], data["invalid_rows"]) == (2, 3, 1)
    assert data["errors"] == [{"row": 1, "column": "contacts[1].rut", "value": "",
                               "message": "Invalid RUT format"}]
    assert [(w["row"], w["column"], w["value"]) for w in data["warnings"]] == [
        (2, "contacts[2].rut", "12345678-9"),
        (2, "contacts[2].phones[0]", "+56912345678"),
    ]
    assert "dígito verificador" in data["warnings"][0]["message"]
    job = Job.objects.get(rut="12345678-9")  # kept as written
    assert job.contact["phones"] == ["+56912345678"]
    assert Job.objects.count() == 2


def test_all_contacts_bad_or_strict_is_a_400_storing_nothing(api_a, account_a, published):
    bad = {"name": "Malo", "rut": "abc", "phones": ["+56961777631"]}
    response = create(api_a, payload(contacts=[bad, {**bad, "phones": ["123"]}]))
    assert response.status_code == 400
    assert set(response.json()) == {"contacts[0].rut", "contacts[1].rut", "contacts[1].phones[0]"}

    response = create(api_a, payload(contacts=[contact(0), bad], strict=True))
    assert response.status_code == 400
    assert response.json() == {"contacts[1].rut": ["Invalid RUT format"]}
    assert not Batch.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"call_settings": {"max_attempts": 50}}, {"call_settings.max_attempts"}),
        (
            {"call_settings": {"max_attempts": 0, "ring_timeout": 1}},
            {"call_settings.max_attempts", "call_settings.ring_timeout"},
        ),
        (
            {"call_settings": {"allowed_hours": {"start": "19:00", "end": "09:00"}}},
            {"call_settings.allowed_hours.end"},
        ),
        ({"call_settings": {"days_of_week": [1, 1]}}, {"call_settings.days_of_week"}),
        ({"call_settings": {"timezone": "Mars/Olympus"}}, {"call_settings.timezone"}),
        ({"call_settings": {"retry_delay_hours": "soon"}}, {"call_settings.retry_delay_hours"}),
        ({"call_settings": {"max_attempt": 3}}, {"call_settings.max_attempt"}),
        ({"call_settings": [1, 2]}, {"call_settings"}),
        ({"voice_settings": {"speed": 3}}, {"voice_settings.speed"}),
        ({"voice_settings": {"tone": "warm"}}, {"voice_settings.tone"}),
        ({"schedule_type": "scheduled"}, {"scheduled_at"}),
        ({"scheduled_at": "2030-01-01T10:00:00Z"}, {"scheduled_at"}),
        ({"schedule_type": "scheduled", "scheduled_at": "2020-01-01T10:00:00Z"}, {"scheduled_at"}),
        ({"schedule_type": "weekly"}, {"schedule_type"}),
        ({"priority": "urgent"}, {"priority"}),
        ({"dias_fecha_limite": -1}, {"dias_fecha_limite"}),
        ({"name": ""}, {"name"}),
        ({"contacts": []}, {"contacts"}),
        ({"contacts": "x"}, {"contacts"}),
    ],
)
def test_invalid_options_are_refused_naming_the_field(api_a, account_a, published, extra, expected):
    response = create(api_a, payload(**extra))
    assert response.status_code == 400
    assert set(response.json()) == expected
    assert not Batch.objects.exists()


def test_compliance_profile_limits_the_settings(api_a, account_a, published):
    account_a.compliance_profile = "CL"
    account_a.save()
    response = create(
        api_a, payload(call_settings={"allowed_hours": {"start": "21:00", "end": "23:00"}})
    )
    assert response.status_code == 400
    assert list(response.json()) == ["call_settings.allowed_hours"]


def test_same_rut_twice_is_merged(api_a, account_a, published):
    twin = contact(1, phones=["+56944493909"], email="dos@correo.cl")
    response = create(api_a, payload(contacts=[contact(1), contact(2), twin]))
    data = response.json()
    assert (data["total_jobs"], data["duplicates_merged"], data["total_rows"]) == (2, 1, 3)
    assert data["warnings"][0]["row"] == 2 and "merged" in data["warnings"][0]["message"]
    job = Job.objects.get(rut=rut_with_dv(20_000_001))
    assert job.contact["phones"] == ["+56987650001", "+56944493909"]
    assert job.contact["email"] == "dos@correo.cl"


def test_scheduled_batch_waits(api_a, account_a, published, commit):
    start = timezone.now() + timedelta(days=1)
    response = create(
        api_a, payload(schedule_type="scheduled", scheduled_at=start.isoformat()), commit
    )
    assert response.status_code == 201
    batch = Batch.objects.get()
    assert (batch.status, batch.is_active, batch.scheduled_at) == ("pending", True, start)
    assert set(batch.jobs.values_list("next_try_at", flat=True)) == {start}
    assert published == []


# --- duplicates across batches ----------------------------------------------------------------


def test_allow_duplicates_false_skips_debtors_in_open_batches(api_a, account_a, published):
    first = create(api_a, payload(contacts=[contact(1), contact(2)])).json()["batch_id"]

    response = create(api_a, payload(contacts=[contact(2), contact(3)]))

    data = response.json()
    assert response.status_code == 201
    assert (data["total_jobs"], data["skipped_existing"]) == (1, 1)
    assert data["warnings"] == [
        {
            "row": 0,
            "column": "rut",
            "value": rut_with_dv(20_000_002),
            "message": f"Skipped: already has an open job in campaign {first}",
        }
    ]
    batch = Batch.objects.get(batch_id=data["batch_id"])
    assert list(batch.jobs.values_list("rut", flat=True)) == [rut_with_dv(20_000_003)]
    assert batch.skipped_existing == 1


def test_allow_duplicates_true_keeps_them(api_a, account_a, published):
    create(api_a, payload(contacts=[contact(1), contact(2)]))
    response = create(api_a, payload(contacts=[contact(2), contact(3)], allow_duplicates=True))
    assert (response.json()["total_jobs"], response.json()["skipped_existing"]) == (2, 0)
    assert Job.objects.filter(rut=rut_with_dv(20_000_002)).count() == 2


def test_only_open_jobs_of_open_batches_of_the_same_account_block(
    api_a, api_b, account_a, account_b, published
):
    create(api_b, payload(account_id="acct-b", contacts=[contact(1)]))  # other tenant
    done = BatchFactory(account=account_a)
    JobFactory(batch=done, rut=rut_with_dv(20_000_002), status="done")  # closed job
    cancelled = BatchFactory(account=account_a, status="cancelled", is_active=False)
    JobFactory(batch=cancelled, rut=rut_with_dv(20_000_003))  # batch no longer open
    paused = BatchFactory(account=account_a, status="paused", is_active=False)
    JobFactory(batch=paused, rut=rut_with_dv(20_000_004))  # will be dialled on resume

    response = create(api_a, payload(contacts=[contact(n) for n in (1, 2, 3, 4)]))

    assert (response.json()["total_jobs"], response.json()["skipped_existing"]) == (3, 1)


def test_every_debtor_already_open_is_a_400(api_a, account_a, published):
    create(api_a, payload(contacts=[contact(1)]))
    response = create(api_a, payload(contacts=[contact(1)]))
    assert response.status_code == 400
    assert list(response.json()) == ["contacts", "errors"]
    assert Batch.objects.count() == 1


# --- reading ---------------------------------------------------------------------------------


def test_list_is_scoped_and_filtered(api_a, api_b, api_operator, batch_a, account_b):
    BatchFactory(account=account_b, batch_id="batch-b", status="paused", is_active=False)

    assert [b["batch_id"] for b in api_a.get("/api/v1/batches").json()["results"]] == ["batch-a"]
    assert [b["batch_id"] for b in api_b.get("/api/v1/batches").json()["results"]] == ["batch-b"]
    everything = api_operator.get("/api/v1/batches").json()
    assert everything["count"] == 2
    only_b = api_operator.get("/api/v1/batches?account_id=acct-b").json()["results"]
    assert [b["batch_id"] for b in only_b] == ["batch-b"]
    paused = api_operator.get("/api/v1/batches?status=paused&is_active=false").json()
    assert [b["batch_id"] for b in paused["results"]] == ["batch-b"]
    running = api_operator.get("/api/v1/batches?is_active=true").json()["results"]
    assert [b["batch_id"] for b in running] == ["batch-a"]

    assert api_b.get("/api/v1/batches?account_id=acct-a").json() == {
        "account_id": ["Unknown account."]
    }
    assert api_a.get("/api/v1/batches?status=sleeping").status_code == 400
    assert api_a.get("/api/v1/batches?is_active=maybe").status_code == 400


def test_list_searches_name_and_batch_id_within_scope(api_a, api_operator, account_a, account_b):
    BatchFactory(account=account_a, batch_id="batch-oct", name="Cartera Octubre")
    BatchFactory(account=account_a, batch_id="batch-nov", name="Cartera noviembre")
    BatchFactory(account=account_b, batch_id="batch-oct-b", name="Octubre de B")

    def ids(api, query):
        return sorted(b["batch_id"] for b in api.get(f"/api/v1/batches?{query}").json()["results"])

    assert ids(api_a, "search=octubre") == ["batch-oct"]  # case-insensitive, B's not seen
    assert ids(api_a, "search=batch-nov") == ["batch-nov"]
    assert ids(api_a, "search=cartera") == ["batch-nov", "batch-oct"]
    assert ids(api_a, "search=%20") == ["batch-nov", "batch-oct"]  # blank: no filter
    assert ids(api_operator, "search=OCTUBRE") == ["batch-oct", "batch-oct-b"]
    assert ids(api_operator, "search=octubre&account_id=acct-b") == ["batch-oct-b"]
    assert api_a.get("/api/v1/batches?search=" + "x" * 101).status_code == 400


def test_list_paginates(api_a, account_a):
    for n in range(3):
        BatchFactory(account=account_a, batch_id=f"batch-{n}")
    page = api_a.get("/api/v1/batches?page_size=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]


def test_detail(api_a, batch_a):
    data = api_a.get("/api/v1/batches/batch-a").json()
    assert data["batch_id"] == "batch-a" and data["account_id"] == "acct-a"
    assert data["call_settings"]["max_attempts"] == 3
    assert data["created_by"] == "client-a"


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("patch", ""),
        ("post", "/cancel"),
        ("get", "/status"),
        ("get", "/jobs"),
        ("get", "/logs"),
    ],
)
def test_another_tenants_batch_is_not_found(api_b, batch_a, method, suffix):
    response = getattr(api_b, method)(
        f"/api/v1/batches/batch-a{suffix}",
        {"is_active": False} if method == "patch" else None,
        format="json",
    )
    assert response.status_code == 404
    batch_a.refresh_from_db()
    assert batch_a.is_active and batch_a.status == "running"


def test_operator_sees_every_batch(api_operator, batch_a):
    assert api_operator.get("/api/v1/batches/batch-a/status").status_code == 200


def test_status_counts_and_progress(api_a, batch_a, django_assert_max_num_queries):
    now = timezone.now()
    for status, n in (("pending", 4), ("done", 3), ("failed", 2), ("cancelled", 1)):
        for _ in range(n):
            JobFactory(batch=batch_a, status=status, next_try_at=now + timedelta(hours=2))
    busy = JobFactory(batch=batch_a, status="in_progress", reserved_until=now)
    later = JobFactory(batch=batch_a, next_try_at=now + timedelta(minutes=5))
    for number, (status, outcome, cost) in enumerate(
        [("ended", "contact", "55.5"), ("ended", "no_contact", "5"), ("ongoing", "", None)],
        start=1,
    ):
        CallAttempt.objects.create(
            job=busy,
            batch=batch_a,
            account=batch_a.account,
            rut=busy.rut,
            attempt_number=number,
            phone="+56912345678",
            idempotency_key=f"k-{number}",
            status=status,
            outcome=outcome,
            cost=cost and Decimal(cost),
        )

    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/batches/batch-a/status")

    data = response.json()
    assert data["counts"] == {
        "pending": 5,
        "in_progress": 1,
        "done": 3,
        "failed": 2,
        "cancelled": 1,
    }
    assert data["total_jobs"] == 12
    assert data["progress_percent"] == 50.0
    assert (data["calls_in_flight"], data["attempts_made"], data["contacted"]) == (1, 3, 1)
    assert Decimal(data["cost_so_far"]) == Decimal("60.5")
    assert datetime.fromisoformat(data["next_attempt_at"]) == later.next_try_at


def test_logs(api_a, batch_a):
    BatchEvent.objects.create(batch=batch_a, kind="completed", message="Done")
    data = api_a.get("/api/v1/batches/batch-a/logs?limit=1").json()
    assert data["batch_id"] == "batch-a"
    assert [(e["kind"], e["user"]) for e in data["logs"]] == [("completed", "system")]
    everything = api_a.get("/api/v1/batches/batch-a/logs").json()["logs"]
    assert [(e["kind"], e["user"]) for e in everything] == [
        ("completed", "system"),
        ("created", "client-a"),
    ]
    assert api_a.get("/api/v1/batches/batch-a/logs?limit=0").status_code == 400
    assert api_a.get("/api/v1/batches/batch-a/logs?limit=x").json() == {
        "limit": ["A valid integer is required."]
    }


# --- control ---------------------------------------------------------------------------------


def kinds(batch):
    return list(batch.events.order_by("id").values_list("kind", flat=True))


def test_pause_and_resume(funded_a, api_a, batch_a, client_a, published, commit):
    jobs = [JobFactory(batch=batch_a) for _ in range(3)]
    Job.objects.filter(pk=jobs[0].pk).update(enqueued_until=timezone.now() + timedelta(1))

    paused = api_a.patch("/api/v1/batches/batch-a", {"is_active": False}, format="json")

    assert paused.status_code == 200
    assert (paused.json()["is_active"], paused.json()["status"]) == (False, "paused")
    batch_a.refresh_from_db()
    assert not batch_a.is_dialable
    assert not Job.objects.filter(enqueued_until__isnull=False).exists()

    with commit():
        resumed = api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")

    assert (resumed.json()["is_active"], resumed.json()["status"]) == (True, "running")
    assert sorted(published) == sorted(j.pk for j in jobs)
    assert kinds(batch_a) == ["created", "paused", "resumed"]
    assert batch_a.events.filter(kind="paused", user=client_a).exists()

    # Pausing twice changes nothing and logs nothing more.
    api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")
    assert kinds(batch_a) == ["created", "paused", "resumed"]


def test_resume_of_a_scheduled_batch_waits_for_its_time(api_a, account_a, published):
    BatchFactory(
        account=account_a,
        batch_id="batch-later",
        status="paused",
        is_active=False,
        schedule_type="scheduled",
        scheduled_at=timezone.now() + timedelta(hours=3),
    )
    response = api_a.patch("/api/v1/batches/batch-later", {"is_active": True}, format="json")
    assert (response.json()["status"], response.json()["is_active"]) == ("pending", True)


def test_cancel(api_a, batch_a, published):
    pending = [JobFactory(batch=batch_a) for _ in range(3)]
    busy = JobFactory(batch=batch_a, status="in_progress", reserved_until=timezone.now())
    CallAttempt.objects.create(job=busy, batch=batch_a, account=batch_a.account, rut=busy.rut,
                               attempt_number=1, phone="+56912345678", idempotency_key="k-1",
                               status="ongoing")
    # Claimed by a worker that has not dialled yet: it has not started, so it stops.
    claimed = JobFactory(batch=batch_a, status="in_progress", reserved_until=timezone.now())
    done = JobFactory(batch=batch_a, status="done")

    response = api_a.post("/api/v1/batches/batch-a/cancel")

    assert response.status_code == 200
    assert response.json() == {"batch_id": "batch-a", "status": "cancelled", "jobs_cancelled": 4,
                               "jobs_in_call": 1}
    assert not Job.objects.filter(batch=batch_a, status="pending").exists()
    assert set(
        Job.objects.filter(pk__in=[j.pk for j in [*pending, claimed]])
        .values_list("status", flat=True)
    ) == {"cancelled"}
    busy.refresh_from_db()
    done.refresh_from_db()
    assert (busy.status, done.status) == ("in_progress", "done")
    assert kinds(batch_a) == ["created", "cancelled"]

    again = api_a.post("/api/v1/batches/batch-a/cancel")
    assert again.json()["jobs_cancelled"] == 0 and kinds(batch_a) == ["created", "cancelled"]

    resume = api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json")
    assert resume.status_code == 400
    assert list(resume.json()) == ["is_active"]
    batch_a.refresh_from_db()
    assert (batch_a.status, batch_a.is_active) == ("cancelled", False)


def test_completed_batch_cannot_be_cancelled_or_resumed(api_a, batch_a):
    Batch.objects.filter(pk=batch_a.pk).update(status="completed", is_active=False)
    assert api_a.post("/api/v1/batches/batch-a/cancel").json() == {
        "status": ["A completed campaign cannot be cancelled."]
    }
    assert (
        api_a.patch("/api/v1/batches/batch-a", {"is_active": True}, format="json").status_code
        == 400
    )


@time_machine.travel(datetime(2025, 3, 12, 15, 0, tzinfo=UTC))  # Wednesday, 12:00 in Santiago
def test_settings_edit_merges_validates_and_logs(funded_a, api_a, batch_a, published, commit):
    now = timezone.now()
    deferred = JobFactory(batch=batch_a, next_try_at=now + timedelta(hours=10))
    retrying = JobFactory(batch=batch_a, attempts=1, next_try_at=now + timedelta(hours=10))

    with commit():
        response = api_a.patch(
            "/api/v1/batches/batch-a",
            {
                "call_settings": {
                    "max_attempts": 5,
                    "allowed_hours": {"start": "09:00", "end": "18:00"},
                }
            },
            format="json",
        )

    assert response.status_code == 200, response.json()
    settings_now = response.json()["call_settings"]
    assert settings_now["max_attempts"] == 5
    assert settings_now["allowed_hours"] == {"start": "09:00", "end": "18:00"}
    assert settings_now["ring_timeout"] == 60  # untouched fields kept
    event = batch_a.events.get(kind="settings_changed")
    assert event.data["changes"]["max_attempts"] == {"from": 3, "to": 5}
    assert set(event.data["changes"]) == {"max_attempts", "allowed_hours"}
    deferred.refresh_from_db()
    retrying.refresh_from_db()
    assert deferred.next_try_at <= timezone.now()  # re-evaluated against the new window
    assert retrying.next_try_at > timezone.now()  # its retry delay still holds
    assert deferred.pk in published

    invalid = api_a.patch(
        "/api/v1/batches/batch-a", {"call_settings": {"max_attempts": 0}}, format="json"
    )
    assert invalid.status_code == 400
    assert list(invalid.json()) == ["call_settings.max_attempts"]
    batch_a.refresh_from_db()
    assert batch_a.call_settings["max_attempts"] == 5

    same = api_a.patch(
        "/api/v1/batches/batch-a", {"call_settings": {"max_attempts": 5}}, format="json"
    )
    assert same.status_code == 200
    assert batch_a.events.filter(kind="settings_changed").count() == 1


def test_patch_details_and_priority(api_a, batch_a):
    response = api_a.patch(
        "/api/v1/batches/batch-a",
        {"name": "Nuevo nombre", "priority": "high", "description": "d"},
        format="json",
    )
    assert response.status_code == 200
    batch_a.refresh_from_db()
    assert (batch_a.name, batch_a.priority, batch_a.priority_rank) == ("Nuevo nombre", "high", 2)
    assert batch_a.call_settings["priority"] == "high"
    assert kinds(batch_a) == ["created", "settings_changed"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "paused"}, "status"),
        ({}, "non_field_errors"),
        ({"is_active": "maybe"}, "is_active"),
        ({"priority": "urgent"}, "priority"),
        ({"call_settings": "fast"}, "call_settings"),
        ({"name": ""}, "name"),
    ],
)
def test_patch_refuses_bad_bodies(api_a, batch_a, body, field):
    response = api_a.patch("/api/v1/batches/batch-a", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert kinds(batch_a) == ["created"]


def test_patch_is_atomic(api_a, batch_a):
    response = api_a.patch(
        "/api/v1/batches/batch-a",
        {"name": "Otro", "call_settings": {"max_attempts": 99}},
        format="json",
    )
    assert response.status_code == 400
    batch_a.refresh_from_db()
    assert batch_a.name != "Otro" and kinds(batch_a) == ["created"]
