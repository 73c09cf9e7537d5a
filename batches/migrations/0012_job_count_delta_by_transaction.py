"""The job counters' staging table (0007) found by transaction, not scanned.

At every commit the fold (``batches_job_counts_apply``) emptied ``batches_jobcount_delta``
with ``DELETE FROM batches_jobcount_delta``: a scan of the whole table, which every worker
fills and empties hundreds of times a second, so that between two autovacuums (a minute or
more apart on a busy server) it holds tens of thousands of dead rows, scanned at every fold:
the call engine's commits cost more the longer it ran (~0.35 ms of PostgreSQL's CPU more per
status change after 4,000 calls, bench/engine_profile.py). Each staged row now carries its
transaction's id, indexed, and the fold deletes its own by that id: an index probe whatever
the table holds. The counters, the staging and the order in which the fold locks the counter
rows are unchanged.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE batches_jobcount_delta
    ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX batches_jobcount_delta_xact ON batches_jobcount_delta (xact);

CREATE OR REPLACE FUNCTION batches_job_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH staged AS (
        DELETE FROM batches_jobcount_delta WHERE xact = pg_current_xact_id()
        RETURNING batch_id, status, jobs
    )
    INSERT INTO batches_jobcount AS c (batch_id, status, stripe, jobs)
    SELECT s.batch_id, s.status, pg_backend_pid() % 16, sum(s.jobs)
      FROM staged s JOIN batches_batch b ON b.id = s.batch_id
     GROUP BY s.batch_id, s.status HAVING sum(s.jobs) <> 0
     ORDER BY s.batch_id, s.status
    ON CONFLICT (batch_id, status, stripe) DO UPDATE SET jobs = c.jobs + excluded.jobs;
    RETURN NULL;
END $$;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION batches_job_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH staged AS (
        DELETE FROM batches_jobcount_delta RETURNING batch_id, status, jobs
    )
    INSERT INTO batches_jobcount AS c (batch_id, status, stripe, jobs)
    SELECT s.batch_id, s.status, pg_backend_pid() % 16, sum(s.jobs)
      FROM staged s JOIN batches_batch b ON b.id = s.batch_id
     GROUP BY s.batch_id, s.status HAVING sum(s.jobs) <> 0
     ORDER BY s.batch_id, s.status
    ON CONFLICT (batch_id, status, stripe) DO UPDATE SET jobs = c.jobs + excluded.jobs;
    RETURN NULL;
END $$;

DROP INDEX batches_jobcount_delta_xact;
ALTER TABLE batches_jobcount_delta DROP COLUMN xact;
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("batches", "0011_job_phones_idx"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
