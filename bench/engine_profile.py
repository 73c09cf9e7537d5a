"""Where one call's time goes in the engine, step by step, in one thread (not a timed test).

    python bench/engine_profile.py [--jobs 300] [--plan unlimited|credits]
                                   [--cprofile dial|ended|analyzed] [--top 25]

Runs, one after the other in this process, what the engine does for each of ``--jobs`` calls
(database ``cc_bench_dispatch`` unless DATABASE_URL says otherwise; the Retell simulator in
this process, zero ring and talk time): the dial (``calls.services.job_process``, as the
``process_job`` task runs it) and the two signed webhooks Retell sends, call_ended (the settle,
and the dispatch that publishes the next job into the freed slot, on Redis) and call_analyzed,
each through Django's WSGI handler with every middleware, as gunicorn runs it. For each step it
prints the statements sent, this thread's CPU, the PostgreSQL backend's CPU (from
``/proc/<pid>/schedstat``) and the wall time, per call; then the statements that cost the
backend most. ``--cprofile STEP`` profiles that step's Python (cProfile, the top functions by
own time and by cumulative time). Single-threaded, so nothing waits on a lock or a core: the
figures are the work itself, not the contention of bench/dispatch.py's run.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cc_bench_dispatch")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")

WEBHOOK_PATH = "/api/v1/calls/retell/webhook"
STEPS = ("dial", "ended", "analyzed")


class Captured:
    """The webhooks the simulator sends, kept by call id and event instead of delivered."""

    def __init__(self):
        self.events: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.cond = threading.Condition()
        captured = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                with captured.cond:
                    captured.events[(body["call"]["call_id"], body["event"])] = (
                        raw, self.headers["x-retell-signature"])
                    captured.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, call_id: str, event: str, timeout: float = 10.0) -> tuple[bytes, str]:
        with self.cond:
            if not self.cond.wait_for(lambda: (call_id, event) in self.events, timeout):
                raise TimeoutError(f"no {event} webhook for {call_id}")
            return self.events.pop((call_id, event))


def backend_cpu_ns(pid: int) -> int:
    """CPU time the PostgreSQL backend has run, in nanoseconds (the scheduler's own count)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


class Statements:
    """An execute wrapper: every statement's count, wall time and backend CPU, by its text."""

    def __init__(self, backend_pid: int):
        self.pid = backend_pid
        self.by_sql = defaultdict(lambda: [0, 0.0, 0])
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        cpu, wall = backend_cpu_ns(self.pid), time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            entry = self.by_sql[" ".join(sql.split())]
            entry[0] += 1
            entry[1] += time.perf_counter() - wall
            entry[2] += backend_cpu_ns(self.pid) - cpu
            self.count += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--plan", default="unlimited", choices=["unlimited", "credits"])
    parser.add_argument("--cprofile", choices=STEPS)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from bench.dispatch import make_batch, reset_data, setup_django

    setup_django()
    from decimal import Decimal

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    from accounts.models import Account
    from accounts.services import account_create
    from batches.models import Job
    from calls.models import CallAttempt
    from calls.services import job_process
    from retell_sim import RetellSimulator
    from tests.queue_support import flush_broker

    reset_data()
    flush_broker()
    captured = Captured()
    sim = RetellSimulator(api_key=settings.RETELL_API_KEY, ring_ms=0, talk_ms=0,
                          analyzed_delay_ms=0, webhook_url=captured.url)
    sim.start()
    settings.RETELL_BASE_URL = sim.base_url
    plan = {"plan_type": Account.Plan.UNLIMITED} if args.plan == "unlimited" else {
        "plan_type": Account.Plan.CREDITS, "initial_credits": Decimal("100000000")}
    account = account_create(account_id="bench-profile", account_name="bench-profile",
                             contact_name="Bench", contact_email="bench@example.cl",
                             max_concurrent_calls=50, compliance_profile="none", **plan)
    make_batch(account, args.jobs)
    flush_broker()
    job_ids = list(Job.objects.filter(account=account).order_by("pk")
                   .values_list("pk", flat=True))
    handler = WSGIHandler()

    def webhook(raw: bytes, signature: str) -> int:
        status = []
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": WEBHOOK_PATH, "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "18731",
            "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(raw)),
            "HTTP_HOST": "127.0.0.1:18731", "HTTP_X_RETELL_SIGNATURE": signature,
            "wsgi.input": io.BytesIO(raw), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
            "wsgi.version": (1, 0),
        }
        response = handler(environ, lambda s, headers, exc_info=None: status.append(s))
        b"".join(response)
        response.close()
        return int(status[0].split()[0])

    connection.ensure_connection()
    statements = Statements(connection.connection.info.backend_pid)
    figures = {step: {"thread": 0.0, "backend": 0, "wall": 0.0, "queries": 0}
               for step in STEPS}
    per_step_sql = {step: Statements(statements.pid) for step in STEPS}
    profiler = cProfile.Profile(time.thread_time) if args.cprofile else None
    results = defaultdict(int)
    warmup = min(20, args.jobs // 5)

    def run(step, fn, *fn_args):
        pid = connection.connection.info.backend_pid
        if pid != statements.pid:  # a new connection (CONN_MAX_AGE): follow it
            statements.pid = per_step_sql[step].pid = pid
            for other in per_step_sql.values():
                other.pid = pid
        recorder = per_step_sql[step]
        before = (time.thread_time(), backend_cpu_ns(pid), time.perf_counter(), recorder.count)
        if profiler is not None and step == args.cprofile:
            profiler.enable()
        with connection.execute_wrapper(recorder):
            result = fn(*fn_args)
        if profiler is not None and step == args.cprofile:
            profiler.disable()
        entry = figures[step]
        entry["thread"] += time.thread_time() - before[0]
        entry["backend"] += backend_cpu_ns(connection.connection.info.backend_pid) - before[1]
        entry["wall"] += time.perf_counter() - before[2]
        entry["queries"] += recorder.count - before[3]
        return result

    measured = 0
    for index, job_id in enumerate(job_ids):
        if index == warmup:  # the first calls import and prepare: not counted
            for entry in figures.values():
                entry.update(thread=0.0, backend=0, wall=0.0, queries=0)
            for recorder in per_step_sql.values():
                recorder.by_sql.clear()
                recorder.count = 0
            if profiler is not None:
                profiler = cProfile.Profile(time.thread_time)
            measured = 0
        results[run("dial", lambda j=job_id: job_process(job_id=j))] += 1
        call_id = CallAttempt.objects.filter(job_id=job_id).values_list("call_id", flat=True)[0]
        for step, event in (("ended", "call_ended"), ("analyzed", "call_analyzed")):
            raw, signature = captured.take(call_id, event)
            status = run(step, webhook, raw, signature)
            if status != 200:
                raise SystemExit(f"{event} answered {status}")
        measured += 1
    sim.stop()
    captured.server.shutdown()
    flush_broker()

    print(f"{measured} calls measured (after {warmup} of warm-up), plan {args.plan}; "
          f"results {dict(results)}")
    print(f"{'step':<10}{'statements':>11}{'thread CPU ms':>15}{'backend CPU ms':>16}"
          f"{'wall ms':>9}")
    total = {"thread": 0.0, "backend": 0, "wall": 0.0, "queries": 0}
    for step in STEPS:
        entry = figures[step]
        for key in total:
            total[key] += entry[key]
        print(f"{step:<10}{entry['queries'] / measured:>11.1f}"
              f"{entry['thread'] * 1000 / measured:>15.2f}"
              f"{entry['backend'] / 1e6 / measured:>16.2f}{entry['wall'] * 1000 / measured:>9.2f}")
    print(f"{'a call':<10}{total['queries'] / measured:>11.1f}"
          f"{total['thread'] * 1000 / measured:>15.2f}"
          f"{total['backend'] / 1e6 / measured:>16.2f}{total['wall'] * 1000 / measured:>9.2f}")
    for step in STEPS:
        print(f"\n{step}: statements per call, backend CPU ms and wall ms per call")
        rows = sorted(per_step_sql[step].by_sql.items(), key=lambda item: -item[1][2])
        for sql, (count, wall, cpu) in rows:
            print(f"  {count / measured:4.1f} x {cpu / 1e6 / measured:6.3f} "
                  f"{wall * 1000 / measured:6.3f}  {sql[:150]}")
    if profiler is not None:
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
