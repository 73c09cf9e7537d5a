"""Migration 0008: reasons and events stored as Spanish prose become codes (issue 15)."""

import importlib

from django.apps import apps
from django.utils import translation

from batches.models import BatchEvent, Job, JobEvent
from tests.factories import BatchFactory, JobFactory

migration = importlib.import_module("batches.migrations.0008_core_reason_codes")


def test_stored_prose_becomes_codes_and_unknown_text_is_kept(account_a):
    batch = BatchFactory(account=account_a)
    window = JobFactory(batch=batch, last_error="fuera de horario permitido")
    provider = JobFactory(batch=batch, last_error="error del proveedor, reintento: 503")
    odd = JobFactory(batch=batch, last_error="algo que nadie escribió")
    settled = JobEvent.objects.create(
        job=window, kind="failed",
        detail="#3 +56912345671: dial_no_answer — máximo de intentos")
    invalid = JobEvent.objects.create(job=window, kind="waiting",
                                      detail="número inválido +56912345671")
    recovered = JobEvent.objects.create(job=window, kind="recovered",
                                        detail="Recuperado: el trabajador dejó de responder.")
    created = BatchEvent.objects.create(
        batch=batch, kind="created", detail="Campaña creada con 25 gestiones…",
        data={"total_jobs": 25, "total_rows": 25})
    refused = BatchEvent.objects.create(
        batch=batch, kind="provider_error",
        detail="Pausada: Retell rechazó la cuenta (account (402): payment required).")
    changed = BatchEvent.objects.create(
        batch=batch, kind="settings_changed", detail="Configuración cambiada: …",
        data={"changes": {"max_attempts": {"from": 3, "to": 5}}, "jobs_made_due": 0})

    migration.to_codes(apps, None)

    assert {j.pk: j.last_error for j in Job.objects.all()} == {
        window.pk: "outside_window", provider.pk: "provider_error",
        odd.pk: "algo que nadie escribió"}
    settled.refresh_from_db(), invalid.refresh_from_db(), recovered.refresh_from_db()
    assert (settled.reason, settled.detail) == ("max_attempts", "#3 +56912345671: dial_no_answer")
    assert (invalid.reason, invalid.detail) == ("invalid_phone", "+56912345671")
    assert (recovered.reason, recovered.detail) == ("recovered", "")
    for event in (created, refused, changed):
        event.refresh_from_db()
    with translation.override("en"):
        assert settled.message == "#3 +56912345671: dial_no_answer — maximum attempts reached"
        assert created.message.startswith("Campaign created with 25 jobs from 25 rows")
        assert refused.message == (
            "Paused: Retell refused the account (account (402): payment required).")
        assert changed.message == "Call settings changed: max_attempts: 3 → 5"
