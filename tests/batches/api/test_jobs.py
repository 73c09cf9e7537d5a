"""/api/v1/batches/{batch_id}/jobs: a campaign's jobs with their attempts."""

from decimal import Decimal

from calls.models import CallAttempt
from tests.factories import JobFactory

# --- reading ---------------------------------------------------------------------------------


def test_jobs_list_with_attempts_and_no_n_plus_one(api_a, batch_a, django_assert_max_num_queries):
    jobs = [JobFactory(batch=batch_a) for _ in range(5)]
    JobFactory(batch=batch_a, status="done")
    for job in jobs:
        CallAttempt.objects.create(
            job=job,
            batch=batch_a,
            account=batch_a.account,
            rut=job.rut,
            attempt_number=1,
            phone="+56912345678",
            idempotency_key=f"job-{job.pk}-1",
            call_id=f"call-{job.pk}",
            status="ended",
            outcome="no_contact",
            duration_seconds=30,
            cost=Decimal("5"),
            disconnection_reason="dial_no_answer",
        )

    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/batches/batch-a/jobs?status=pending")

    data = response.json()
    assert data["count"] == 5
    first = data["results"][0]
    assert {
        "id",
        "status",
        "attempts",
        "next_try_at",
        "last_error",
        "contact",
        "payload",
        "call_attempts",
    } <= set(first)
    attempt = first["call_attempts"][0]
    assert {
        "phone",
        "call_id",
        "status",
        "disconnection_reason",
        "duration",
        "cost",
        "started_at",
    } <= set(attempt)
    assert attempt["duration"] == 30
    assert api_a.get("/api/v1/batches/batch-a/jobs?status=open").status_code == 400
    assert api_a.get("/api/v1/batches/batch-a/jobs").json()["count"] == 6


# --- searching -------------------------------------------------------------------------------


def test_jobs_search_by_name_rut_or_phone(api_a, api_b, batch_a):
    def job(name, rut, phones, status="pending"):
        return JobFactory(batch=batch_a, rut=rut, status=status,
                          contact={"name": name, "rut": rut, "phones": phones,
                                   "next_phone_index": 0})

    jose = job("José Muñoz", "12345678-5", ["+56912345678"])
    maria = job("María Pérez", "9876543-3", ["+56223334444", "+56987650000"], status="done")
    kim = job("Kim Soto", "3788989-K", ["+56955556666"])
    typo = job("Rut Malo", "4897550-6", ["+56977778888"])  # wrong check digit, kept as written

    def found(query):
        response = api_a.get(f"/api/v1/batches/batch-a/jobs?{query}")
        assert response.status_code == 200, response.content
        return [j["id"] for j in response.json()["results"]]

    assert found("search=jos%C3%A9") == [jose.pk]  # name, case-insensitive
    assert found("search=p%C3%A9rez") == [maria.pk]
    assert found("search=12.345.678-5") == [jose.pk]  # RUT with dots
    assert found("search=3788989-k") == [kim.pk]  # check digit K, lower case
    assert found("search=9876543") == [maria.pk]  # part of a RUT
    assert found("search=9%208765%200000") == [maria.pk]  # a phone, spaced, second number
    assert found("search=%2B56%209%205555%206666") == [kim.pk]  # with +56
    assert found("search=soto&status=pending") == [kim.pk]
    assert found("search=p%C3%A9rez&status=pending") == []
    assert found("search=12345678") == [jose.pk]  # a whole RUT's body: looked up exactly
    assert found("search=4897550-6") == [typo.pk]  # a RUT with a wrong check digit, as written
    assert found("search=22%203334444") == [maria.pk]  # a Santiago number (8 digits)
    assert found("search=5555") == [kim.pk]  # part of a phone
    assert found("search=") == [jose.pk, maria.pk, kim.pk, typo.pk]
    assert found("search=nadie") == []
    assert found("search=389.000.190-3") == []  # nine digits with dots: no RUT, no error
    # Another tenant's campaign stays a 404 whatever the query.
    assert api_b.get("/api/v1/batches/batch-a/jobs?search=jos").status_code == 404
