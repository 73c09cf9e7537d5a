"""Scale: a year of campaigns, a thousand accounts (issue 18), printed (not a timed test).

    python bench/scale.py [--size small|large|both] [--reuse] [--requests 200]

Builds (``bench/scale_data.py``, psycopg 3 ``COPY``) a database of realistic size — 1,000
accounts, 5,000 campaigns, 1,000,000 jobs (50 % finished, 10 % due now, 40 % deferred),
about 3,000,000 call attempts with their ledger entries, 100,000 do-not-call entries — and an
empty-ish one of the same shape (1,000 jobs), then measures on each, in a process of its own:

- the beat sweep (``calls.sweep.sweep``): seconds per run (the first, which nudges the due
  jobs, and the median of the next ones) and the statements it runs; nothing is published
  (``calls.dispatch.publish_jobs`` only counts), every query is real;
- one dial (``calls.services.job_process`` on a due job, Retell being the repository's
  simulator ``python -m retell_sim`` on a free port) and one webhook (signed call_ended and
  call_analyzed posted to the view through ``django.test.Client``): queries and CPU seconds
  (``time.process_time``), the median of several;
- the API reads through ``django.test.Client`` (a client user of the big account; staff for
  every account): p50/p95 over ``--requests`` requests each;
- a do-not-call check (``accounts.selectors.suppressed_for``) and the CL weekly-contact check
  (``calls.services._weekly_limit_until``, by RUT and, for a debtor without one, by phone);
- then, for each of ``bench.scale_admin`` and ``bench.scale_retention`` that imports,
  ``module.measure(report, size, ctx)``: ``report(name, value, unit, target="")`` records a
  figure of this size ("small" or "large"); ``ctx`` has ``database_url``,
  ``export_batch_id`` (the public batch_id of the 100,000-job campaign ``scale-export-100k``,
  or of the small database's biggest campaign), ``export_batch_pk`` (its primary key),
  ``staff_user`` (a superuser), ``client_user`` (a client user of the big account),
  ``account_id`` (the big account's primary key) and ``account_key`` (its public
  account_id, ``scale-big``).

The databases are ``<DATABASE_URL's name>_small`` and ``_large`` (default DATABASE_URL
``postgres://postgres@127.0.0.1:5432/cc_scale_bench``), dropped, created and migrated unless
``--reuse`` finds them built (``migrate`` still runs: new indexes are built on the data).
The figures are printed side by side with their target: requests within 2x of the small
database (or 5 ms of it) and p95 < 100 ms; the sweep < 1 s per run; a dial's and a webhook's
queries no more than on the small database.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import importlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cc_scale_bench"
EXTENSIONS = ("bench.scale_admin", "bench.scale_retention")
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BUILT_MARK = "scale-bench-built"


def machine_load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


# --- the database ------------------------------------------------------------------------------


def database_url(size: str) -> str:
    base = os.environ.get("DATABASE_URL") or DEFAULT_URL
    return f"{base}_{size}"


def prepare_database(url: str, size: str, reuse: bool) -> bool:
    """Create the database unless ``reuse`` finds it built; True when it must be built."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (name,)).fetchone()
        if exists and reuse:
            with psycopg.connect(url.replace("postgres://", "postgresql://")) as db:
                built = db.execute("SELECT shobj_description(oid, 'pg_database') FROM "
                                   "pg_database WHERE datname = %s", (name,)).fetchone()[0]
            if built == f"{BUILT_MARK} {size}":
                return False
        if exists:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            conn.execute(f'DROP DATABASE "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def mark_built(url: str, size: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{BUILT_MARK} {size}'")


# --- a child process: one size -----------------------------------------------------------------


class Figures:
    """The figures of one size: name -> {value, unit, target, rule, note}."""

    def __init__(self):
        self.rows: dict[str, dict] = {}

    def add(self, name, value, unit, target="", rule="", note=""):
        self.rows[name] = {"value": value, "unit": unit, "target": target, "rule": rule,
                           "note": note}
        print(f"  {name}: {value:,.3f} {unit}{'  ' + note if note else ''}", flush=True)


def child(size: str, reuse: bool, requests: int, out: str) -> None:
    url = database_url(size)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
    # Nothing is published (publish_jobs is replaced below); a throwaway broker db anyway.
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
    print(f"\n=== {size}: {url} ===", flush=True)
    build = prepare_database(url, size, reuse)
    import django

    django.setup()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per create-phone-call
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrate: {time.perf_counter() - started:.1f} s", flush=True)
    from bench import scale_data

    dsn = url.replace("postgres://", "postgresql://")
    facts = {}
    if build:
        print(f"building the {size} database ({machine_load()})", flush=True)
        started = time.perf_counter()
        facts = scale_data.build(dsn, size)
        print(f"built in {time.perf_counter() - started:.0f} s:", flush=True)
        for table, (rows, seconds) in facts["timings"].items():
            rate = f"{rows / seconds:,.0f} rows/s" if rows and seconds else ""
            print(f"  {table:<24} {rows:>10,} rows {seconds:7.1f} s  {rate}", flush=True)
        print(f"  job categories: {facts['job_categories']}", flush=True)
        mark_built(url, size)
    for name, broken in scale_data.check(dsn).items():
        print(f"check: {name}: {'ok' if broken == 0 else f'{broken} rows wrong'}", flush=True)
    sizes = {}
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("accounts_account", "batches_batch", "batches_job", "calls_callattempt",
                      "accounts_ledgerentry", "accounts_donotcall"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            sizes[table] = cursor.fetchone()[0]
    print("rows: " + ", ".join(f"{t.split('_', 1)[1]} {n:,}" for t, n in sizes.items()))
    print(machine_load(), flush=True)
    figures = Figures()
    measure(size, figures, requests)
    with open(out, "w") as file:
        json.dump({"size": size, "rows": figures.rows, "sizes": sizes,
                   "load": os.getloadavg()}, file)


def measure(size: str, figures: Figures, requests: int) -> None:
    from django.db import connection

    from accounts.models import Account, User
    from batches.models import Batch

    big = Account.objects.get(account_id="scale-big")
    export = Batch.objects.get(batch_id="scale-export-100k")
    staff, _ = User.objects.get_or_create(
        username="scale-staff", defaults={"is_staff": True, "is_superuser": True,
                                          "email": "staff@example.cl"})
    client_user, _ = User.objects.get_or_create(
        username="scale-client", defaults={"account": big, "email": "client@example.cl"})
    published: list[int] = []
    import calls.dispatch

    calls.dispatch.publish_jobs = lambda job_ids, eta=None: published.extend(job_ids)
    connection.ensure_connection()

    prepare_live_calls(big)
    sim = start_simulator()
    try:
        measure_sweep(figures, published)
        measure_dial_and_webhooks(figures, big, export, sim)
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    measure_reads(figures, big, export, staff, client_user, requests)
    measure_checks(figures, big, requests)
    ctx = SimpleNamespace(database_url=os.environ["DATABASE_URL"],
                          export_batch_id=export.batch_id, export_batch_pk=export.pk,
                          staff_user=staff, client_user=client_user, account_id=big.pk,
                          account_key=big.account_id)

    def report(name: str, value: float, unit: str, target: str = "") -> None:
        figures.add(name, float(value), unit, target=target, rule=target_rule(target))

    for module_name in EXTENSIONS:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            print(f"{module_name}: skipped ({exc})", flush=True)
            continue
        print(f"{module_name}:", flush=True)
        try:
            module.measure(report, size, ctx)
        except Exception as exc:  # one extension's failure must not lose the others' figures
            import traceback

            traceback.print_exc()
            print(f"{module_name}: failed ({exc!r})", flush=True)


def target_rule(target: str) -> str:
    """An extension's target such as "< 100 ms" or "<1 s" as a rule (else none)."""
    match = re.fullmatch(r"\s*(?:p95\s*)?<\s*([\d.]+)\s*(ms|s)?\s*", target or "")
    if not match:
        return ""
    value = float(match.group(1))
    return f"lt:{value}"


def prepare_live_calls(big) -> None:
    """The calls in flight started a minute ago (the build, or the last run, may be long
    past: the sweep would poll them all as stale), and the big account with half its call
    slots free (a --reuse run finds the calls of the last one's dials still live). Through
    the triggers: the counters stay right."""
    from decimal import Decimal

    from django.db import connection

    from accounts.services import account_topup

    big.refresh_from_db()
    if big.plan_type == "credit_based" and big.credits < 100_000:
        # The build leaves each balance where its last call left it: maybe short of a hold.
        account_topup(account=big, credits=Decimal(100_000), reference="scale bench")
    with connection.cursor() as cursor:
        cursor.execute("""
            UPDATE calls_callattempt c SET status = 'ended', outcome = 'no_contact',
                   disconnection_reason = 'dial_no_answer', ended_at = now(),
                   settled_at = now(), duration_seconds = 0, cost = 0
             WHERE c.id IN (SELECT id FROM calls_callattempt
                             WHERE account_id = %s AND status IN ('registered', 'ongoing')
                             ORDER BY id OFFSET %s)""", [big.pk, big.max_concurrent_calls // 2])
        cursor.execute("""
            UPDATE batches_job j SET status = 'pending', reserved_until = NULL,
                   lease_token = NULL, next_try_at = now() + interval '1 day'
             WHERE j.status = 'in_progress' AND NOT EXISTS (
                   SELECT 1 FROM calls_callattempt c WHERE c.job_id = j.id
                      AND c.status IN ('dialling', 'registered', 'ongoing'))""")
        cursor.execute("""
            UPDATE calls_callattempt SET started_at = now() - interval '1 minute',
                   created_at = now() - interval '1 minute'
             WHERE status IN ('registered', 'ongoing')""")
        cursor.execute("""
            UPDATE batches_job SET reserved_until = now() + interval '20 minutes'
             WHERE status = 'in_progress'""")


# --- the sweep ---------------------------------------------------------------------------------

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def statement_shape(sql: str) -> str:
    shape = _LITERALS.sub("?", " ".join(sql.split()))
    shape = re.sub(r"\((?:\?, )+\?\)", "(?...)", shape)
    return re.sub(r"ARRAY\[[^\]]*\]", "ARRAY[...]", shape)


def measure_sweep(figures: Figures, published: list[int]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calls.sweep import sweep

    runs = []
    for _ in range(6):
        connection.queries_log.clear()  # a deque of 9,000: the capture's indexes need room
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = sweep()
            elapsed = time.perf_counter() - started
        runs.append((elapsed, [q["sql"] for q in queries.captured_queries], result))
    cold, warm = runs[0], runs[1:]
    print(f"sweep: first run {cold[0] * 1000:.0f} ms, {len(cold[1])} statements, {cold[2]}; "
          f"then {', '.join(f'{r[0] * 1000:.0f} ms/{len(r[1])}' for r in warm)}; "
          f"{len(published)} jobs published (counted, not sent)")
    figures.add("sweep: first run (nudges the due jobs)", cold[0] * 1000, "ms",
                "< 1000 ms", "lt:1000")
    figures.add("sweep: a run (median of 5 next)",
                statistics.median(r[0] for r in warm) * 1000, "ms", "< 1000 ms", "lt:1000")
    figures.add("sweep: statements, first run", len(cold[1]), "", "no growth", "",
                note="")
    figures.add("sweep: statements per run", statistics.median(len(r[1]) for r in warm), "",
                "no growth (not per idle account)", "")
    for label, (_, statements, _) in (("first run", cold), ("a later run", warm[-1])):
        shapes: dict[str, int] = {}
        for sql in statements:
            shape = statement_shape(sql)
            shapes[shape] = shapes.get(shape, 0) + 1
        print(f"  statements of the sweep's {label} ({len(statements)}, by shape):")
        for shape, count in shapes.items():
            print(f"    {count:>5} x {shape[:150]}")


# --- a dial and a webhook ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator():
    """``python -m retell_sim`` on a free port: calls never end, webhooks are dropped (the
    bench posts its own)."""
    import urllib.request

    from django.conf import settings

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "retell_sim", "--port", str(port), "--api-key",
         settings.RETELL_API_KEY, "--webhook-url", "http://127.0.0.1:9/none"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{base}/_sim/health", timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    request = urllib.request.Request(
        f"{base}/_sim/config", data=json.dumps({"never_end": True, "drop_webhooks": True,
                                                "ring_ms": 0, "talk_ms": 0}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=5).read()
    settings.RETELL_BASE_URL = base
    return process


def sign(body: str) -> str:
    from django.conf import settings

    stamp = str(int(time.time() * 1000))
    digest = hmac.new(settings.RETELL_API_KEY.encode(), (body + stamp).encode(),
                      hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def due_jobs(export, limit: int) -> list[int]:
    """Due jobs of the export campaign whose debtor may be called now (no contact this week,
    not on the do-not-call list)."""
    from django.db import connection

    with connection.cursor() as cursor:
        # Jobs deferred to a later window are made due (a rerun on --reuse finds the due ones
        # dialled already): the dial is of a due job, whatever its history.
        cursor.execute("""
            UPDATE batches_job SET next_try_at = now() - interval '1 minute',
                   enqueued_until = NULL
             WHERE id IN (SELECT id FROM batches_job WHERE batch_id = %s
                             AND status = 'pending' AND attempts < 5 AND rut <> ''
                           ORDER BY id LIMIT %s)""", [export.pk, limit * 3])
        cursor.execute("""
            SELECT j.id FROM batches_job j
             WHERE j.batch_id = %s AND j.status = 'pending' AND j.rut <> ''
               AND (j.next_try_at IS NULL OR j.next_try_at <= now()) AND j.attempts < 5
               AND NOT EXISTS (SELECT 1 FROM calls_callattempt c
                                WHERE c.account_id = j.account_id AND c.rut = j.rut
                                  AND c.ended_at >= now() - interval '7 days'
                                  AND c.outcome = 'contact')
               AND NOT EXISTS (SELECT 1 FROM accounts_donotcall d
                                WHERE d.account_id = j.account_id AND d.rut = j.rut)
             ORDER BY j.id LIMIT %s""", [export.pk, limit])
        return [row[0] for row in cursor.fetchall()]


def measure_dial_and_webhooks(figures: Figures, big, export, sim) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from calls.models import CallAttempt
    from calls.services import job_process

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    dials = []
    results: dict[str, int] = {}
    for n, job_id in enumerate(due_jobs(export, 14)):
        with CaptureQueriesContext(connection) as queries:
            cpu = time.process_time()
            result = job_process(job_id=job_id)
            cpu = time.process_time() - cpu
        results[result] = results.get(result, 0) + 1
        if n >= 2 and result == "dialled":  # the first ones import the SDK, warm caches
            dials.append((len(queries.captured_queries), cpu, job_id))
    print(f"dials: {results}")
    if not dials:
        print("  no dial placed: nothing to measure")
        return
    figures.add("dial: queries (median)", statistics.median(d[0] for d in dials), "",
                "no growth", "eq")
    figures.add("dial: CPU (median)", statistics.median(d[1] for d in dials) * 1000, "ms",
                "<= 2x small", "2x")
    client = Client()
    attempts = list(CallAttempt.objects.filter(job_id__in=[d[2] for d in dials],
                                               status=CallAttempt.Status.REGISTERED)
                    .select_related("batch", "account"))
    for event in ("call_ended", "call_analyzed"):
        samples = []
        for attempt in attempts:
            now_ms = int(time.time() * 1000)
            call = {
                "call_id": attempt.call_id, "call_status": "ended",
                "disconnection_reason": "user_hangup", "to_number": attempt.phone,
                "start_timestamp": now_ms - 62_000, "end_timestamp": now_ms - 1_000,
                "duration_ms": 61_000, "transcript": "Agente: Hola.\nDeudor: Pagaré el lunes.",
                "recording_url": "https://recordings.example/x.wav",
                "metadata": {"job_id": attempt.job_id, "batch_id": attempt.batch.batch_id,
                             "account_id": attempt.account.account_id,
                             "attempt": attempt.attempt_number},
            }
            if event == "call_analyzed":
                call["call_analysis"] = {"call_summary": "Promesa de pago",
                                         "call_successful": True}
            body = json.dumps({"event": event, "call": call})
            with CaptureQueriesContext(connection) as queries:
                cpu = time.process_time()
                response = client.post("/api/v1/calls/retell/webhook", data=body,
                                       content_type="application/json",
                                       HTTP_X_RETELL_SIGNATURE=sign(body))
                cpu = time.process_time() - cpu
            if response.status_code != 200:
                print(f"  webhook {event} answered {response.status_code}: "
                      f"{response.content[:200]}")
                continue
            samples.append((len(queries.captured_queries), cpu, response.json()["status"]))
        if samples:
            print(f"webhook {event}: {[s[2] for s in samples]}")
            figures.add(f"webhook {event}: queries (median)",
                        statistics.median(s[0] for s in samples), "", "no growth", "eq")
            figures.add(f"webhook {event}: CPU (median)",
                        statistics.median(s[1] for s in samples) * 1000, "ms", "<= 2x small",
                        "2x")


# --- API reads ---------------------------------------------------------------------------------


def timed_requests(client, path: str, count: int) -> tuple[list[float], int]:
    response = client.get(path)  # warm: the first request compiles and caches
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: "
                           f"{response.content[:300]!r}")
    times = []
    for n in range(count):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if n == 19 and statistics.median(times) > 250:
            break  # slow: 20 are enough to say so
    return times, len(times)


def measure_reads(figures: Figures, big, export, staff, client_user, requests: int) -> None:
    from django.conf import settings
    from django.test import Client

    from batches.models import Batch, Job

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client, operator = Client(), Client()
    client.force_login(client_user)
    operator.force_login(staff)
    deep = max(1, int(export.total_jobs * 0.9) // 100)
    staff_page = min(50, -(-Batch.objects.count() // 50))
    rut = (Job.objects.filter(batch=export).exclude(rut="").order_by("-id")
           .values_list("rut", flat=True).first())
    reads = [
        ("GET /batches/{id}/status", client, f"/api/v1/batches/{export.batch_id}/status"),
        ("GET /batches (50 per page, client)", client, "/api/v1/batches?page_size=50"),
        ("GET /batches (50 per page, staff, all accounts)", operator,
         "/api/v1/batches?page_size=50"),
        ("GET /batches page 50, or the last (staff)", operator,
         f"/api/v1/batches?page_size=50&page={staff_page}"),
        ("GET /accounts/{id}/balance", client, f"/api/v1/accounts/{big.account_id}/balance"),
        ("GET /accounts/{id}/stats", client, f"/api/v1/accounts/{big.account_id}/stats"),
        ("GET /dashboard (client)", client, "/api/v1/dashboard"),
        ("GET /dashboard (staff, all accounts)", operator, "/api/v1/dashboard"),
        ("GET /batches/{id}/jobs (100 per page)", client,
         f"/api/v1/batches/{export.batch_id}/jobs?page_size=100"),
        ("GET /batches/{id}/jobs a page at 90 %", client,
         f"/api/v1/batches/{export.batch_id}/jobs?page_size=100&page={deep}"),
        ("GET /batches/{id}/jobs?search=<a RUT>", client,
         f"/api/v1/batches/{export.batch_id}/jobs?page_size=100&search={rut}"),
        ("GET /batches/{id}/jobs?search=<part of a name>", client,
         f"/api/v1/batches/{export.batch_id}/jobs?page_size=100&search=Gonz"),
        ("admin jobs list, RUT search (staff)", operator, f"/admin/batches/job/?q={rut}"),
    ]
    for name, who, path in reads:
        try:
            times, count = timed_requests(who, path, requests)
        except RuntimeError as exc:
            print(f"  {name}: {exc}")
            continue
        note = f"n={count}" if count != requests else ""
        figures.add(f"{name}: p50", percentile(times, 0.5), "ms", "<= 2x small", "2x", note)
        figures.add(f"{name}: p95", percentile(times, 0.95), "ms", "< 100 ms, <= 2x small",
                    "2x,lt:100", note)


# --- compliance checks -------------------------------------------------------------------------


def measure_checks(figures: Figures, big, count: int) -> None:
    from django.utils import timezone

    from accounts.selectors import suppressed_for
    from batches.jobs import engine_job, usable_phones
    from batches.models import Job
    from calls.services import _weekly_limit_until

    ids = list(Job.objects.filter(account=big).exclude(rut="").order_by("?")
               .values_list("id", flat=True)[:count])
    no_rut = list(Job.objects.filter(account=big, rut="").order_by("?")
                  .values_list("id", flat=True)[:count])
    jobs = [engine_job(pk) for pk in ids]
    phone_jobs = [engine_job(pk) for pk in no_rut]
    now = timezone.now()

    def timed(function, items):
        times = []
        for item in items:
            started = time.perf_counter()
            function(item)
            times.append((time.perf_counter() - started) * 1000)
        return times

    checks = [
        ("do-not-call check", lambda job: suppressed_for(
            account_id=job.account_id, rut=job.rut, phones=usable_phones(job)), jobs),
        ("CL weekly-contact check (by RUT)", lambda job: _weekly_limit_until(job, now), jobs),
        ("CL weekly-contact check (no RUT: by phone)", lambda job: _weekly_limit_until(job, now),
         phone_jobs),
    ]
    for name, function, items in checks:
        if not items:
            continue
        times = timed(function, items)
        figures.add(f"{name}: p50", percentile(times, 0.5), "ms", "<= 2x small", "2x")
        figures.add(f"{name}: p95", percentile(times, 0.95), "ms", "<= 2x small", "2x")


# --- the parent: both sizes side by side -------------------------------------------------------


def verdict(rule: str, small: float | None, large: float | None) -> str:
    if not rule or large is None:
        return ""
    for part in rule.split(","):
        if part == "2x" and small is not None and large > max(2 * small, small + 5):
            return "NO"
        if part == "eq" and small is not None and large > small:
            return "NO"
        if part.startswith("lt:") and large >= float(part[3:]):
            return "NO"
    return "ok"


def print_table(results: dict[str, dict]) -> None:
    names: list[str] = []
    for size in ("small", "large"):
        for name in results.get(size, {}).get("rows", {}):
            if name not in names:
                names.append(name)
    header = f"{'figure':<58} {'small (1k jobs)':>16} {'large (1M jobs)':>16}  {'target':<26} ok?"
    print("\n" + header)
    print("-" * len(header))
    for name in names:
        cells, rule, target, unit = [], "", "", ""
        values = {}
        for size in ("small", "large"):
            row = results.get(size, {}).get("rows", {}).get(name)
            if row is None:
                cells.append(f"{'-':>16}")
                continue
            values[size] = row["value"]
            rule, target, unit = row["rule"] or rule, row["target"] or target, row["unit"]
            text = f"{row['value']:,.1f} {unit}".strip()
            if row.get("note"):
                text = f"{text} ({row['note']})"
            cells.append(f"{text:>16}")
        ok = verdict(rule, values.get("small"), values.get("large"))
        print(f"{name[:58]:<58} {cells[0]} {cells[1]}  {target[:26]:<26} {ok}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", choices=["small", "large", "both"], default="both")
    parser.add_argument("--reuse", action="store_true",
                        help="keep a database already built (migrations still run)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.reuse, args.requests, args.out)
        return
    print(f"bench/scale.py at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, "
          f"{machine_load()}", flush=True)
    sizes = ["small", "large"] if args.size == "both" else [args.size]
    results = {}
    for size in sizes:
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            command = [sys.executable, __file__, "--child", size, "--out", out.name,
                       "--requests", str(args.requests)] + (["--reuse"] if args.reuse else [])
            code = subprocess.call(command, cwd=ROOT)
            if code != 0:
                print(f"{size}: the measuring process failed ({code})")
                continue
            with open(out.name) as file:
                results[size] = json.load(file)
    print_table(results)
    print(f"\n{machine_load()} (at the end); requests within 2x of the small database means "
          "at most max(2 x small, small + 5 ms)")


if __name__ == "__main__":
    main()
