"""The attempt counters (0004) at less cost per call.

- An UPDATE that changes none of the figures stages nothing: 0004 staged the old rows
  subtracted and the new ones added (two rows, folded at commit) whatever changed, and most of
  a call's updates change no figure (the create bound: dialling -> registered, both in
  flight; the analysis stored after the call ended). The old and new rows are now added up
  per batch before anything is staged, as batches/0007 does for the jobs.
- Staged rows carry their transaction's id, indexed, and the fold deletes its own by that id
  instead of scanning the staging table (see batches/0010).

The counters and the order in which the fold locks them are unchanged.
"""

from django.db import migrations

LIVE = "'dialling', 'registered', 'ongoing'"
CONTACT = "'contact'"

FORWARD = f"""
ALTER TABLE calls_attempttotal_delta
    ADD COLUMN xact xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX calls_attempttotal_delta_xact ON calls_attempttotal_delta (xact);

CREATE OR REPLACE FUNCTION calls_attempt_totals_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO calls_attempttotal_delta
               (batch_id, attempts, in_flight, contacted, seconds, cost)
        SELECT batch_id, count(*), count(*) FILTER (WHERE status IN ({LIVE})),
               count(*) FILTER (WHERE outcome = {CONTACT}),
               coalesce(sum(duration_seconds), 0), coalesce(sum(cost), 0)
          FROM new_attempts GROUP BY batch_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO calls_attempttotal_delta
               (batch_id, attempts, in_flight, contacted, seconds, cost)
        SELECT batch_id, -count(*), -count(*) FILTER (WHERE status IN ({LIVE})),
               -count(*) FILTER (WHERE outcome = {CONTACT}),
               -coalesce(sum(duration_seconds), 0), -coalesce(sum(cost), 0)
          FROM old_attempts GROUP BY batch_id;
    ELSE
        INSERT INTO calls_attempttotal_delta
               (batch_id, attempts, in_flight, contacted, seconds, cost)
        SELECT batch_id, sum(attempts), sum(in_flight), sum(contacted), sum(seconds),
               sum(cost)
          FROM (
            SELECT batch_id, count(*) AS attempts,
                   count(*) FILTER (WHERE status IN ({LIVE})) AS in_flight,
                   count(*) FILTER (WHERE outcome = {CONTACT}) AS contacted,
                   coalesce(sum(duration_seconds), 0) AS seconds,
                   coalesce(sum(cost), 0) AS cost
              FROM new_attempts GROUP BY batch_id
            UNION ALL
            SELECT batch_id, -count(*), -count(*) FILTER (WHERE status IN ({LIVE})),
                   -count(*) FILTER (WHERE outcome = {CONTACT}),
                   -coalesce(sum(duration_seconds), 0), -coalesce(sum(cost), 0)
              FROM old_attempts GROUP BY batch_id
          ) AS changes
         GROUP BY batch_id
        HAVING sum(attempts) <> 0 OR sum(in_flight) <> 0 OR sum(contacted) <> 0
            OR sum(seconds) <> 0 OR sum(cost) <> 0;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION calls_attempt_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH staged AS (
        DELETE FROM calls_attempttotal_delta WHERE xact = pg_current_xact_id()
        RETURNING batch_id, attempts, in_flight, contacted, seconds, cost
    )
    INSERT INTO calls_attempttotal AS t
           (batch_id, stripe, attempts, in_flight, contacted, seconds, cost)
    SELECT s.batch_id, pg_backend_pid() % 16, sum(s.attempts), sum(s.in_flight),
           sum(s.contacted), sum(s.seconds), sum(s.cost)
      FROM staged s JOIN batches_batch b ON b.id = s.batch_id
     GROUP BY s.batch_id
    HAVING sum(s.attempts) <> 0 OR sum(s.in_flight) <> 0 OR sum(s.contacted) <> 0
        OR sum(s.seconds) <> 0 OR sum(s.cost) <> 0
     ORDER BY s.batch_id
    ON CONFLICT (batch_id, stripe) DO UPDATE SET
        attempts = t.attempts + excluded.attempts, in_flight = t.in_flight + excluded.in_flight,
        contacted = t.contacted + excluded.contacted, seconds = t.seconds + excluded.seconds,
        cost = t.cost + excluded.cost;
    RETURN NULL;
END $$;
"""

BACKWARD = f"""
CREATE OR REPLACE FUNCTION calls_attempt_totals_stage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO calls_attempttotal_delta
        SELECT batch_id, count(*), count(*) FILTER (WHERE status IN ({LIVE})),
               count(*) FILTER (WHERE outcome = {CONTACT}),
               coalesce(sum(duration_seconds), 0), coalesce(sum(cost), 0)
          FROM new_attempts GROUP BY batch_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO calls_attempttotal_delta
        SELECT batch_id, -count(*), -count(*) FILTER (WHERE status IN ({LIVE})),
               -count(*) FILTER (WHERE outcome = {CONTACT}),
               -coalesce(sum(duration_seconds), 0), -coalesce(sum(cost), 0)
          FROM old_attempts GROUP BY batch_id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION calls_attempt_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH staged AS (
        DELETE FROM calls_attempttotal_delta
        RETURNING batch_id, attempts, in_flight, contacted, seconds, cost
    )
    INSERT INTO calls_attempttotal AS t
           (batch_id, stripe, attempts, in_flight, contacted, seconds, cost)
    SELECT s.batch_id, pg_backend_pid() % 16, sum(s.attempts), sum(s.in_flight),
           sum(s.contacted), sum(s.seconds), sum(s.cost)
      FROM staged s JOIN batches_batch b ON b.id = s.batch_id
     GROUP BY s.batch_id
    HAVING sum(s.attempts) <> 0 OR sum(s.in_flight) <> 0 OR sum(s.contacted) <> 0
        OR sum(s.seconds) <> 0 OR sum(s.cost) <> 0
     ORDER BY s.batch_id
    ON CONFLICT (batch_id, stripe) DO UPDATE SET
        attempts = t.attempts + excluded.attempts, in_flight = t.in_flight + excluded.in_flight,
        contacted = t.contacted + excluded.contacted, seconds = t.seconds + excluded.seconds,
        cost = t.cost + excluded.cost;
    RETURN NULL;
END $$;

DROP INDEX calls_attempttotal_delta_xact;
ALTER TABLE calls_attempttotal_delta DROP COLUMN xact;
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("batches", "0012_job_count_delta_by_transaction"),
        ("calls", "0004_output_attempt_totals"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
