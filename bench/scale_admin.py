"""Benchmark: the operators' admin and the .xlsx export at a year's scale.

At 1,000 accounts, 5,000 campaigns, 1,000,000 jobs, 3,000,000 call attempts and their ledger
entries (the database ``bench/scale.py`` builds with ``bench/scale_data.py``), it measures
logged in as a superuser:

- the first page of the changelists of jobs, call attempts and ledger entries, as they open
  (default filters), with a filter operators use (a status, an account's "Full ledger"
  link) and with a search (a RUT typed with dots, a phone, a name, an account);
- the admin's index (which loads the operations dashboard), the dashboard page and the JSON
  its live block refreshes from every 30 s;
- the campaign list (5,000 campaigns);

p50/p95 over up to ``--requests`` requests each (fewer when a page is slow: each page gets
at most ``--budget`` seconds), target p95 < 300 ms; and the results export of the 100,000-job
campaign in a child process (``GET /api/v1/batches/<id>/export``, the response consumed
to a temporary file): time to the first byte, total time, rows and peak RSS (target < 200 MB).

``measure(report, size, ctx)`` is what ``bench/scale.py`` calls; run alone:

    .venv/bin/python bench/scale.py --size large     # once: builds cc_scale_bench_large
    .venv/bin/python bench/scale_admin.py            # prints the table

Environment: DATABASE_URL (default the database bench/scale.py builds,
postgres://postgres@127.0.0.1:5432/cc_scale_bench_large).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
os.environ.setdefault("DATABASE_URL",
                      "postgres://postgres@127.0.0.1:5432/cc_scale_bench_large")

TARGET_MS = 300
TARGET_MB = 200


def _django():
    import django

    django.setup()


def _pages(sample) -> list[tuple[str, str]]:
    """(name, URL) of the pages measured; ``sample`` holds a job, an attempt and an account
    of the data to search for."""
    rut = sample["rut"]
    body, check = rut.split("-")
    dotted = f"{int(body):,}".replace(",", ".") + "-" + check
    phone = sample["phone"]
    return [
        ("jobs: first page", "/admin/batches/job/"),
        ("jobs: status pending", "/admin/batches/job/?status__exact=pending"),
        ("jobs: one campaign", f"/admin/batches/job/?batch={sample['batch_pk']}"),
        ("jobs: search RUT with dots", f"/admin/batches/job/?q={dotted}"),
        ("jobs: search phone", f"/admin/batches/job/?q={phone[3]} {phone[4:8]} {phone[8:]}"),
        ("jobs: search name", f"/admin/batches/job/?q={sample['surname']}"),
        ("attempts: first page", "/admin/calls/callattempt/"),
        ("attempts: outcome contact", "/admin/calls/callattempt/?outcome__exact=contact"),
        ("attempts: search RUT", f"/admin/calls/callattempt/?q={rut}"),
        ("attempts: search phone", f"/admin/calls/callattempt/?q={phone.replace('+', '%2B')}"),
        ("ledger: first page", "/admin/accounts/ledgerentry/"),
        ("ledger: an account's", f"/admin/accounts/ledgerentry/?account__id__exact="
                                 f"{sample['account_pk']}"),
        ("ledger: kind top-up", "/admin/accounts/ledgerentry/?kind__exact=topup"),
        ("ledger: search account", f"/admin/accounts/ledgerentry/?q={sample['account_id']}"),
        ("ledger: search reference", f"/admin/accounts/ledgerentry/?q={sample['reference']}"),
        ("campaigns: first page", "/admin/batches/batch/"),
        ("admin index", "/admin/"),
        ("dashboard page", "/admin/calls/callattempt/dashboard/"),
        ("dashboard data (refresh)", "/admin/calls/callattempt/dashboard/data/"),
    ]


def _sample() -> dict:
    """A debtor in the middle of the data, its attempt, its account."""
    from batches.models import Job
    from calls.models import CallAttempt

    last = Job.objects.order_by("-id").values_list("id", flat=True).first() or 1
    job = Job.objects.filter(id__gte=last // 2).order_by("id").select_related("account").first()
    attempt = CallAttempt.objects.filter(job_id=job.pk).order_by("attempt_number").first()
    name = (job.contact or {}).get("name") or "Soto"
    return {
        "rut": job.rut,
        "phone": (job.contact.get("phones") or ["+56900000000"])[0],
        "surname": name.split()[-1],
        "batch_pk": job.batch_id,
        "account_pk": job.account_id,
        "account_id": job.account.account_id,
        "reference": attempt.idempotency_key if attempt else "initial",
    }


def time_pages(client, pages, *, requests: int, budget: float) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results = []
    for name, url in pages:
        response = client.get(url)  # warm-up (and check)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: GET {url} answered {response.status_code}")
        times = []
        spent = 0.0
        while len(times) < requests and (spent < budget or len(times) < 3):
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - t0
            assert response.status_code == 200, (url, response.status_code)
            times.append(elapsed * 1000)
            spent += elapsed
        times.sort()
        p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
        # The database's share, less noisy than the page's time on a busy machine.
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
        results.append({"name": name, "url": url, "n": len(times),
                        "p50": statistics.median(times), "p95": p95,
                        "sql_ms": sql_ms, "queries": len(queries)})
    return results


def export_in_child(*, database_url: str, batch_id: str, user_pk: int) -> dict:
    """The export in a fresh process (its peak RSS is the export's, not this process's)."""
    env = {**os.environ, "DATABASE_URL": database_url}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export.xlsx"
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--export-child", batch_id,
             "--user", str(user_pk), "--out", str(out)],
            env=env, capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"export child failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["rows"] = _xlsx_rows(out)
    return result


def _xlsx_rows(path: Path) -> int:
    """Data rows of the first sheet (a valid workbook, read in read-only mode)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        sheet = workbook.worksheets[0]
        return sum(1 for _ in sheet.iter_rows(values_only=True)) - 1
    finally:
        workbook.close()


def _export_child(batch_id: str, user_pk: int, out: str) -> None:
    _django()
    from django.test import Client

    from accounts.models import User

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(pk=user_pk))
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    response = client.get(f"/api/v1/batches/{batch_id}/export")
    if response.status_code != 200:
        raise SystemExit(f"export answered {response.status_code}")
    first = None
    size = 0
    with open(out, "wb") as fh:
        chunks = response.streaming_content if response.streaming else [response.content]
        for chunk in chunks:
            if first is None:
                first = time.perf_counter() - t0
            fh.write(chunk)
            size += len(chunk)
    total = time.perf_counter() - t0
    response.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"first_byte_s": first, "total_s": total, "bytes": size,
                      "peak_rss_mb": peak_mb, "base_rss_mb": base_mb,
                      "streaming": response.streaming}))


def _export_batch(ctx):
    from batches.models import Batch

    ref = str(getattr(ctx, "export_batch_id", "") or "")
    batch = Batch.objects.filter(batch_id=ref).first()
    if batch is None and ref.isdigit():
        batch = Batch.objects.filter(pk=int(ref)).first()
    if batch is None:  # the largest campaign
        from django.db.models import Count

        batch = Batch.objects.annotate(n=Count("jobs")).order_by("-n").first()
    return batch


def measure(report, size, ctx) -> None:
    """Record the admin's page times and the export's time and memory through
    ``report(name, value, unit, target)``. ``size``: "small" (fewer requests, no export row
    check) or "large"."""
    from django.db import connection
    from django.test import Client

    requests, budget = (10, 5.0) if size == "small" else (50, 20.0)
    client = Client(HTTP_HOST="localhost")
    client.force_login(ctx.staff_user)
    for row in time_pages(client, _pages(_sample()), requests=requests, budget=budget):
        report(f"admin {row['name']} p50", row["p50"], "ms")
        report(f"admin {row['name']} p95", row["p95"], "ms", f"< {TARGET_MS} ms")
        report(f"admin {row['name']} SQL ({row['queries']} queries)", row["sql_ms"], "ms")
    connection.close()  # the child opens its own

    batch = _export_batch(ctx)
    result = export_in_child(database_url=ctx.database_url, batch_id=batch.batch_id,
                             user_pk=ctx.staff_user.pk)
    report(f"export {batch.total_jobs} jobs: first byte", result["first_byte_s"], "s")
    report(f"export {batch.total_jobs} jobs: total", result["total_s"], "s")
    report(f"export {batch.total_jobs} jobs: rows", result["rows"], "rows")
    report(f"export {batch.total_jobs} jobs: peak RSS", result["peak_rss_mb"], "MB",
           f"< {TARGET_MB} MB")


def explain_pages(client, pages, *, slow_ms: float = 20.0) -> None:
    """Each page's SQL queries with their time, and EXPLAIN ANALYZE of the slow ones."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for name, url in pages:
        client.get(url)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        print(f"\n### {name} ({url}): {len(queries)} queries")
        for query in queries.captured_queries:
            ms = float(query["time"]) * 1000
            if ms < slow_ms:
                continue
            sql = query["sql"]
            print(f"\n-- {ms:.0f} ms\n{sql}\n")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                print("\n".join(row[0] for row in cursor.fetchall()))


def _users(export_batch_id: str):
    """The superuser and a client user of the export campaign's account, as bench/scale.py
    makes them (Django must be set up)."""
    from accounts.models import User
    from batches.models import Batch

    account = Batch.objects.select_related("account").get(batch_id=export_batch_id).account
    staff, _ = User.objects.get_or_create(
        username="scale-staff", defaults={"is_staff": True, "is_superuser": True})
    client_user, _ = User.objects.get_or_create(username="scale-client",
                                                defaults={"account": account})
    return staff, client_user, account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds of requests per page at most")
    parser.add_argument("--only", default="", help="measure only pages whose name has this")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--explain", action="store_true",
                        help="print the slow queries of the pages and their EXPLAIN ANALYZE")
    parser.add_argument("--export-child", metavar="BATCH_ID")
    parser.add_argument("--user", type=int)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.export_child:
        _export_child(args.export_child, args.user, args.out)
        return

    url = os.environ["DATABASE_URL"]
    _django()
    from scale_data import EXPORT_BATCH_ID

    staff, client_user, account = _users(EXPORT_BATCH_ID)
    ctx = SimpleNamespace(database_url=url, export_batch_id=EXPORT_BATCH_ID, staff_user=staff,
                          client_user=client_user, account_id=account.account_id)
    rows = []

    def report(name, value, unit, target=""):
        rows.append((name, value, unit, target))
        print(f"{name:<56} {value:>10.1f} {unit:<5} {target}", flush=True)

    if args.only or args.no_export or args.explain:
        from django.test import Client

        client = Client(HTTP_HOST="localhost")
        client.force_login(staff)
        pages = [p for p in _pages(_sample()) if args.only in p[0]]
        if args.explain:
            explain_pages(client, pages)
            return
        for row in time_pages(client, pages, requests=args.requests, budget=args.budget):
            report(f"admin {row['name']} p50", row["p50"], "ms")
            report(f"admin {row['name']} p95", row["p95"], "ms", f"< {TARGET_MS} ms")
            report(f"admin {row['name']} SQL ({row['queries']} queries)", row["sql_ms"], "ms")
        return
    measure(report, "large", ctx)


if __name__ == "__main__":
    main()
