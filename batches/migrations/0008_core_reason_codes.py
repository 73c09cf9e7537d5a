"""Reasons and events stored as codes, rendered in the reader's language at display time.

``Job.last_error`` and ``JobEvent.reason`` hold a JobReason code; a job event's untranslated
facts stay in its ``detail`` (the column keeps its name, ``message``). A campaign event keeps its
kind and data, from which its sentence is rendered; ``detail`` is kept only for text this
migration cannot read (it is shown as it is). Text that no code names is kept as it is.
"""

import re

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Concat, Left, Length, Substr

# The Spanish prose stored before codes, and its code (frozen: what the code wrote then).
OLD_REASONS = {
    "campaña pausada": "campaign_paused",
    "campaña programada": "campaign_scheduled",
    "cuenta suspendida": "account_suspended",
    "fuera de horario permitido": "outside_window",
    "contactado en los últimos 7 días": "weekly_contact_limit",
    "máximo de intentos semanales": "weekly_attempt_limit",
    "saldo insuficiente": "insufficient_balance",
    "esperando cupo de llamadas": "waiting_for_slot",
    "error del proveedor, reintento": "provider_error",
    "error de base de datos, reintento": "database_error",
    "recuperado: el trabajador no respondió": "recovered",
    "máximo de intentos": "max_attempts",
    "sin teléfono válido": "no_valid_phone",
    "en lista de no llamar": "do_not_call",
    "configuración de horario inválida": "invalid_window_settings",
    "campaña cancelada": "campaign_cancelled",
}
# Reasons that were stored with a detail after them.
OLD_PREFIXES = {
    "error del proveedor, reintento: ": "provider_error",
    "configuración de horario inválida: ": "invalid_window_settings",
    "número inválido ": "invalid_phone",
}
# Campaign events whose sentence needs a fact of their data.
NEEDS = {"created": "total_jobs", "cancelled": "jobs_cancelled", "retried": "jobs_retried",
         "settings_changed": "changes"}
FIXED = ("started", "paused", "resumed", "completed", "waiting_balance")
REASON_CHOICES = [
    ("campaign_paused", "campaign paused"),
    ("campaign_scheduled", "campaign scheduled"),
    ("account_suspended", "account suspended"),
    ("outside_window", "outside the allowed hours"),
    ("weekly_contact_limit", "contacted in the last 7 days"),
    ("weekly_attempt_limit", "weekly attempt limit reached"),
    ("insufficient_balance", "insufficient balance"),
    ("waiting_for_slot", "waiting for a free call slot"),
    ("provider_error", "provider error, retrying"),
    ("database_error", "database error, retrying"),
    ("invalid_phone", "invalid number"),
    ("recovered", "Recovered: the worker holding it stopped answering (its lease expired)."),
    ("retried", "Retried by an operator."),
    ("max_attempts", "maximum attempts reached"),
    ("no_valid_phone", "no valid phone"),
    ("do_not_call", "on the do-not-call list"),
    ("invalid_window_settings", "invalid calling-window settings"),
    ("campaign_cancelled", "campaign cancelled"),
]
_ERROR = re.compile(r"\((.*)\)\.?\s*$", re.S)


def to_codes(apps, schema_editor):
    Job = apps.get_model("batches", "Job")
    JobEvent = apps.get_model("batches", "JobEvent")
    BatchEvent = apps.get_model("batches", "BatchEvent")
    for old, code in OLD_REASONS.items():
        Job.objects.filter(last_error=old).update(last_error=code)
        JobEvent.objects.filter(detail=old).update(reason=code, detail="")
        # The end of a call: "#2 +569...: dial_no_answer — máximo de intentos".
        suffix = f" — {old}"
        JobEvent.objects.filter(detail__startswith="#", detail__endswith=suffix).update(
            reason=code, detail=Left("detail", Length("detail") - len(suffix)))
    for prefix, code in OLD_PREFIXES.items():
        Job.objects.filter(last_error__startswith=prefix).update(last_error=code)
        JobEvent.objects.filter(detail__startswith=prefix).update(
            reason=code, detail=Substr("detail", len(prefix) + 1))
    JobEvent.objects.filter(kind="recovered").update(reason="recovered", detail="")
    JobEvent.objects.filter(kind="retried").update(reason="retried", detail="")

    BatchEvent.objects.filter(kind__in=FIXED).update(detail="")
    for kind, key in NEEDS.items():
        if kind != "settings_changed":
            BatchEvent.objects.filter(kind=kind, data__has_key=key).update(detail="")
    for event in BatchEvent.objects.filter(kind="settings_changed", data__has_key="changes"):
        part = "call_settings" if "jobs_made_due" in event.data else "details"
        event.data = {**event.data, "part": part}
        event.detail = ""
        event.save(update_fields=["data", "detail"])
    for event in BatchEvent.objects.filter(kind="provider_error"):
        found = _ERROR.search(event.detail)
        if found:
            event.data = {**event.data, "error": found[1]}
            event.detail = ""
            event.save(update_fields=["data", "detail"])


def to_prose(apps, schema_editor):
    """Back to the Spanish reasons (campaign events keep their data; their text is not
    restored)."""
    Job = apps.get_model("batches", "Job")
    JobEvent = apps.get_model("batches", "JobEvent")
    for old, code in OLD_REASONS.items():
        Job.objects.filter(last_error=code).update(last_error=old)
        JobEvent.objects.filter(reason=code, detail="").update(detail=old)
        JobEvent.objects.filter(reason=code).exclude(detail=old).update(
            detail=Concat("detail", Value(f" — {old}")))
    Job.objects.filter(last_error="invalid_phone").update(last_error="número inválido")
    JobEvent.objects.filter(reason="invalid_phone").update(
        detail=Concat(Value("número inválido "), "detail"))


class Migration(migrations.Migration):

    dependencies = [
        ("batches", "0007_status_job_counts"),
    ]

    operations = [
        # The column stays "message": only the field's name and meaning change.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField("batchevent", "message", "detail"),
                migrations.AlterField(
                    model_name="batchevent",
                    name="detail",
                    field=models.CharField(blank=True, db_column="message", max_length=500,
                                           verbose_name="detail"),
                ),
                migrations.RenameField("jobevent", "message", "detail"),
                migrations.AlterField(
                    model_name="jobevent",
                    name="detail",
                    field=models.CharField(blank=True, db_column="message", max_length=500,
                                           verbose_name="detail"),
                ),
            ],
        ),
        migrations.AddField(
            model_name="jobevent",
            name="reason",
            field=models.CharField(blank=True, choices=REASON_CHOICES, default="",
                                   max_length=255, verbose_name="reason"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="job",
            name="last_error",
            field=models.CharField(blank=True, choices=REASON_CHOICES, max_length=255,
                                   verbose_name="last error"),
        ),
        migrations.RunPython(to_codes, to_prose),
    ]
