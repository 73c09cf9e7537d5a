"""The engine's hand-written statements (see ``callcenter.db``): the ones every dial, every
webhook and every slot refill run, written out instead of compiled by the ORM at each call.
``tests/calls/test_queries.py`` checks that each reads and writes what the ORM would (the
statements marked PostgreSQL have an ORM path beside their caller, taken on SQLite)."""

import functools

from accounts.models import Account, DoNotCall
from batches.models import Batch, Job
from callcenter.db import Columns, literals, placeholders
from calls.models import CallAttempt

FINAL = (CallAttempt.Status.ENDED, CallAttempt.Status.FAILED)

# --- dispatch: after every call that ends (to refill its slot) and on every sweep -------------
# What dispatch reads of the account: slots, profile, plan, prices and balances.
BUDGET_ACCOUNT = Columns(Account, "a", only=("id", "max_concurrent_calls", "compliance_profile",
                                             "plan_type", "credits", "minutes",
                                             "cost_per_call_setup", "cost_per_minute"))
_BUDGET_SQL = f"""
SELECT (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = '{Job.Status.IN_PROGRESS}'),
       (SELECT count(*) FROM {Job._meta.db_table} j
         WHERE j.account_id = a.id AND j.status = '{Job.Status.PENDING}'
           AND j.enqueued_until > %(now)s),
       {{batches}}{{account}}
  FROM {Account._meta.db_table} a
 WHERE a.id = %(account)s AND a.status = '{Account.Status.ACTIVE}'
"""
_DUE_BATCHES = f"""
  FROM {Batch._meta.db_table}
 WHERE account_id = {{account}} AND status = '{Batch.Status.RUNNING}' AND is_active
   AND (scheduled_at IS NULL OR scheduled_at <= %(now)s)
"""
# The account's running campaigns that are due: (id, call_settings), highest priority first.
BATCHES_SQL = f"""
SELECT id, call_settings {_DUE_BATCHES.format(account="%(account)s")}
 ORDER BY priority_rank DESC, created_at
"""
# PostgreSQL: the same, as one JSON array of [id, call_settings], read with the budget.
_BATCHES_JSON = f"""
(SELECT coalesce(json_agg(json_build_array(id, call_settings)
                          ORDER BY priority_rank DESC, created_at), '[]')
 {_DUE_BATCHES.format(account="a.id")}),
"""


@functools.cache
def budget_sql(*, with_batches: bool = False) -> str:
    """(jobs in progress, jobs nudged[, ``BATCHES_SQL``'s rows as JSON], ``BUDGET_ACCOUNT``) of
    an active account. ``with_batches``: PostgreSQL (one round trip instead of two)."""
    return _BUDGET_SQL.format(account=BUDGET_ACCOUNT.sql,
                              batches=_BATCHES_JSON if with_batches else "")
# A batch's jobs due by ``due_by`` (now, or the end of the sweep's look-ahead) and not
# already nudged: (id, next_try_at).
_DUE = f"""
SELECT {{columns}} FROM {Job._meta.db_table}
 WHERE batch_id = %(batch)s AND status = '{Job.Status.PENDING}'
   AND (next_try_at IS NULL OR next_try_at <= %(due_by)s)
   AND (enqueued_until IS NULL OR enqueued_until <= %(now)s)
 ORDER BY next_try_at, id
 LIMIT %(limit)s
"""
DUE_SQL = _DUE.format(columns="id, next_try_at")
# PostgreSQL: mark up to n due jobs of a batch in one statement; rows another dispatcher holds
# are skipped, never waited for (so dispatchers of one account never queue on each other).
NUDGE_SQL = f"""
UPDATE {Job._meta.db_table} SET enqueued_until = %(until)s
 WHERE id = ANY(ARRAY({_DUE.format(columns="id")} FOR UPDATE SKIP LOCKED))
RETURNING id, next_try_at
"""

# The sweep: the accounts to dispatch, in one statement (not one dispatch per account with a
# running campaign): active, with a pending job of a running campaign due by ``due_by`` and
# not nudged (two index probes per running campaign, job_due_idx), and a slot free for it
# by ``dispatch_budget``'s count (busy and nudged jobs: job_busy_idx, job_enqueued_idx).
ACCOUNTS_TO_DISPATCH_SQL = f"""
SELECT a.id FROM {Account._meta.db_table} a
 WHERE a.status = '{Account.Status.ACTIVE}'
   AND EXISTS (
       SELECT 1 FROM {Batch._meta.db_table} b
        WHERE b.account_id = a.id AND b.status = '{Batch.Status.RUNNING}' AND b.is_active
          AND (b.scheduled_at IS NULL OR b.scheduled_at <= %(now)s)
          AND (EXISTS (SELECT 1 FROM {Job._meta.db_table} j
                        WHERE j.batch_id = b.id AND j.status = '{Job.Status.PENDING}'
                          AND j.next_try_at <= %(due_by)s
                          AND (j.enqueued_until IS NULL OR j.enqueued_until <= %(now)s))
               OR EXISTS (SELECT 1 FROM {Job._meta.db_table} j
                           WHERE j.batch_id = b.id AND j.status = '{Job.Status.PENDING}'
                             AND j.next_try_at IS NULL
                             AND (j.enqueued_until IS NULL OR j.enqueued_until <= %(now)s))))
   AND a.max_concurrent_calls + %(lookahead)s
       > (SELECT count(*) FROM {Job._meta.db_table} j
           WHERE j.account_id = a.id AND j.status = '{Job.Status.IN_PROGRESS}')
       + (SELECT count(*) FROM {Job._meta.db_table} j
           WHERE j.account_id = a.id AND j.status = '{Job.Status.PENDING}'
             AND j.enqueued_until > %(now)s)
 ORDER BY a.id
"""

# The sweep: pending jobs of cancelled campaigns (``jobs_cancel_orphaned_expired``), locked,
# oldest first. The cancelled campaigns are read first (an init plan), then their pending
# jobs by job_batch_status_idx: the join's plan walked all the pending jobs of every
# campaign (500,000 at a million jobs). Parameter: how many.
ORPHANED_JOBS_SQL = f"""
SELECT j.id FROM {Job._meta.db_table} j
 WHERE j.status = '{Job.Status.PENDING}'
   AND j.batch_id = ANY(ARRAY(SELECT b.id FROM {Batch._meta.db_table} b
                               WHERE b.status = '{Batch.Status.CANCELLED}'))
 ORDER BY j.id LIMIT %s
   FOR UPDATE SKIP LOCKED
"""

# --- a dial ---------------------------------------------------------------------------------
# (the batch if it still runs, locked until the dial commits; the account's live calls of
# other jobs; whether the job's lease is still this worker's). Parameters: batch, account,
# job, job, lease token. ``{lock}``: ``row_lock("FOR NO KEY UPDATE")``.
_LIVE_ELSEWHERE_SQL = f"""
SELECT (SELECT id FROM {Batch._meta.db_table}
         WHERE id = %s AND is_active AND status = '{Batch.Status.RUNNING}' {{lock}}),
       (SELECT count(*) FROM {CallAttempt._meta.db_table}
         WHERE account_id = %s AND status IN ({literals(CallAttempt.LIVE_STATUSES)})
           AND job_id <> %s),
       (SELECT count(*) FROM {Job._meta.db_table} WHERE id = %s AND lease_token = %s)
"""


@functools.cache
def live_elsewhere_sql(lock: str) -> str:
    return _LIVE_ELSEWHERE_SQL.format(lock=lock)


# PostgreSQL: what a dial reads right after its claim, read in the claim's statement
# (``batches.jobs.job_claim``'s ``extra``, over the claimed job ``j``): whether the job's RUT is
# on the account's do-not-call list; which of its phones are (an array); its attempts so far
# (``ATTEMPTS_SO_FAR``'s columns, by attempt number, as a JSON array of arrays). As
# ``accounts.selectors.suppressed_for`` and ``ATTEMPTS_SO_FAR`` read them.
_JOB_PHONES = ("SELECT p FROM jsonb_array_elements_text(CASE jsonb_typeof(j.contact -> 'phones')"
               " WHEN 'array' THEN j.contact -> 'phones' ELSE '[]' END) p")
_DIAL_CLAIM_EXTRA = f"""
(j.rut <> '' AND EXISTS (SELECT 1 FROM {DoNotCall._meta.db_table} d
                          WHERE d.account_id = j.account_id AND d.rut = j.rut)),
ARRAY(SELECT d.phone FROM {DoNotCall._meta.db_table} d
       WHERE d.account_id = j.account_id AND d.phone <> '' AND d.phone IN ({_JOB_PHONES})),
(SELECT coalesce(json_agg(json_build_array({{attempt}}) ORDER BY c.attempt_number), '[]')
   FROM {CallAttempt._meta.db_table} c WHERE c.job_id = j.id)
"""


# The debtor's calls of the last week (weekly compliance limits): account, rut, since.
RECENT_ENDS = Columns(CallAttempt, "c", only=("id", "ended_at", "outcome"))
RECENT_ENDS_WHERE = "c.account_id = %s AND c.rut = %s AND c.ended_at >= %s"
# A debtor without RUT is known by its phones: account, phones, since.
RECENT_ENDS_BY_PHONE_WHERE = "c.account_id = %s AND c.phone = ANY(%s) AND c.ended_at >= %s"
# A job's attempts so far, by attempt number (the one to re-send, whether one is live).
ATTEMPTS_SO_FAR = Columns(CallAttempt, "c",
                          only=("id", "attempt_number", "status", "call_id", "phone"))


@functools.cache
def dial_claim_extra() -> str:
    return _DIAL_CLAIM_EXTRA.format(attempt=ATTEMPTS_SO_FAR.sql)
# PostgreSQL: Retell accepted the call: bind it, and put its job in progress for the whole
# call (``job_sql``: ``batches.jobs.job_placed_update`` over the CTE ``placed``), in one
# statement. Parameters: call id, registered, now, now, attempt id, the status it must have,
# then the job's.
_PLACE_SQL = f"""
WITH placed AS (
    UPDATE {CallAttempt._meta.db_table}
       SET call_id = %s, status = %s, started_at = %s, updated_at = %s
     WHERE id = %s AND status = %s
 RETURNING job_id, ring_timeout, max_call_duration
), job AS ({{job_sql}})
SELECT count(*) FROM placed"""


@functools.cache
def place_sql(job_sql: str) -> str:
    return _PLACE_SQL.format(job_sql=job_sql)


# --- a call's end (webhooks) ------------------------------------------------------------------
FOUND = Columns(CallAttempt, "c", only=("id", "status", "call_id", "job_id"))
BY_CALL_ID = "c.call_id = %s"
# The metadata fallback binds only the attempt the call was placed for: the number dialled
# and the account and campaign named in the metadata (call_request sends all three) must be
# the attempt's, so a signed event of another call that carries a job id and attempt number
# (another system on the same Retell key, a copy of the metadata) changes nothing.
BY_METADATA = (
    "c.job_id = %s AND c.attempt_number = %s AND c.phone = %s"
    f" AND c.account_id = (SELECT a.id FROM {Account._meta.db_table} a WHERE a.account_id = %s)"
    f" AND c.batch_id = (SELECT b.id FROM {Batch._meta.db_table} b WHERE b.batch_id = %s)"
)
# The columns attempt_finish reads, and those it sets (plus the analysis when the call object
# carries one); not the stored call object or analysis, which can be large.
FINISH_READ = Columns(CallAttempt, "c", only=(
    "id", "status", "job_id", "account_id", "attempt_number", "phone", "idempotency_key",
    "hold_unit", "hold_amount", "max_call_duration", "started_at", "transcript",
    "recording_url"))
# The attempt a call is bound to while the call is live (registered or ongoing): call id,
# then BOUND_LIVE.
BOUND_LIVE = (CallAttempt.Status.REGISTERED, CallAttempt.Status.ONGOING)
LIVE_BY_CALL_ID = f"c.call_id = %s AND c.status IN ({placeholders(BOUND_LIVE)})"
# An attempt settled already, by call id: call id, then FINAL.
SETTLED_CALL = f"call_id = %s AND status IN ({placeholders(FINAL)})"

# PostgreSQL: a batch's call figures from the counters the database keeps (migration 0004),
# plus the rows this transaction staged and has not folded yet.
ATTEMPT_TOTALS_SQL = """
SELECT batch_id, sum(attempts), sum(in_flight), sum(contacted), sum(seconds), sum(cost) FROM (
    SELECT batch_id, attempts, in_flight, contacted, seconds, cost
      FROM calls_attempttotal WHERE batch_id = ANY(%s)
    UNION ALL
    SELECT batch_id, attempts, in_flight, contacted, seconds, cost
      FROM calls_attempttotal_delta WHERE batch_id = ANY(%s)
) AS totals GROUP BY batch_id
"""

# --- release (manage.py release): one host at a time ----------------------------------------
# A session-level advisory lock: held until unlocked or the connection ends (a killed process
# never leaves it behind).
ADVISORY_LOCK_SQL = "SELECT pg_advisory_lock(%s)"
ADVISORY_UNLOCK_SQL = "SELECT pg_advisory_unlock(%s)"
# --- retention (calls.retention): one purge of expired records at a time ---------------------
# A session-level advisory lock, released by a connection that dies with its worker.
RETENTION_LOCK_KEY = 0x72657465  # "rete"
RETENTION_LOCK_SQL = "SELECT pg_try_advisory_lock(%s)"
RETENTION_UNLOCK_SQL = "SELECT pg_advisory_unlock(%s)"
# --- the dashboard (PostgreSQL) -----------------------------------------------------------------
# Its figures from the hourly sums the database keeps (AttemptHour, migration 0006) plus the
# rows this transaction staged and has not folded yet; calls in flight by attempt_live_idx.
# ``scope``: an account's id, or 0 for every account. Parameters: scope (x3), since, today
# (x4), month; then the live count's scope (x2).
_HOURS = """
    SELECT hour, started, contacted, dialled, spend FROM calls_attempthour
     WHERE account_id = %(scope)s AND hour >= %(since)s
    UNION ALL
    SELECT hour, started, contacted, dialled, spend FROM calls_attempthour_delta
     WHERE (%(scope)s = 0 OR account_id = %(scope)s) AND hour >= %(since)s
"""
DASHBOARD_FIGURES_SQL = f"""
SELECT coalesce(sum(started) FILTER (WHERE hour >= %(today)s), 0),
       coalesce(sum(contacted) FILTER (WHERE hour >= %(today)s), 0),
       coalesce(sum(dialled) FILTER (WHERE hour >= %(today)s), 0),
       sum(spend) FILTER (WHERE hour >= %(today)s),
       sum(spend) FILTER (WHERE hour >= %(month)s),
       (SELECT count(*) FROM {CallAttempt._meta.db_table}
         WHERE status IN ({literals(CallAttempt.LIVE_STATUSES)})
           AND (%(scope)s = 0 OR account_id = %(scope)s))
  FROM ({_HOURS}) AS hours
"""
# Calls started per local day (``tz``, an IANA name) since ``since``: (day, calls).
DASHBOARD_DAYS_SQL = f"""
SELECT (hour AT TIME ZONE %(tz)s)::date, sum(started) FROM ({_HOURS}) AS hours
 GROUP BY 1 HAVING sum(started) <> 0
"""
# The cost of an account's calls ended in [start, end) (whole hours), from the same sums.
ENDED_COST_SQL = """
SELECT coalesce(sum(ended_cost), 0) FROM (
    SELECT ended_cost FROM calls_attempthour
     WHERE account_id = %(account)s AND hour >= %(start)s AND hour < %(end)s
    UNION ALL
    SELECT ended_cost FROM calls_attempthour_delta
     WHERE account_id = %(account)s AND hour >= %(start)s AND hour < %(end)s
) AS hours
"""
