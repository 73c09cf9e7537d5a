"""The batches app's hand-written statements (see ``callcenter.db``): a job's claim and read at
every dial and settle, the import's ``COPY``, the counters of the campaign list.
``tests/batches/test_queries.py`` checks that each reads and writes what the ORM would (the
statements marked PostgreSQL have an ORM path beside their caller, taken on SQLite)."""

import functools

from accounts.models import Account
from batches.models import Batch, Job, JobCount, JobEvent
from callcenter.db import Columns, placeholders

# --- a job as the engine reads it -------------------------------------------------------------
# What the engine never reads of a job's batch, and which can be large: the import report
# (up to 1,000 issues of JSON), the agent's script, free texts; they stay deferred.
BATCH_DEFERRED = ("import_errors", "script_content", "description", "recurring_config")
JOB_COLUMNS = Columns(Job, "j")
BATCH_COLUMNS = Columns(Batch, "b", exclude=BATCH_DEFERRED)
ACCOUNT_COLUMNS = Columns(Account, "a")
_ENGINE_JOB_SQL = """
SELECT {columns}
  FROM {source} j
  JOIN {batch} b ON b.id = j.batch_id
  JOIN {account} a ON a.id = j.account_id
"""


@functools.cache
def engine_job_sql(source: str = Job._meta.db_table, where: str = "", lock: str = "",
                   extra: str = "") -> str:
    """A job with its batch and account (as select_related reads them) from ``source``;
    ``extra``: more expressions over them (aliases j, b, a), after their columns."""
    columns = ", ".join(c.sql for c in (JOB_COLUMNS, BATCH_COLUMNS, ACCOUNT_COLUMNS))
    if extra:
        columns += f", {extra}"
    return _ENGINE_JOB_SQL.format(columns=columns, source=source, batch=Batch._meta.db_table,
                                  account=Account._meta.db_table) + where + lock


ENGINE_JOB_WIDTH = len(JOB_COLUMNS) + len(BATCH_COLUMNS) + len(ACCOUNT_COLUMNS)


def engine_job_build(row) -> Job:
    """The job of a row of ``engine_job_sql``, its batch and account attached (the values of
    ``extra`` are ``row[ENGINE_JOB_WIDTH:]``)."""
    jobs_end = len(JOB_COLUMNS)
    batches_end = jobs_end + len(BATCH_COLUMNS)
    job = JOB_COLUMNS.build(row[:jobs_end])
    job.batch = BATCH_COLUMNS.build(row[jobs_end:batches_end])
    job.account = ACCOUNT_COLUMNS.build(row[batches_end:ENGINE_JOB_WIDTH])
    return job


_CLAIM_SQL = f"""
WITH claimed AS (
UPDATE {Job._meta.db_table}
   SET status = %s, reserved_until = %s, lease_token = %s, enqueued_until = NULL,
       updated_at = %s
 WHERE id = %s AND status = %s AND (next_try_at IS NULL OR next_try_at <= %s)
RETURNING *)"""


@functools.cache
def claim_sql(extra: str = "") -> str:
    """PostgreSQL: the claim and the read in one round trip (the UPDATE's new row, joined;
    ``extra``: more expressions read in the same statement, as ``engine_job_sql``'s).
    Parameters: in progress, reserved until, lease token, now, job id, pending, now."""
    return _CLAIM_SQL + engine_job_sql("claimed", extra=extra)

# PostgreSQL: a job whose call was placed is in progress for the whole call (its lease covers
# the ring time, the longest call and a margin) and counts one attempt, in the statement that
# binds the call. ``{calls}``: a CTE of the caller's statement giving job_id, ring_timeout and
# max_call_duration. Parameters: in progress, now, margin (s), now, the open statuses.
_PLACED_SQL = f"""
UPDATE {Job._meta.db_table} j
   SET status = %s, attempts = j.attempts + 1,
       reserved_until = CAST(%s AS timestamptz) + make_interval(
           secs => {{calls}}.ring_timeout + {{calls}}.max_call_duration + %s),
       enqueued_until = NULL, last_error = '', updated_at = %s
  FROM {{calls}}
 WHERE j.id = {{calls}}.job_id AND j.status IN ({placeholders(Job.OPEN_STATUSES)})
"""


@functools.cache
def placed_sql(calls: str) -> str:
    return _PLACED_SQL.format(calls=calls)


# PostgreSQL: which of these batches (ids, each with the instant its calling window opens)
# have a pending job with no zone of its own due before that instant, or with no due time:
# the ones whose jobs the sweep defers to the opening. Two index probes per batch
# (job_due_idx), stopping at the first job found: a batch whose due jobs were deferred
# already costs next to nothing. Parameters: [batch ids], [openings].
DUE_BEFORE_SQL = f"""
SELECT v.batch_id FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(batch_id, opens)
 WHERE EXISTS (SELECT 1 FROM {Job._meta.db_table} j
                WHERE j.batch_id = v.batch_id AND j.status = '{Job.Status.PENDING}'
                  AND j.next_try_at < v.opens AND NOT j.contact ? 'timezone')
    OR EXISTS (SELECT 1 FROM {Job._meta.db_table} j
                WHERE j.batch_id = v.batch_id AND j.status = '{Job.Status.PENDING}'
                  AND j.next_try_at IS NULL AND NOT j.contact ? 'timezone')
"""

# PostgreSQL: a job whose phones all start with a prefix (%s).
ALL_PHONES_LIKE = ("NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(contact -> 'phones') p"
                   " WHERE p NOT LIKE %s)")

# --- import (PostgreSQL; bulk_create and the ORM elsewhere) -----------------------------------
JOB_COPY_COLUMNS = (
    "created_at",
    "updated_at",
    "batch_id",
    "account_id",
    "deduplication_key",
    "rut",
    "status",
    "attempts",
    "next_try_at",
    "last_error",
    "last_outcome",
    "contact",
    "payload",
)
COPY_SQL = f"COPY {Job._meta.db_table} ({', '.join(JOB_COPY_COLUMNS)}) FROM STDIN"
# Jobs rewritten after a late duplicate was merged into their debtor, found by their unique
# deduplication key: (keys, contact JSON texts, payload JSON texts) as three arrays.
REFRESH_SQL = (
    f"UPDATE {Job._meta.db_table} AS j SET contact = v.contact::jsonb, "
    "payload = v.payload::jsonb "
    "FROM unnest(%s::text[], %s::text[], %s::text[]) AS v(key, contact, payload) "
    "WHERE j.deduplication_key = v.key"
)
# The quoted names of a table's deferred foreign keys (parameter: the table).
FOREIGN_KEYS_SQL = (
    "SELECT quote_ident(conname) FROM pg_constraint WHERE conrelid = %s::regclass "
    "AND contype = 'f' AND condeferrable AND condeferred ORDER BY conname"
)


def set_constraints_sql(names: str, mode: str) -> str:
    """``names``: quoted constraint names from ``FOREIGN_KEYS_SQL``, comma-separated."""
    if mode not in ("IMMEDIATE", "DEFERRED"):
        raise ValueError(mode)
    return f"SET CONSTRAINTS {names} {mode}"


# The columns the planner needs fresh figures of after an import: the batch and status the
# hot queries filter on, the due time, the RUT of the open-job check. Not the JSON documents.
ANALYZE_SQL = (
    f"ANALYZE (SKIP_LOCKED) {Job._meta.db_table} (batch_id, account_id, status, next_try_at, rut)"
)
# ([batch ids], [ruts], [job statuses]): one array parameter whatever the number of RUTs.
# The batches are named (the account's open ones) rather than the account, so the rows of a
# batch being imported, in the same table, are never scanned: this runs once per chunk.
OPEN_RUTS_SQL = (
    f"SELECT DISTINCT ON (j.rut) j.rut, b.batch_id FROM {Job._meta.db_table} j "
    f"JOIN {Batch._meta.db_table} b ON b.id = j.batch_id "
    "WHERE j.batch_id = ANY(%s) AND j.rut = ANY(%s) AND j.status = ANY(%s) "
    "ORDER BY j.rut, j.id"
)
# One import per account at a time (parameter: the lock's key), until the transaction ends.
IMPORT_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"

# --- reads --------------------------------------------------------------------------------------
# PostgreSQL: the counters batches_jobcount holds (committed) plus the changes this
# transaction staged and has not folded in yet (see migration 0007): a handful of rows per
# batch. Parameters: [batch ids] twice.
JOB_COUNTS_SQL = f"""
SELECT batch_id, status, sum(jobs) FROM (
    SELECT batch_id, status, jobs FROM {JobCount._meta.db_table} WHERE batch_id = ANY(%s)
    UNION ALL
    SELECT batch_id, status, jobs FROM batches_jobcount_delta WHERE batch_id = ANY(%s)
) AS counts GROUP BY batch_id, status
"""

# PostgreSQL: an account's jobs per status, from the same counters over its batches (a few
# rows per batch, whatever their size). Parameters: the account's id twice.
ACCOUNT_JOB_COUNTS_SQL = f"""
SELECT status, sum(jobs) FROM (
    SELECT c.status, c.jobs FROM {JobCount._meta.db_table} c
      JOIN {Batch._meta.db_table} b ON b.id = c.batch_id WHERE b.account_id = %s
    UNION ALL
    SELECT d.status, d.jobs FROM batches_jobcount_delta d
      JOIN {Batch._meta.db_table} b ON b.id = d.batch_id WHERE b.account_id = %s
) AS counts GROUP BY status
"""

# --- retention (batches.services.retention) -------------------------------------------------
# Finished jobs removed by the retention policy, their events with them (parameter: the ids,
# twice). Written out: the ORM's delete would first read every job, JSON and all, to cascade.
RETENTION_JOBS_DELETE_SQL = f"""
WITH events AS (DELETE FROM {JobEvent._meta.db_table} WHERE job_id = ANY(%s))
DELETE FROM {Job._meta.db_table} WHERE id = ANY(%s)
"""
