"""Benchmark: the retention policy (``calls.retention``) on a database of realistic size.

Two ways to run it:

- from ``bench/scale.py`` (the "scale" benchmark), which calls ``measure(report, size, ctx)``
  last, after every other figure: its database holds one year of campaigns, so nothing is past
  the default 24 months; the purge is measured as it would run 18 months later (``now`` moved
  forward, so the cutoff falls 6 months ago and about half of that year expires). DESTRUCTIVE:
  the records so expired are really removed; the database is then marked as no longer built
  (its ``COMMENT``), so ``scale.py --reuse`` builds it afresh. ``BENCH_RETENTION_PURGE=0``
  measures the dry runs only.
- alone: ``.venv/bin/python bench/scale_retention.py --build [--size large|small]`` fills its
  own database (``DATABASE_URL``, default ``cc_retention_bench``: dropped and migrated) with
  set-based SQL (``INSERT ... SELECT generate_series``, triggers off as for a restore, the
  counters then filled as their migrations do): 1,000 accounts (10 % keeping 36 months), 12
  campaigns each spread over 3 years (2 % left paused, the last ones running), 125 debtors per
  campaign, 2 calls per debtor: 3,000,000 call attempts (transcripts for contacts), their
  3 ledger entries each (hold, release, charge: 9,000,000) and a top-up per account, a job
  event per job and 2 events per campaign. About a third is past 24 months. Without
  ``--build`` it measures the database as it is (the real purge empties it of what expired:
  build again to measure again).

Figures: the dry run's time (``--dry-run``: counts only), the purge's time, rows removed per
second (attempts, jobs, campaigns and ledger entries, each removed row counted once; job and
campaign events come along uncounted), the longest single chunk transaction (the longest any
row lock is held, at ``--batch-size`` rows), a second purge's time (the nightly cost when
nothing is due), and a check that every account's balance still equals its ledger's sum.
The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cc_retention_bench"
BATCH_SIZE = 5_000
SIZES = {
    # accounts, campaigns per account (over 3 years), jobs per campaign, calls per job
    "large": dict(accounts=1_000, campaigns=12, jobs=125, calls=2),
    "medium": dict(accounts=100, campaigns=12, jobs=125, calls=2),
    # As many calls as medium on 10 accounts: full 5,000-row chunks.
    "dense": dict(accounts=10, campaigns=12, jobs=1_250, calls=2),
    "small": dict(accounts=10, campaigns=12, jobs=25, calls=2),
}
SCALE_SHIFT_DAYS = 548  # ~18 months: the "scale" database's year is then half expired
NOT_BUILT = "purged by bench.scale_retention: build again"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count()} cores)"


# --- the database ----------------------------------------------------------------------------

def _dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def recreate_and_migrate(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(_dsn(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": url,
           "DJANGO_SETTINGS_MODULE": "callcenter.settings.test"}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env,
                   check=True, cwd=ROOT)


CALL_SETTINGS = ('{"max_call_duration": 600, "ring_timeout": 60, "max_attempts": 3, '
                 '"retry_delay_hours": "30", "allowed_hours": null, "days_of_week": null, '
                 '"timezone": "America/Santiago", "priority": "normal"}')
TRANSCRIPT = ("Agente: Buenos días, le hablo de Retail SpA por su deuda vencida. "
              "Usuario: Sí, voy a pagar el viernes. Agente: Perfecto, queda registrado. ") * 6


def build_sql(*, accounts: int, campaigns: int, jobs: int, calls: int, t0: datetime) -> list:
    """The statements, in order (each a plain string: no parameters)."""
    t0s = f"'{t0.isoformat()}'::timestamptz"
    return [
        ("accounts", f"""
INSERT INTO accounts_account (id, created_at, updated_at, account_id, account_name,
    contact_name, contact_email, contact_phone, plan_type, status, max_concurrent_calls,
    timezone, compliance_profile, cost_per_call_setup, cost_per_minute, retell_agent_id,
    credits, minutes, total_spent, record_retention_months)
SELECT a, {t0s} - interval '1100 days', {t0s} - interval '1100 days', 'ret-' || a,
       'Cobranzas ' || a, 'Ana Pérez', 'ops' || a || '@example.cl', '', 'credit_based',
       'active', 5, 'America/Santiago', 'CL', 0.5, 0.3, '', 0, 0, 0,
       CASE WHEN a % 10 = 0 THEN 36 ELSE 24 END
  FROM generate_series(1, {accounts}) a"""),
        # Campaign k of account a starts k * 91 + a % 60 days into the 3 years, runs 14 days.
        ("campaigns", f"""
INSERT INTO batches_batch (id, created_at, updated_at, batch_id, name, description,
    script_content, voice_settings, call_settings, schedule_type, priority, priority_rank,
    status, is_active, estimated_cost, total_rows, invalid_rows, duplicates_merged,
    skipped_existing, import_errors, completed_at, account_id, total_jobs, run_number,
    runs_count)
SELECT id, created, CASE WHEN status IN ('completed', 'cancelled') THEN created + interval
       '14 days' ELSE created END, 'ret-' || id, 'Campaña ' || id, '', '', '{{}}',
       '{CALL_SETTINGS}'::jsonb, 'immediate', 'normal', 1, status, true, 0, {jobs}, 0, 0, 0,
       '[]', CASE WHEN status IN ('completed', 'cancelled') THEN created + interval '14 days'
       END, a, {jobs}, 1, 1
  FROM (SELECT a, id, created,
               CASE WHEN created + interval '14 days' >= {t0s} THEN 'running'
                    WHEN (a + k) % 50 = 1 THEN 'paused'
                    WHEN (a + k) % 10 = 0 THEN 'cancelled' ELSE 'completed' END AS status
          FROM (SELECT a, k, (a - 1) * {campaigns} + k + 1 AS id,
                       {t0s} - interval '1095 days' + (k * 91 + a % 60) * interval '1 day'
                       AS created
                  FROM generate_series(1, {accounts}) a,
                       generate_series(0, {campaigns} - 1) k) s) s2"""),
        ("jobs", f"""
INSERT INTO batches_job (id, created_at, updated_at, deduplication_key, rut, status,
    attempts, last_error, last_outcome, contact, payload, account_id, batch_id)
SELECT j.id, b.created_at,
       LEAST(b.created_at + (j.id % 14) * interval '1 day' + interval '{calls} hours 1 minute',
             {t0s}),
       'ret-' || j.id, (10000000 + j.id)::text,
       CASE WHEN b.status IN ('completed', 'cancelled')
            THEN CASE WHEN j.id % 3 = 1 THEN 'failed' ELSE 'done' END ELSE 'pending' END,
       {calls}, '', 'user_hangup',
       jsonb_build_object('name', 'Deudor ' || j.id, 'rut', (10000000 + j.id)::text,
                          'phones', jsonb_build_array('+569' || (60000000 + j.id)),
                          'email', null, 'next_phone_index', 1),
       '{{"debt_amount": "150000.00", "due_date": "2025-03-01", "company_name": "Retail SpA",
         "additional_info": {{}}}}'::jsonb,
       b.account_id, b.id
  FROM batches_batch b, LATERAL (SELECT (b.id - 1) * {jobs} + n AS id
                                   FROM generate_series(1, {jobs}) n) j"""),
        ("job events", """
INSERT INTO batches_jobevent (kind, message, created_at, job_id, reason)
SELECT 'call_ended', '#2 +569' || (60000000 + id), updated_at, id, '' FROM batches_job"""),
        ("campaign events", """
INSERT INTO batches_batchevent (kind, message, data, created_at, batch_id)
SELECT 'created', '', '{"total_jobs": 125}'::jsonb, created_at, id FROM batches_batch
UNION ALL
SELECT 'completed', '', '{}'::jsonb, completed_at, id FROM batches_batch
 WHERE completed_at IS NOT NULL"""),
        ("call attempts", f"""
INSERT INTO calls_callattempt (id, created_at, updated_at, rut, attempt_number, phone,
    idempotency_key, call_id, status, outcome, disconnection_reason, error, provider_failures,
    started_at, ended_at, duration_seconds, cost, hold_amount, hold_unit, settled_at,
    max_call_duration, ring_timeout, transcript, recording_url, analysis, raw, account_id,
    batch_id, job_id)
SELECT (j.id - 1) * {calls} + n, ended - interval '2 minutes', ended, j.rut, n,
       '+569' || (60000000 + j.id), 'ret-' || j.id || '-' || n, 'call_ret_' || j.id || '_' || n,
       'ended', CASE WHEN x.is_contact THEN 'contact' ELSE 'no_contact' END,
       CASE WHEN x.is_contact THEN 'user_hangup' ELSE 'dial_no_answer' END, '', 0,
       ended - interval '2 minutes', ended, CASE WHEN x.is_contact THEN 95 ELSE 0 END,
       CASE WHEN x.is_contact THEN 0.975 ELSE 0.5 END, 3.5, 'credits', ended, 600, 60,
       CASE WHEN x.is_contact THEN '{TRANSCRIPT}' ELSE '' END,
       CASE WHEN x.is_contact THEN 'https://recordings.example/' || j.id || '-' || n || '.wav'
            ELSE '' END,
       CASE WHEN x.is_contact THEN '{{"call_summary": "Promete pagar el viernes",
            "user_sentiment": "Neutral", "call_successful": true}}'::jsonb
            ELSE '{{}}'::jsonb END,
       '{{"call_status": "ended", "agent_id": "agent_x"}}'::jsonb,
       j.account_id, j.batch_id, j.id
  FROM batches_job j, generate_series(1, {calls}) n,
       LATERAL (SELECT LEAST(j.created_at + (j.id % 14) * interval '1 day'
                             + n * interval '1 hour', {t0s} - interval '1 hour') AS ended,
                       n = {calls} AND j.id % 3 = 0 AS is_contact) x"""),
        # Per account: its top-up, then per call hold (-3.5), release (+3.5), charge (-cost):
        # balance_after the running sum, in time order.
        ("ledger", """
INSERT INTO accounts_ledgerentry (account_id, kind, unit, amount, balance_after, reason,
    reference, created_at)
SELECT account_id, kind, 'credits', amount,
       sum(amount) OVER (PARTITION BY account_id ORDER BY created_at, ord, step
                         ROWS UNBOUNDED PRECEDING),
       reason, reference, created_at
  FROM (SELECT id AS account_id, 'topup' AS kind, 10000000::numeric AS amount,
               created_at, 'Top-up' AS reason, 'initial' AS reference, 0::bigint AS ord,
               0 AS step
          FROM accounts_account
        UNION ALL
        SELECT a.account_id, e.kind, e.amount, e.at, e.reason, a.idempotency_key, a.id, e.step
          FROM calls_callattempt a,
               LATERAL (VALUES (1, 'reservation', -a.hold_amount, a.started_at,
                                'Hold for a call'),
                               (2, 'refund', a.hold_amount, a.ended_at, 'Hold released'),
                               (3, 'settlement', -a.cost, a.ended_at, 'Call charged'))
                       AS e(step, kind, amount, at, reason)) entries
 ORDER BY created_at, ord, step"""),
        ("balances", """
UPDATE accounts_account a SET credits = s.balance, total_spent = s.spent
  FROM (SELECT account_id, sum(amount) AS balance,
               -sum(amount) FILTER (WHERE kind = 'settlement') AS spent
          FROM accounts_ledgerentry GROUP BY account_id) s
 WHERE s.account_id = a.id"""),
        ("counters", """
INSERT INTO batches_jobcount (batch_id, status, stripe, jobs)
SELECT batch_id, status, 0, count(*) FROM batches_job GROUP BY batch_id, status;
INSERT INTO calls_attempttotal (batch_id, stripe, attempts, in_flight, contacted, seconds,
    cost)
SELECT batch_id, 0, count(*), 0, count(*) FILTER (WHERE outcome = 'contact'),
       coalesce(sum(duration_seconds), 0), coalesce(sum(cost), 0)
  FROM calls_callattempt GROUP BY batch_id"""),
        ("sequences", ";\n".join(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            for table in ("accounts_account", "batches_batch", "batches_job",
                          "calls_callattempt"))),
    ]


def build(url: str, size: str) -> None:
    import psycopg

    shape = SIZES[size]
    t0 = datetime.now(UTC).replace(microsecond=0)
    recreate_and_migrate(url)
    started = time.perf_counter()
    with psycopg.connect(_dsn(url)) as conn:
        # As a restore does: no row triggers (the counters' and the deferred foreign-key
        # checks); the counters are filled from the rows afterwards.
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET work_mem = '256MB'")
        for name, sql in build_sql(t0=t0, **shape):
            step = time.perf_counter()
            for statement in sql.split(";\n"):
                conn.execute(statement)
            print(f"  {name}: {time.perf_counter() - step:.1f} s", flush=True)
        conn.commit()
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        sizes = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("accounts_account", "batches_batch", "batches_job",
                           "calls_callattempt", "accounts_ledgerentry")}
        total = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))"
                             ).fetchone()[0]
    print(f"built in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{t.split('_', 1)[1]} {n:,}" for t, n in sizes.items())
          + f"; {total}", flush=True)


# --- the measurement -------------------------------------------------------------------------

def _unbalanced() -> int:
    """Accounts whose balance is not the sum of their ledger (should be 0)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT count(*) FROM accounts_account a
             WHERE a.credits <> coalesce((SELECT sum(amount) FROM accounts_ledgerentry l
                                           WHERE l.account_id = a.id AND unit = 'credits'), 0)
                OR a.minutes <> coalesce((SELECT sum(amount) FROM accounts_ledgerentry l
                                           WHERE l.account_id = a.id AND unit = 'minutes'), 0)
        """)
        return cursor.fetchone()[0]


def _mark_not_built(database_url: str) -> None:
    from django.db import connection

    name = urlsplit(database_url).path.lstrip("/")
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON DATABASE \"{name}\" IS '{NOT_BUILT}'")


def measure(report, size: str, ctx, *, batch_size: int = BATCH_SIZE,
            purge: bool | None = None) -> None:
    """Called by bench/scale.py last (the purge is destructive); see the module."""
    from django.utils import timezone

    from calls.retention import purge_expired_records

    if purge is None:
        purge = os.environ.get("BENCH_RETENTION_PURGE", "1") != "0"
    now = timezone.now()
    print(f"  {load()}", flush=True)
    started = time.perf_counter()
    found = purge_expired_records(dry_run=True, now=now)
    dry = time.perf_counter() - started
    shifted = not any(r.attempts or r.ledger for r in found)
    if shifted:
        print(f"  dry run: {dry:.1f} s, nothing expired: measured as {SCALE_SHIFT_DAYS} days "
              "later", flush=True)
        report("retention: dry run (nothing due)", dry, "s")
        now += timedelta(days=SCALE_SHIFT_DAYS)
        started = time.perf_counter()
        found = purge_expired_records(dry_run=True, now=now)
        dry = time.perf_counter() - started
    suffix = " (+18 months)" if shifted else ""
    would = sum(r.attempts for r in found)
    report(f"retention: dry run{suffix}", dry, "s")
    report(f"retention: dry run, attempts that would go{suffix}", would, "rows")
    print(f"  dry run: {dry:.1f} s, {len(found)} accounts, {would:,} attempts, "
          f"{sum(r.jobs for r in found):,} jobs, {sum(r.campaigns for r in found):,} "
          f"campaigns, {sum(x.entries for r in found for x in r.ledger):,} ledger entries",
          flush=True)
    if not purge:
        return
    if shifted:
        # Whatever happens next, --reuse must not take this database for the one it built.
        _mark_not_built(ctx.database_url)
    started = time.perf_counter()
    done = purge_expired_records(now=now, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    rows = {"attempts": sum(r.attempts for r in done), "jobs": sum(r.jobs for r in done),
            "campaigns": sum(r.campaigns for r in done),
            "ledger entries": sum(r.ledger_entries for r in done)}
    removed = sum(rows.values())
    longest = max((r.longest_chunk_seconds for r in done), default=0.0)
    report(f"retention: purge{suffix}", elapsed, "s")
    report(f"retention: purge, rows removed{suffix}", removed, "rows")
    report(f"retention: purge rate{suffix}", removed / elapsed if elapsed else 0, "rows/s")
    report(f"retention: longest transaction ({batch_size:,} rows){suffix}", longest * 1000,
           "ms", target="< 1000 ms")
    by_kind = {}
    for r in done:
        for kind, took in r.longest.items():
            by_kind[kind] = max(by_kind.get(kind, 0.0), took)
    print(f"  purge: {elapsed:.1f} s, {removed:,} rows ({removed / elapsed:,.0f} rows/s: "
          + ", ".join(f"{n:,} {k}" for k, n in rows.items())
          + f"), longest transaction {longest * 1000:.0f} ms ("
          + ", ".join(f"{k} {t * 1000:.0f}" for k, t in by_kind.items())
          + f" ms); {load()}", flush=True)
    started = time.perf_counter()
    again = purge_expired_records(now=now, batch_size=batch_size)
    second = time.perf_counter() - started
    report(f"retention: second purge (nothing due){suffix}", second, "s")
    bad = _unbalanced()
    report("retention: accounts whose balance is not their ledger's sum", bad, "accounts",
           target="< 1")
    print(f"  second purge: {second:.1f} s, {len(again)} accounts touched; accounts "
          f"unbalanced: {bad}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true",
                        help="Drop, migrate and fill DATABASE_URL first (set-based SQL).")
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--dry-run", action="store_true", help="Measure the dry run only.")
    args = parser.parse_args()
    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
    if args.build:
        print(f"building {args.size} into {url} ({load()})", flush=True)
        build(url, args.size)
    import django

    django.setup()
    from types import SimpleNamespace

    def report(name: str, value: float, unit: str, target: str = "") -> None:
        print(f"{name}: {value:,.2f} {unit}" + (f" (target {target})" if target else ""),
              flush=True)

    ctx = SimpleNamespace(database_url=url, export_batch_id=None, staff_user=None,
                          client_user=None, account_id=None)
    measure(report, args.size, ctx, batch_size=args.batch_size, purge=not args.dry_run)


if __name__ == "__main__":
    main()
