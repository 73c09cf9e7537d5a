"""A year of campaigns in one PostgreSQL database, fast, for the admin's scale bench.

``build(url)`` empties the application's tables and fills them with set-based SQL
(``INSERT ... SELECT generate_series``), in a few minutes on a laptop:

- 1,000 accounts (``bench-acct-0001`` ...), each with a top-up;
- 5,000 campaigns spread over the last 365 days, campaign 1 (``bench-export-100k``) with
  100,000 jobs and the 4,999 others ~180 each: 1,000,000 jobs;
- 3 call attempts per job (3,000,000), each settled by a ledger entry (3,000,000 + 1,000);
  those of the 50 running or paused campaigns made in the last 10 hours (today's work);
- 100 do-not-call entries per account (100,000);
- a superuser ``bench-admin`` and a client user ``bench-client`` of the first account.

Triggers and foreign-key checks are off during the load (``session_replication_role =
replica``): the counter tables of batches 0007 (``batches_jobcount``) and calls 0004
(``calls_attempttotal``) are then filled with one ``INSERT ... SELECT`` each, as the
migrations do. Then ``VACUUM ANALYZE``.

Only for benchmarks: it TRUNCATEs the data tables of the database it is given.
"""

from __future__ import annotations

import time

import psycopg

ACCOUNTS = 1_000
BATCHES = 5_000
EXPORT_JOBS = 100_000
JOBS = 1_000_000
ATTEMPTS_PER_JOB = 3
DNC_PER_ACCOUNT = 100
EXPORT_BATCH_ID = "bench-export-100k"
STAFF_USERNAME = "bench-admin"
CLIENT_USERNAME = "bench-client"
PASSWORD = "bench-pass-12345"

TABLES = [
    "accounts_ledgerentry",
    "accounts_donotcall",
    "calls_callattempt",
    "calls_attempttotal",
    "batches_jobevent",
    "batches_jobcount",
    "batches_job",
    "batches_batchevent",
    "batches_batch",
    "accounts_apitoken",
]

NAMES = (
    "ARRAY['José','María','Juan','Ana','Luis','Carmen','Pedro','Rosa','Jorge','Paula',"
    "'Diego','Camila','Andrés','Valentina','Felipe','Javiera','Tomás','Catalina','Matías',"
    "'Fernanda']"
)
SURNAMES = (
    "ARRAY['González','Muñoz','Rojas','Díaz','Pérez','Soto','Contreras','Silva','Martínez',"
    "'Sepúlveda','Morales','Rodríguez','López','Fuentes','Hernández','Torres','Araya',"
    "'Flores','Espinoza','Valenzuela']"
)

# (check digit of a RUT body: the modulo-11 table of batches.debtors.rut)
RUT_DV = """
CREATE FUNCTION pg_temp.rut_dv(n bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY['0','K','9','8','7','6','5','4','3','2','1'])[
    (SELECT sum((n / (10::bigint ^ i)::bigint) % 10 * (2 + i % 6)) FROM generate_series(0, 7) i)
    ::bigint % 11 + 1]
$$;
"""

# The running campaigns' calls happened over the last 10 hours (~27,000 attempts): the
# dashboard's "today" has a day's work to count.
TODAY_SQL = f"""
UPDATE calls_callattempt SET
       created_at = t, updated_at = t + interval '3 minutes', started_at = t + interval '5 seconds',
       ended_at = CASE WHEN ended_at IS NOT NULL
                       THEN t + interval '5 seconds' + duration_seconds * interval '1 second' END,
       settled_at = CASE WHEN settled_at IS NOT NULL
                         THEN t + interval '6 seconds' + duration_seconds * interval '1 second' END
  FROM (SELECT id AS attempt,
               now() - interval '10 minutes' - (id % 36000) * interval '1 second' AS t
          FROM calls_callattempt WHERE batch_id > {BATCHES} - 50) x
 WHERE id = x.attempt
"""

STEPS: list[tuple[str, str]] = [
    (
        "accounts",
        f"""
INSERT INTO accounts_account (id, created_at, updated_at, account_id, account_name,
    contact_name, contact_email, contact_phone, plan_type, status, max_concurrent_calls,
    timezone, compliance_profile, cost_per_call_setup, cost_per_minute, retell_agent_id,
    credits, minutes, total_spent)
SELECT a, now() - interval '400 days', now(), 'bench-acct-' || lpad(a::text, 4, '0'),
       'Cobranzas ' || ({SURNAMES})[1 + a % 20] || ' ' || a, 'Ana Pérez',
       'ops' || a || '@example.cl', '', 'credit_based', 'active', 10, 'America/Santiago',
       'CL', 12, 30, '', 1000000, 0, 0
  FROM generate_series(1, {ACCOUNTS}) a
""",
    ),
    (
        "campaigns",
        f"""
INSERT INTO batches_batch (id, created_at, updated_at, batch_id, name, description,
    script_content, voice_settings, call_settings, schedule_type, scheduled_at,
    recurring_config, priority, priority_rank, status, is_active, estimated_cost,
    total_rows, invalid_rows, duplicates_merged, skipped_existing, import_errors,
    completed_at, account_id, created_by_id, total_jobs, next_run_at, parent_id,
    run_number, runs_count)
SELECT b, t, CASE WHEN b > {BATCHES} - 50 THEN now() ELSE t + interval '5 days' END,
       CASE WHEN b = 1 THEN '{EXPORT_BATCH_ID}' ELSE 'bench-b' || lpad(b::text, 5, '0') END,
       'Campaña ' || to_char(t, 'YYYY-MM-DD') || ' #' || b, '', 'Hola, le llamamos de ...',
       '{{}}'::jsonb,
       '{{"max_call_duration": 600, "ring_timeout": 60, "max_attempts": 3,
         "retry_delay_hours": "30", "allowed_hours": null, "days_of_week": null,
         "timezone": "America/Santiago", "priority": "normal"}}'::jsonb,
       'immediate', NULL, NULL, 'normal', 1,
       CASE WHEN b <= {BATCHES} - 50 THEN 'completed'
            WHEN b % 5 = 0 THEN 'paused' ELSE 'running' END,
       true, 0, n, 0, 0, 0, '[]'::jsonb,
       CASE WHEN b <= {BATCHES} - 50 THEN t + interval '5 days' END,
       1 + (b - 1) % {ACCOUNTS}, NULL, n, NULL, NULL, 1, 0
  FROM generate_series(1, {BATCHES}) b,
       LATERAL (SELECT now() - interval '365 days' * ({BATCHES} - b) / {BATCHES}
                       - interval '6 days' AS t,
                       CASE WHEN b = 1 THEN {EXPORT_JOBS}
                            ELSE ({JOBS} - {EXPORT_JOBS}) / ({BATCHES} - 1)
                                 + CASE WHEN b - 2 < ({JOBS} - {EXPORT_JOBS}) % ({BATCHES} - 1)
                                        THEN 1 ELSE 0 END END AS n) x
""",
    ),
    (
        "jobs",
        f"""
INSERT INTO batches_job (id, created_at, updated_at, deduplication_key, rut, status,
    attempts, next_try_at, reserved_until, lease_token, enqueued_until, last_error,
    last_outcome, contact, payload, account_id, batch_id)
SELECT j, b.created_at + (j % 1000) * interval '1 second', b.updated_at,
       a.account_id || '::' || r.rut || '::' || b.batch_id, r.rut, s.status, 3,
       CASE WHEN s.status = 'pending' THEN now() + interval '1 hour' END,
       NULL, NULL, NULL, CASE WHEN s.status = 'failed' THEN 'max_attempts' ELSE '' END,
       CASE WHEN s.status = 'done' THEN 'user_hangup' ELSE 'dial_no_answer' END,
       jsonb_build_object('name', ({NAMES})[1 + j % 20] || ' ' || ({SURNAMES})[1 + (j / 20) % 20]
                                   || ' ' || ({SURNAMES})[1 + (j / 400) % 20],
                          'rut', r.rut, 'phones', jsonb_build_array(r.phone),
                          'email', NULL, 'next_phone_index', 0),
       jsonb_build_object('debt_amount', (10000 + j % 990000)::text || '.00',
                          'due_date', '2026-03-01', 'company_name', 'Retail SpA',
                          'additional_info', '{{}}'::jsonb),
       b.account_id, b.id
  FROM generate_series(1, {JOBS}) j
  CROSS JOIN LATERAL (
      SELECT CASE WHEN j <= {EXPORT_JOBS} THEN 1
                  ELSE 2 + (j - {EXPORT_JOBS} - 1) % ({BATCHES} - 1) END AS batch) k
  JOIN batches_batch b ON b.id = k.batch
  JOIN accounts_account a ON a.id = b.account_id
  CROSS JOIN LATERAL (
      SELECT (10000000 + j)::text || '-' || pg_temp.rut_dv(10000000 + j) AS rut,
             '+569' || (10000000 + j)::text AS phone) r
  CROSS JOIN LATERAL (
      SELECT CASE WHEN b.status IN ('running', 'paused') AND j % 3 = 0 THEN 'pending'
                  WHEN j % 20 < 12 THEN 'done'
                  WHEN j % 20 < 19 THEN 'failed'
                  ELSE 'cancelled' END AS status) s
""",
    ),
    (
        "call attempts",
        f"""
INSERT INTO calls_callattempt (id, created_at, updated_at, rut, attempt_number, phone,
    idempotency_key, call_id, status, outcome, disconnection_reason, error, provider_failures,
    started_at, ended_at, duration_seconds, cost, hold_amount, hold_unit, settled_at,
    max_call_duration, ring_timeout, transcript, recording_url, analysis, raw, account_id,
    batch_id, job_id)
SELECT (j.id - 1) * {ATTEMPTS_PER_JOB} + n, c.t, c.t + interval '3 minutes', j.rut, n,
       j.contact->'phones'->>0,
       'job-' || j.id || '-attempt-' || n, 'call_' || md5(j.id || '-' || n),
       CASE WHEN o.live THEN 'ongoing' ELSE 'ended' END,
       CASE WHEN o.live THEN '' ELSE o.outcome END,
       CASE WHEN o.live THEN '' ELSE o.reason END, '', 0,
       c.t + interval '5 seconds',
       CASE WHEN NOT o.live THEN c.t + interval '5 seconds' + o.seconds * interval '1 second' END,
       CASE WHEN NOT o.live THEN o.seconds END,
       CASE WHEN NOT o.live THEN 12 + o.seconds * 0.5 END,
       0, '',
       CASE WHEN NOT o.live THEN c.t + interval '6 seconds' + o.seconds * interval '1 second' END,
       600, 60,
       CASE WHEN o.outcome = 'contact' THEN 'Agente: Hola, ¿hablo con '
            || (j.contact->>'name') || '?' || chr(10) || 'Usuario: Sí, con él.' ELSE '' END,
       CASE WHEN o.outcome = 'contact'
            THEN 'https://recordings.example/' || j.id || '-' || n || '.wav' ELSE '' END,
       '{{}}'::jsonb,
       jsonb_build_object('call_id', 'call_' || md5(j.id || '-' || n), 'call_status', 'ended',
                          'agent_id', 'agent_bench', 'disconnection_reason', o.reason,
                          'from_number', '+56229999999', 'to_number', j.contact->'phones'->>0,
                          'metadata', jsonb_build_object('job_id', j.id, 'attempt', n)),
       j.account_id, j.batch_id, j.id
  FROM batches_job j
  CROSS JOIN generate_series(1, {ATTEMPTS_PER_JOB}) n
  CROSS JOIN LATERAL (
      SELECT least(j.created_at + (n - 1) * interval '1 day' + (j.id % 36000) * interval '1 second',
                   now() - interval '10 minutes' + (j.id % 600) * interval '1 second') AS t) c
  CROSS JOIN LATERAL (
      SELECT j.status = 'pending' AND n = {ATTEMPTS_PER_JOB} AND j.id % 97 = 0 AS live,
             CASE WHEN j.status = 'done' AND n = {ATTEMPTS_PER_JOB} THEN 'contact'
                  WHEN (j.id + n) % 50 = 0 THEN 'invalid_number'
                  WHEN (j.id + n) % 211 = 0 THEN 'provider_error'
                  ELSE 'no_contact' END AS outcome,
             CASE WHEN j.status = 'done' AND n = {ATTEMPTS_PER_JOB} THEN 'user_hangup'
                  WHEN (j.id + n) % 50 = 0 THEN 'invalid_destination'
                  WHEN (j.id + n) % 211 = 0 THEN 'error_unknown'
                  ELSE 'dial_no_answer' END AS reason,
             CASE WHEN j.status = 'done' AND n = {ATTEMPTS_PER_JOB} THEN 30 + j.id % 270
                  ELSE 0 END AS seconds) o
""",
    ),
    (
        "today's calls",
        TODAY_SQL,
    ),
    (
        "ledger entries",
        """
INSERT INTO accounts_ledgerentry (kind, unit, amount, balance_after, reason, reference,
    created_at, account_id, created_by_id)
SELECT 'topup', 'credits', 10000000, 10000000, 'Top-up', 'initial',
       now() - interval '400 days', id, NULL
  FROM accounts_account ORDER BY id;
INSERT INTO accounts_ledgerentry (kind, unit, amount, balance_after, reason, reference,
    created_at, account_id, created_by_id)
SELECT 'settlement', 'credits', -cost, 10000000 - cost * 10, disconnection_reason,
       idempotency_key, settled_at, account_id, NULL
  FROM calls_callattempt WHERE settled_at IS NOT NULL AND cost > 0 ORDER BY id
""",
    ),
    (
        "do-not-call",
        f"""
INSERT INTO accounts_donotcall (created_at, updated_at, phone, rut, reason, account_id)
SELECT now() - (i % 365) * interval '1 day', now(),
       CASE WHEN i % 2 = 0 THEN '+569' || (30000000 + a * {DNC_PER_ACCOUNT} + i)::text ELSE '' END,
       CASE WHEN i % 2 = 1 THEN (20000000 + a * {DNC_PER_ACCOUNT} + i)::text || '-'
                                || pg_temp.rut_dv(20000000 + a * {DNC_PER_ACCOUNT} + i)
            ELSE '' END,
       'Asked not to be called', a
  FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {DNC_PER_ACCOUNT}) i
""",
    ),
    (
        "counters",
        """
INSERT INTO batches_jobcount (batch_id, status, stripe, jobs)
SELECT batch_id, status, 0, count(*) FROM batches_job GROUP BY batch_id, status;
INSERT INTO calls_attempttotal (batch_id, stripe, attempts, in_flight, contacted, seconds, cost)
SELECT batch_id, 0, count(*),
       count(*) FILTER (WHERE status IN ('dialling', 'registered', 'ongoing')),
       count(*) FILTER (WHERE outcome = 'contact'),
       coalesce(sum(duration_seconds), 0), coalesce(sum(cost), 0)
  FROM calls_callattempt GROUP BY batch_id
""",
    ),
    (
        "sequences",
        """
SELECT setval(pg_get_serial_sequence('accounts_account', 'id'),
              (SELECT max(id) FROM accounts_account));
SELECT setval(pg_get_serial_sequence('batches_batch', 'id'), (SELECT max(id) FROM batches_batch));
SELECT setval(pg_get_serial_sequence('batches_job', 'id'), (SELECT max(id) FROM batches_job));
SELECT setval(pg_get_serial_sequence('calls_callattempt', 'id'),
              (SELECT max(id) FROM calls_callattempt))
""",
    ),
]


def build(url: str, *, log=print) -> dict:
    """Empty and fill the database at ``url``; return the row counts."""
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET work_mem = '64MB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute(RUT_DV)
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        conn.execute("DELETE FROM accounts_user WHERE account_id IS NOT NULL OR "
                     "username IN (%s, %s)", [STAFF_USERNAME, CLIENT_USERNAME])
        conn.execute("DELETE FROM accounts_account")
        for name, sql in STEPS:
            t0 = time.perf_counter()
            with conn.transaction():
                # No triggers, no foreign-key checks: the counters are filled afterwards.
                conn.execute("SET LOCAL session_replication_role = replica")
                for statement in sql.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
            log(f"  {name}: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        for table in ("accounts_account", "batches_batch", "batches_job", "calls_callattempt",
                      "accounts_ledgerentry", "accounts_donotcall", "batches_jobcount",
                      "calls_attempttotal"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        log(f"  vacuum analyze: {time.perf_counter() - t0:.1f} s")
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("accounts_account", "batches_batch", "batches_job",
                          "calls_callattempt", "accounts_ledgerentry", "accounts_donotcall")
        }
    log(f"  built in {time.perf_counter() - started:.0f} s: {counts}")
    return counts


def users():
    """The bench's superuser and client user (Django must be set up)."""
    from accounts.models import Account, User

    staff, _ = User.objects.get_or_create(
        username=STAFF_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    if not staff.has_usable_password() or not staff.check_password(PASSWORD):
        staff.set_password(PASSWORD)
        staff.save()
    account = Account.objects.order_by("id").first()
    client, _ = User.objects.get_or_create(username=CLIENT_USERNAME,
                                           defaults={"account": account})
    return staff, client, account
