"""The admin's ledger filtered by kind (top-ups, refunds, adjustments): an index on (kind,
created_at) of every entry but settlements, so the page is an index walk instead of a read
of the whole ledger; a settlement (one per call, the hot path) does not touch it. Built
CONCURRENTLY on PostgreSQL: settlements keep being written while it builds."""

from django.db import migrations, models

INDEX = models.Index(
    condition=models.Q(("kind", "settlement"), _negated=True),
    fields=["kind", "created_at"],
    name="ledger_kind_idx",
)


def forwards(apps, schema_editor):
    model = apps.get_model("accounts", "LedgerEntry")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, INDEX, concurrently=True)
    else:
        schema_editor.add_index(model, INDEX)


def backwards(apps, schema_editor):
    model = apps.get_model("accounts", "LedgerEntry")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, INDEX, concurrently=True)
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("accounts", "0004_apitoken"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ledgerentry", index=INDEX)],
            database_operations=[migrations.RunPython(forwards, backwards)],
        ),
    ]
