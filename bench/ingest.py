"""Benchmark: a 100,000-row messy debtor spreadsheet to committed jobs.

Measures, in one run and on the same file:

1. parse alone: ``batches.excel.read_contacts`` (python-calamine + normalisers);
2. insert alone: ``batches.ingest.jobs_insert`` (PostgreSQL COPY) of the parsed debtors;
3. the whole path: ``batches.services.batch_create_from_excel`` — file to committed batch,
   jobs and event, with the first process_job tasks published after commit (to a real Redis
   broker when one answers at BENCH_BROKER_URL, else counted). It normalises the rows and
   copies them chunk by chunk, the database storing one chunk while Python reads the next,
   so it takes less than parse + insert;

and prints rows/s for each, the peak RSS, and the ratio of the whole path to the sum of the
parts. Targets: whole path ≥ 20,000 rows/s, peak RSS ≤ 500 MB. Then ``GET .../status`` latency
(p50/p95 over ``--status-requests`` requests through DRF's test client, right after the
import, as a client polling it would) for a 1,000-job campaign and the whole path's one side
by side, and the campaign list of each one's account (every campaign with its live job and
call figures): the counters make them the same.

Usage (from the repository root):

    .venv/bin/python bench/ingest.py [--rows 100000] [--keep]

Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/cc_bench; the database
is created and migrated if needed), BENCH_BROKER_URL (default redis://127.0.0.1:6379/14, a
database no worker consumes; the published messages are purged afterwards). The spreadsheet
is generated once with openpyxl (write_only, fixed seed) into /tmp and reused. Rows created
by the run are deleted at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cc_bench")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/14")
FILE_VERSION = 1
BENCH_ACCOUNTS = ("bench-ingest-insert", "bench-ingest-whole")
BENCH_USER = "bench-ingest-operator"
SMALL_CAMPAIGN = 1_000

FIRST_NAMES = [
    "José",
    "María",
    "Juan",
    "Ana",
    "Luis",
    "Carmen",
    "Pedro",
    "Camila",
    "Diego",
    "Valentina",
    "Jorge",
    "Francisca",
    "Matías",
    "Fernanda",
    "Benjamín",
    "Sofía",
]
LAST_NAMES = [
    "Muñoz",
    "Rojas",
    "Díaz",
    "Pérez",
    "Soto",
    "Contreras",
    "Silva",
    "Martínez",
    "Sepúlveda",
    "Morales",
    "Rodríguez",
    "López",
    "Fuentes",
    "Hernández",
    "Torres",
]
COMPANIES = ["Retail Express", "Financiera Andes", "Tarjeta Sur", "Crédito Austral"]
BRANCHES = ["Centro", "Providencia", "Maipú", "Puente Alto", "Viña del Mar", "Concepción"]


# --- the spreadsheet ---------------------------------------------------------------------------


def _check_digit(body: int) -> str:
    total, factor = 0, 2
    for digit in reversed(str(body)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def _rut_text(rng: random.Random, body: int, dv: str) -> str:
    dotted = f"{body:,}".replace(",", ".")
    style = rng.random()
    if style < 0.45:
        return f"{dotted}-{dv}"
    if style < 0.75:
        return f"{body}-{dv}"
    if style < 0.9:
        return f"{body}{dv}"
    return f"{dotted}-{dv.lower()}"


def _mobile(rng: random.Random, is_valid) -> str:
    while True:
        nsn = "9" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(7))
        if is_valid(nsn):
            return nsn


def _phone_cell(rng: random.Random, nsn: str):
    style = rng.random()
    if style < 0.3:
        return f"+56{nsn}"
    if style < 0.45:
        return f"+56 {nsn[0]} {nsn[1:5]} {nsn[5:]}"
    if style < 0.6:
        return nsn
    if style < 0.7:
        return f"56{nsn}"
    if style < 0.85:
        return int(nsn)  # typed as a number in Excel
    return f"{nsn[0]} {nsn[1:5]} {nsn[5:]}"


def _amount_cell(rng: random.Random):
    amount = rng.randrange(5_000, 3_000_000, 10)
    style = rng.random()
    if style < 0.4:
        return amount
    if style < 0.7:
        return "$" + f"{amount:,}".replace(",", ".")
    if style < 0.9:
        return str(amount)
    return float(amount)


def _date_cell(rng: random.Random):
    day = date(2025, 1, 1) + timedelta(days=rng.randrange(0, 365))
    style = rng.random()
    if style < 0.4:
        return datetime(day.year, day.month, day.day)
    if style < 0.7:
        return day.strftime("%d/%m/%Y")
    if style < 0.85:
        return day.strftime("%d-%m-%Y")
    return day.isoformat()


def generate(path: Path, rows: int) -> None:
    """Write the deterministic messy spreadsheet (run in a child process: keeps the
    benchmark's own peak RSS about the measured path only)."""
    from openpyxl import Workbook

    from batches.debtors.phones import phone_to_e164_slow

    def is_valid(nsn: str) -> bool:
        return phone_to_e164_slow(f"+56{nsn}") is not None

    rng = random.Random(20251026)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cartera")
    sheet.append(["Cartera de cobranza — octubre 2025"])
    sheet.append([])
    sheet.append(
        [
            "Nombre Cliente",
            "R.U.T.",
            "Teléfono",
            "Celular",
            "Correo",
            "Monto Deuda ($)",
            "Fecha Vencimiento",
            "N° Cuotas",
            "Empresa",
            "Sucursal",
            "Ejecutivo",
        ]
    )
    seen: list[tuple[int, str]] = []
    for n in range(rows):
        if n and n % 10_000 == 0:
            sheet.append([])  # a blank row now and then
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
        roll = rng.random()
        if roll < 0.01 and seen:  # the same debtor again, another phone
            body, dv = rng.choice(seen)
        else:
            body = 5_000_000 + n * 97 + rng.randrange(0, 97)
            dv = _check_digit(body)
            seen.append((body, dv))
            if roll > 0.99:  # a wrong check digit
                dv = "0" if dv != "0" else "1"
        phone = _phone_cell(rng, _mobile(rng, is_valid))
        if rng.random() < 0.005:
            phone = "sin fono"
        mobile = ""
        extra = rng.random()
        if extra < 0.4:
            mobile = _phone_cell(rng, _mobile(rng, is_valid))
        elif extra < 0.5:
            mobile = f"+56{_mobile(rng, is_valid)}; {_mobile(rng, is_valid)}"
        email = f"cliente{n}@correo.cl" if rng.random() < 0.6 else ""
        sheet.append(
            [
                name,
                _rut_text(rng, body, dv),
                phone,
                mobile,
                email,
                _amount_cell(rng),
                _date_cell(rng),
                rng.randrange(1, 36),
                rng.choice(COMPANIES),
                rng.choice(BRANCHES),
                f"EJ-{rng.randrange(1, 40):02d}",
            ]
        )
    workbook.save(path)


def spreadsheet(rows: int) -> Path:
    path = Path("/tmp") / f"cc_bench_ingest_{rows}_v{FILE_VERSION}.xlsx"
    if not path.exists():
        print(f"generating {path} ({rows:,} rows, once)...", flush=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial.xlsx")
        subprocess.run(
            [sys.executable, __file__, "--generate", str(partial), "--rows", str(rows)], check=True
        )
        partial.rename(path)
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    return path


# --- database and broker ---------------------------------------------------------------------


def ensure_database() -> None:
    """Create the benchmark database if it does not exist (connecting to 'postgres')."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = urlunsplit(url._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def broker_publisher():
    """(publish(ids), purge(), description): real Redis when it answers, else a counter."""
    published: list[int] = []
    try:
        import redis

        redis.Redis.from_url(BROKER_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # no broker: count what would be published

        def count(ids, *, eta=None):
            published.extend(ids)

        return count, lambda: None, published, f"counted (no broker at {BROKER_URL}: {exc})"

    from callcenter.celery import app
    from calls.tasks import process_job

    def publish(ids, *, eta=None):
        # Same shape as calls.dispatch.publish_jobs: one connection, one producer.
        with app.connection_for_write(BROKER_URL) as conn:
            producer = app.amqp.Producer(conn, auto_declare=True)
            for job_id in ids:
                process_job.apply_async((job_id,), producer=producer,
                                        eta=(eta or {}).get(job_id))
        published.extend(ids)

    def purge():
        with app.connection_for_write(BROKER_URL) as conn:
            conn.default_channel.queue_purge(app.conf.task_default_queue)

    return publish, purge, published, f"Redis {BROKER_URL}"


# --- measurements ----------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_account(account_id: str):
    from accounts.models import Account

    account, _created = Account.objects.update_or_create(
        account_id=account_id,
        defaults={
            "account_name": f"Benchmark {account_id}",
            "contact_name": "Bench",
            "contact_email": "bench@example.cl",
            "plan_type": Account.Plan.UNLIMITED,
            "compliance_profile": "none",
            "max_concurrent_calls": 5,
            "status": Account.Status.ACTIVE,
        },
    )
    return account


def drop_jobs(batch) -> None:
    """Delete a batch's jobs and vacuum the table (outside any timing)."""
    from django.db import connection

    from batches.models import Job

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Job._meta.db_table} WHERE batch_id = %s", [batch.pk])
        cursor.execute(f"VACUUM ANALYZE {Job._meta.db_table}")


def cleanup() -> None:
    from django.db import connection, transaction

    from accounts.models import Account, User
    from batches.models import Batch, BatchEvent, Job

    User.objects.filter(username=BENCH_USER).delete()
    accounts = list(
        Account.objects.filter(account_id__in=BENCH_ACCOUNTS).values_list("pk", flat=True)
    )
    if not accounts:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Job._meta.db_table} WHERE account_id = ANY(%s)", [accounts])
        BatchEvent.objects.filter(batch__account_id__in=accounts).delete()
        Batch.objects.filter(account_id__in=accounts).delete()
        Account.objects.filter(pk__in=accounts).delete()


def clear_caches() -> None:
    """Empty the normalisers' lru caches, so no step profits from a previous one."""
    from batches.debtors import normalize, phones, rut, text, values

    for module in (normalize, phones, rut, text, values):
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def timed(function, name: str, into: dict):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            into[name] = into.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def timed_reader(open_contacts, into: dict):
    """``open_contacts`` whose opening (file read, sheet load, header search) is timed as
    "load" and whose chunks, as they are normalised, as "parse"."""

    @contextmanager
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        with open_contacts(*args, **kwargs) as reader:
            into["load"] = time.perf_counter() - started
            chunks = reader.chunks

            def timed_chunks(*args, **kwargs):
                iterator = chunks(*args, **kwargs)
                while True:
                    started = time.perf_counter()
                    try:
                        chunk = next(iterator)
                    except StopIteration:
                        return
                    finally:
                        into["parse"] = into.get("parse", 0.0) + time.perf_counter() - started
                    yield chunk

            reader.chunks = timed_chunks
            yield reader

    return wrapper


def latency(url: str, requests: int) -> tuple[float, float]:
    """(p50, p95) in ms of GET ``url`` as an operator."""
    from django.conf import settings
    from rest_framework.test import APIClient

    from accounts.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]  # the test client's host

    operator, _created = User.objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )  # staff alone holds no model permission (the status view asks for view_batch)
    api = APIClient()
    api.force_authenticate(operator)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        response = api.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.95) - 1]


def rate(rows: int, seconds: float) -> str:
    return f"{seconds:7.2f} s  {rows / seconds:>9,.0f} rows/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the rows it created")
    parser.add_argument("--status-requests", type=int, default=200)
    args = parser.parse_args()

    if args.generate:
        import django

        django.setup()
        generate(Path(args.generate), args.rows)
        return

    path = spreadsheet(args.rows)
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    import calls.dispatch
    from batches import ingest, services
    from batches.excel import read_contacts
    from batches.models import Batch
    from batches.services import create as create_service

    call_command("migrate", verbosity=0)
    cleanup()
    with connection.cursor() as cursor:  # start from a table without dead rows
        cursor.execute("VACUUM ANALYZE batches_job")
    publish, purge, published, broker = broker_publisher()
    calls.dispatch.publish_jobs = publish
    insert_account = bench_account(BENCH_ACCOUNTS[0])
    whole_account = bench_account(BENCH_ACCOUNTS[1])
    size_mb = path.stat().st_size / 1048576
    print(
        f"file: {path} ({size_mb:.1f} MB)  database: {connection.settings_dict['NAME']}  "
        f"publishing: {broker}"
    )
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    rss_start = peak_rss_mb()

    try:
        # 1. Parse alone (every step starts with the normalisers' memo caches empty).
        clear_caches()
        started = time.perf_counter()
        parsed = read_contacts(str(path))
        t_parse = time.perf_counter() - started
        rows, jobs = parsed.total_rows, len(parsed.contacts)
        small_contacts = [dict(c) for c in parsed.contacts[:SMALL_CAMPAIGN]]
        rss_parse = peak_rss_mb()

        # 2. Insert alone: the parsed debtors through COPY, in one transaction.
        now = timezone.now()
        with transaction.atomic():
            batch = Batch.objects.create(
                account=insert_account,
                batch_id=f"bench-insert-{now:%Y%m%d%H%M%S%f}",
                name="bench insert",
                call_settings={},
                status=Batch.Status.PAUSED,
                is_active=False,
            )
            started = time.perf_counter()
            inserted = ingest.jobs_insert(
                batch=batch, contacts=parsed.contacts, now=now, next_try_at=now
            )
            t_insert_copy = time.perf_counter() - started
        t_insert = time.perf_counter() - started  # with the commit
        del parsed
        gc.collect()
        rss_insert = peak_rss_mb()
        # The whole path then writes into a table of the same shape, not one grown by step 2.
        drop_jobs(batch)

        # 3. The whole path: file -> committed jobs, first tasks published. The rows are
        # normalised and copied in turns (see batches.services.create._batch_create); wrappers time
        # the sheet load, the normalisation, the open-job checks and the stream as a whole
        # to show where the time goes.
        inside: dict[str, float] = {}
        clear_caches()
        create_service.open_contacts = timed_reader(create_service.open_contacts, inside)
        ingest.jobs_insert_chunks = timed(ingest.jobs_insert_chunks, "stream", inside)
        ingest.open_ruts = timed(ingest.open_ruts, "check", inside)
        ingest.jobs_analyze = timed(ingest.jobs_analyze, "analyze", inside)
        started = time.perf_counter()
        result = services.batch_create_from_excel(
            account=whole_account,
            user=None,
            name="bench whole path",
            source=str(path),
            dias_fecha_limite=5,
            dias_fecha_maxima=10,
        )
        t_whole = time.perf_counter() - started
        rss_whole = peak_rss_mb()
        total = result.batch.jobs.count()
        # /status of a small and of the large campaign, right after their imports.
        small = services.batch_create(
            account=insert_account, user=None, name="bench small", contacts=small_contacts
        ).batch
        latency_small = latency(f"/api/v1/batches/{small.batch_id}/status", args.status_requests)
        latency_large = latency(f"/api/v1/batches/{result.batch.batch_id}/status",
                                args.status_requests)
        # The campaign list (live figures on every campaign) of each one's account.
        list_small = latency(f"/api/v1/batches?account_id={insert_account.account_id}",
                             args.status_requests)
        list_large = latency(f"/api/v1/batches?account_id={whole_account.account_id}",
                             args.status_requests)
    finally:
        purge()
        if not args.keep:
            cleanup()

    print()
    print(
        f"rows in file {rows:,}; valid debtors {jobs:,}; invalid rows "
        f"{result.invalid_rows:,}; duplicates merged {result.duplicates_merged:,}"
    )
    print(f"parse alone   (read_contacts)        {rate(rows, t_parse)}")
    print(
        f"insert alone  (COPY {inserted:,} jobs)      {rate(inserted, t_insert)}"
        f"   (COPY {t_insert_copy:.2f} s + commit)"
    )
    print(f"whole path    (file -> {total:,} jobs)  {rate(rows, t_whole)}")
    copy = inside["stream"] - inside["parse"] - inside["check"]
    rest = t_whole - inside["load"] - inside["stream"]
    print(
        f"  of which sheet load {inside['load']:.2f} s, then {inside['stream']:.2f} s of "
        f"normalise ({inside['parse']:.2f} s) / open-job checks ({inside['check']:.2f} s) / "
        f"COPY ({copy:.2f} s: formatting, waits for the server) in turns, and the rest "
        f"(batch row, merged rows rewritten, event, commit, publish) {rest:.2f} s"
    )
    print(
        f"  (ANALYZE of the jobs table after commit, part of the rest: "
        f"{inside.get('analyze', 0.0):.2f} s)"
    )
    print(
        f"GET .../status over {args.status_requests} requests: "
        f"{SMALL_CAMPAIGN:,} jobs p50 {latency_small[0]:.1f} ms p95 {latency_small[1]:.1f} ms; "
        f"{total:,} jobs p50 {latency_large[0]:.1f} ms p95 {latency_large[1]:.1f} ms"
    )
    print(
        f"GET /batches (its account's list) over {args.status_requests} requests: "
        f"{SMALL_CAMPAIGN:,} jobs p50 {list_small[0]:.1f} ms p95 {list_small[1]:.1f} ms; "
        f"{total:,} jobs p50 {list_large[0]:.1f} ms p95 {list_large[1]:.1f} ms"
    )
    print(
        f"first tasks published: {len(published)} "
        f"(max_concurrent_calls {whole_account.max_concurrent_calls} + lookahead)"
    )
    print(
        f"whole / (parse + insert) = {t_whole:.2f} / {t_parse + t_insert:.2f} = "
        f"{t_whole / (t_parse + t_insert):.2f}"
    )
    print(
        f"peak RSS: {peak_rss_mb():.0f} MB (start {rss_start:.0f}, after parse "
        f"{rss_parse:.0f}, after insert {rss_insert:.0f}, after whole path {rss_whole:.0f})"
    )
    ok_speed = rows / t_whole >= 20_000
    ok_rss = peak_rss_mb() <= 500
    print(
        f"targets: whole path >= 20,000 rows/s {'OK' if ok_speed else 'MISSED'}; "
        f"peak RSS <= 500 MB {'OK' if ok_rss else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
