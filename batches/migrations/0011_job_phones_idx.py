"""The admin's search of a debtor by phone: a GIN index (jsonb_path_ops) on the jobs'
``contact -> 'phones'``, so ``contact->'phones' @> '["+56912345678"]'`` is an index probe
instead of a scan of every job. Built CONCURRENTLY on PostgreSQL (jobs keep being written
while it builds); the SQLite demo has no such index (its search scans)."""

import django.contrib.postgres.indexes
import django.db.models.fields.json
from django.db import migrations

CREATE = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS job_phones_idx ON batches_job "
    "USING gin ((contact -> 'phones') jsonb_path_ops)"
)
DROP = "DROP INDEX CONCURRENTLY IF EXISTS job_phones_idx"


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("batches", "0010_pending_uploads"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="job",
                    index=django.contrib.postgres.indexes.GinIndex(
                        django.contrib.postgres.indexes.OpClass(
                            django.db.models.fields.json.KeyTransform("phones", "contact"),
                            name="jsonb_path_ops",
                        ),
                        name="job_phones_idx",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
            ],
        ),
    ]
