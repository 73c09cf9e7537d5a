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
