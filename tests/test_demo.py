"""Smoke test of the README's first command, ``python3 dev.py up``.

The whole embedded system as a developer gets it — SQLite, the filesystem broker, the Retell
simulator, a Celery worker (thread pool), beat and ``runserver``, seeded by ``seed_demo`` — is
started as one subprocess on free ports, a temporary database and a temporary broker folder,
then checked from outside: the web and the API answer, the demo campaign calls the simulator,
and the SQLite database shows calls ended, settled and billed with the books balanced. Ctrl-C
(SIGINT to dev.py) must then stop every process it started.

No pytest-django database and no PostgreSQL or Redis: everything is read over HTTP and from the
SQLite file, opened read-only.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

# Real Celery processes end to end, like the queue tests (but on the embedded stack).
pytestmark = pytest.mark.queue

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
PASSWORD = "demo-smoke-test-7319"
DEADLINE_SECONDS = 120
STOP_SECONDS = 45  # dev.py gives each child 10 s after Ctrl-C
FOUR_PLACES = Decimal("0.0001")
LIVE = ("dialling", "registered", "ongoing")
SETTLED = ("ended", "failed")
ANSWERED = ("contact", "do_not_call")
# Inherited variables that would steer the demo away from its embedded defaults (the test
# settings' PostgreSQL and Redis, a test simulator's URL, shortened engine timings...).
ISOLATE_PREFIXES = ("DJANGO_", "DATABASE_", "CELERY_", "RETELL_", "CALLS_", "DEFAULT_COST_",
                    "EXCEL_", "PYTEST_")
ISOLATE_NAMES = {"TIME_ZONE", "LANGUAGE_CODE", "LOG_LEVEL"}
# Lines that must not appear in the log while the system runs.
LOG_PROBLEMS = re.compile(r"Traceback|database is locked| ERROR |\[dev\] a process exited")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def money(value) -> Decimal:
    """A DecimalField read straight from SQLite (stored as REAL or INTEGER), as Django reads
    it: quantized to the field's 4 places."""
    return Decimal(str(value or 0)).quantize(FOUR_PLACES)


def group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes of the process group, as "pid command" lines."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [f"process group {pgid} is not empty"]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(f"{entry.name} {cmdline.strip()}")
    return members


class Demo:
    """``dev.py up`` in its own process group, isolated from the test run and from any demo a
    developer may have running (its own ports, database and broker folder)."""

    def __init__(self, tmp: Path):
        self.port, self.sim_port = free_port(), free_port()
        while self.sim_port == self.port:
            self.sim_port = free_port()
        self.db = tmp / "demo.sqlite3"
        self.log_path = tmp / "dev-up.log"
        self.web = f"http://127.0.0.1:{self.port}"
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(ISOLATE_PREFIXES) and k not in ISOLATE_NAMES}
        env.update({
            "DATABASE_URL": f"sqlite:///{self.db}",
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_BROKER_DIR": str(tmp / "broker"),
            "PYTHONUNBUFFERED": "1",
        })
        self.env = env
        self.process: subprocess.Popen | None = None
        self.http = httpx.Client(timeout=10, trust_env=False)

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(VENV_PYTHON), "dev.py", "up", "--port", str(self.port),
                 "--sim-port", str(self.sim_port), "--password", PASSWORD],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def fail(self, message: str):
        pytest.fail(f"{message}\n--- last lines of dev.py up ---\n{self.log_tail()}")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            self.fail(f"dev.py up exited early with code {self.process.returncode}")
        if "[dev] a process exited" in self.log():
            self.fail("one of dev.py up's processes exited")

    def get(self, url: str, **kwargs) -> httpx.Response | None:
        try:
            return self.http.get(url, **kwargs)
        except httpx.HTTPError:
            return None

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30,
                               isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def stop(self) -> tuple[int | None, list[str]]:
        """Ctrl-C, as a developer would; then kill whatever is left. Returns dev.py's exit code
        (None if it had to be killed) and the processes that outlived it."""
        if self.process is None:
            return None, []
        self.http.close()
        pgid = self.process.pid  # start_new_session: the group's id is dev.py's pid
        code = self.process.poll()
        if code is None:
            try:
                self.process.send_signal(signal.SIGINT)
                code = self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            except ProcessLookupError:
                code = self.process.wait()
        leftovers = group_members(pgid)
        if code is None or leftovers:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
            deadline = time.monotonic() + 10
            while group_members(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
        return code, leftovers


def progress(conn: sqlite3.Connection) -> dict | None:
    """How far the demo campaign got, or None while the database is not seeded yet."""
    try:
        account = conn.execute(
            "SELECT id, max_concurrent_calls FROM accounts_account WHERE account_id = 'demo'"
        ).fetchone()
        if account is None:
            return None
        attempts, settled = conn.execute(
            "SELECT COUNT(*), COUNT(settled_at) FROM calls_callattempt WHERE account_id = ?",
            (account["id"],)).fetchone()
        done = conn.execute("SELECT COUNT(*) FROM batches_job WHERE account_id = ? AND "
                            "status = 'done'", (account["id"],)).fetchone()[0]
    except sqlite3.OperationalError:  # not migrated yet, or the file is still being created
        return None
    return {"attempts": attempts, "settled": settled, "done": done,
            "slots": account["max_concurrent_calls"]}


def wait_for_calls(demo: Demo) -> dict:
    """Until at least 3 calls ended and settled, 3 jobs are done and more calls were placed
    than the account has slots (a freed slot was refilled)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    last = None
    while time.monotonic() < deadline:
        demo.check_alive()
        if demo.db.exists():
            conn = demo.connect()
            try:
                last = progress(conn)
            finally:
                conn.close()
            if last and last["settled"] >= 3 and last["done"] >= 3 \
                    and last["attempts"] > last["slots"]:
                return last
        time.sleep(0.5)
    demo.fail(f"after {DEADLINE_SECONDS}s the demo campaign had only made this progress: {last}")


def check_web(demo: Demo) -> None:
    login = demo.get(f"{demo.web}/admin/login/")
    assert login is not None and login.status_code == 200, login
    # The schema and the docs page need a login.
    schema, docs = demo.get(f"{demo.web}/api/schema/"), demo.get(f"{demo.web}/api/docs/")
    assert schema is not None and schema.status_code == 401, schema
    assert docs is not None and docs.status_code == 302, docs
    assert docs.headers["location"] == "/admin/login/?next=/api/docs/"
    # The operator logs in to the admin with the password given to dev.py.
    admin = httpx.Client(base_url=demo.web, timeout=10, trust_env=False)
    with admin:
        admin.get("/admin/login/")
        answer = admin.post("/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": admin.cookies["csrftoken"], "username": "operador",
            "password": PASSWORD, "next": "/admin/"})
        assert answer.status_code == 302 and answer.headers["location"] == "/admin/", \
            (answer.status_code, answer.text[:500])
        assert admin.get("/admin/").status_code == 200
        for path in ("/api/schema/", "/api/docs/"):
            assert admin.get(path).status_code == 200, path


def check_api(demo: Demo, token: str, data: dict) -> dict:
    """The client's API, with the token seed_demo printed, sees the demo campaign; its
    progress is at least what the earlier database snapshot ``data`` showed."""
    anonymous = demo.get(f"{demo.web}/api/v1/batches")
    assert anonymous is not None and anonymous.status_code in (401, 403), anonymous
    auth = {"Authorization": f"Token {token}"}
    response = demo.get(f"{demo.web}/api/v1/batches", headers=auth)
    assert response is not None and response.status_code == 200, response
    batches = response.json()["results"]
    assert len(batches) == 1, batches
    batch = batches[0]
    assert (batch["account_id"], batch["name"], batch["total_jobs"], batch["status"]) == \
        ("demo", "Campaña demo noviembre", 25, "running"), batch
    status = demo.get(f"{demo.web}/api/v1/batches/{batch['batch_id']}/status", headers=auth)
    assert status is not None and status.status_code == 200, status
    status = status.json()
    assert sum(status["counts"].values()) == 25, status
    contacted = [a for a in data["attempts"] if a["outcome"] == "contact"]
    assert status["attempts_made"] >= len(data["attempts"]), status
    assert status["contacted"] >= len(contacted), status
    return batch


def sim_stats(demo: Demo) -> dict:
    response = demo.get(f"{demo.sim}/_sim/stats")
    assert response is not None and response.status_code == 200, response
    return response.json()


def snapshot(demo: Demo) -> dict:
    """Everything the checks read, in one read transaction (one consistent snapshot of the
    WAL database while the system writes to it)."""
    conn = demo.connect()
    try:
        conn.execute("BEGIN")
        rows = {
            "accounts": conn.execute("SELECT * FROM accounts_account").fetchall(),
            "ledger": conn.execute("SELECT * FROM accounts_ledgerentry ORDER BY id").fetchall(),
            "attempts": conn.execute("SELECT * FROM calls_callattempt ORDER BY id").fetchall(),
            "jobs": conn.execute("SELECT * FROM batches_job").fetchall(),
            "events": conn.execute("SELECT job_id, message FROM batches_jobevent").fetchall(),
            "tokens": conn.execute(
                "SELECT t.digest FROM accounts_apitoken t JOIN accounts_user u "
                "ON u.id = t.user_id WHERE u.username = 'cliente-demo'").fetchall(),
        }
        conn.execute("COMMIT")
    finally:
        conn.close()
    return rows


def check_books(data: dict) -> None:
    """Every balance equals the sum of its ledger and every entry's balance_after its running
    sum; each attempt's entries net to its open hold (live) or its charge (settled); credits
    equal the top-ups minus what calls cost and what live calls hold; total_spent = costs."""
    attempts_by_key = {a["idempotency_key"]: a for a in data["attempts"]}
    for account in data["accounts"]:
        entries = [e for e in data["ledger"] if e["account_id"] == account["id"]]
        for unit in ("credits", "minutes"):
            running = Decimal("0")
            for entry in (e for e in entries if e["unit"] == unit):
                running += money(entry["amount"])
                assert money(entry["balance_after"]) == running, dict(entry)
            assert money(account[unit]) == running, (account["account_id"], unit, running)
        by_reference = defaultdict(Decimal)
        for entry in entries:
            if entry["reference"] in attempts_by_key:
                by_reference[entry["reference"]] += money(entry["amount"])
        mine = [a for a in data["attempts"] if a["account_id"] == account["id"]]
        for attempt in mine:
            hold = money(attempt["hold_amount"])
            if attempt["status"] in LIVE:
                expected = -hold
            elif attempt["status"] in SETTLED:
                expected = -min(money(attempt["cost"]), hold) if attempt["hold_unit"] else 0
            else:  # provider_error: the hold was given back
                expected = Decimal("0")
            assert by_reference[attempt["idempotency_key"]] == expected, dict(attempt)
        if account["plan_type"] == "credit_based":
            topups = sum((money(e["amount"]) for e in entries
                          if e["kind"] in ("topup", "adjustment") and e["unit"] == "credits"),
                         Decimal("0"))
            costs = sum((money(a["cost"]) for a in mine if a["status"] in SETTLED),
                        Decimal("0"))
            held = sum((money(a["hold_amount"]) for a in mine
                        if a["status"] in LIVE and a["hold_unit"] == "credits"), Decimal("0"))
            assert money(account["credits"]) == topups - costs - held, \
                (account["account_id"], topups, costs, held)
        spent = sum((money(a["cost"]) for a in mine if a["status"] in SETTLED), Decimal("0"))
        assert money(account["total_spent"]) == spent, (account["account_id"], spent)


def check_calls(data: dict) -> None:
    """Settled calls are ended, priced by the billing rule, and their jobs moved on."""
    (account,) = [a for a in data["accounts"] if a["account_id"] == "demo"]
    assert account["compliance_profile"] == "none", dict(account)
    jobs = {j["id"]: j for j in data["jobs"]}
    assert len(jobs) == 25, len(jobs)
    events = {(e["job_id"], e["message"].split(":", 1)[0]) for e in data["events"]}
    setup, per_minute = money(account["cost_per_call_setup"]), money(account["cost_per_minute"])
    ended = [a for a in data["attempts"] if a["status"] == "ended"]
    assert len([a for a in ended if a["settled_at"] is not None]) >= 3, len(ended)
    latest = {}
    for attempt in data["attempts"]:
        # Final status and settlement are written in one transaction.
        assert (attempt["status"] in SETTLED) == (attempt["settled_at"] is not None), \
            dict(attempt)
        if attempt["attempt_number"] > latest.get(attempt["job_id"], 0):
            latest[attempt["job_id"]] = attempt["attempt_number"]
    for attempt in ended:
        job = jobs[attempt["job_id"]]
        where = (dict(attempt), dict(job))
        if attempt["outcome"] in ANSWERED:
            seconds = min(attempt["duration_seconds"], attempt["max_call_duration"])
            price = (setup + per_minute * Decimal(seconds) / 60).quantize(FOUR_PLACES)
        else:
            price = setup
        assert money(attempt["cost"]) == price, where
        # The job moved on in the settling transaction: its event, its attempt counted, and
        # a contacted debtor's job done (nothing dials it again).
        assert (job["id"], f"#{attempt['attempt_number']} {attempt['phone']}") in events, where
        assert job["attempts"] >= attempt["attempt_number"], where
        if attempt["outcome"] in ANSWERED:
            assert job["status"] == "done", where
        elif attempt["attempt_number"] == latest[job["id"]]:
            assert job["status"] in ("pending", "failed", "in_progress"), where
    for attempt in data["attempts"]:
        if attempt["status"] in LIVE:
            assert jobs[attempt["job_id"]]["status"] == "in_progress", dict(attempt)
    # No job is dialled twice for one attempt (the key) nor twice at once.
    keys = [a["idempotency_key"] for a in data["attempts"]]
    assert len(keys) == len(set(keys))
    assert all(key == f"job-{a['job_id']}-attempt-{a['attempt_number']}"
               for key, a in zip(keys, data["attempts"], strict=True))
    live_jobs = [a["job_id"] for a in data["attempts"] if a["status"] in LIVE]
    assert len(live_jobs) == len(set(live_jobs)) <= account["max_concurrent_calls"], live_jobs


def check_simulator(before: dict, data: dict, after: dict, slots: int) -> None:
    """The simulator placed one call per idempotency key, each for an attempt the database
    recorded first, never more at once than the account's slots, and every webhook it sent
    was accepted. ``before`` and ``after`` bracket the database snapshot."""
    db_keys = {a["idempotency_key"]: a for a in data["attempts"]}
    assert before["calls_created"] >= 3, before
    assert set(before["by_idempotency_key"].values()) == {1}, before["by_idempotency_key"]
    assert len(before["by_idempotency_key"]) == before["calls_created"], before
    # An attempt is saved (dialling) before Retell is called: the simulator cannot know a key
    # the database does not.
    unknown = set(before["by_idempotency_key"]) - set(db_keys)
    assert not unknown, unknown
    # A call id is stored only once Retell answered: every bound attempt is a simulator call.
    bound = {k for k, a in db_keys.items() if a["call_id"]}
    assert bound <= set(after["by_idempotency_key"]), bound - set(after["by_idempotency_key"])
    per_phone = defaultdict(int)
    for attempt in data["attempts"]:
        per_phone[attempt["phone"]] += 1
    for number, count in before["by_number"].items():
        assert count <= per_phone[number], (number, count, per_phone[number])
    assert after["max_live_total"] <= slots, after
    assert after["webhooks_sent"] > 0 and after["webhook_failures"] == 0, after


def test_dev_up_runs_the_demo_on_sqlite(tmp_path):
    if not VENV_PYTHON.exists():
        pytest.skip(f"{VENV_PYTHON} is missing: dev.py up would create it and install the "
                    "requirements from the network (run `python3 dev.py test` first)")
    demo = Demo(tmp_path)
    started = time.monotonic()
    try:
        demo.start()
        reached = wait_for_calls(demo)
        check_web(demo)
        before = sim_stats(demo)
        data = snapshot(demo)
        after = sim_stats(demo)
        printed = re.search(r"client API token: ([0-9a-f]{40})", demo.log())
        assert printed, "token not printed"
        token = printed.group(1)
        # The database holds the token's digest only, never the key.
        assert [row["digest"] for row in data["tokens"]] == [
            hashlib.sha256(token.encode()).hexdigest()], "no (single) API token for cliente-demo"
        check_api(demo, token, data)
        check_calls(data)
        check_books(data)
        check_simulator(before, data, after, reached["slots"])
        problems = [line for line in demo.log().splitlines() if LOG_PROBLEMS.search(line)]
        assert not problems, "\n".join(problems)
        running = time.monotonic() - started
        code, leftovers = demo.stop()
        stopped = time.monotonic() - started
        # Ctrl-C stops everything dev.py started, and nothing is left half-written.
        assert code == 0 and not leftovers, (code, leftovers, demo.log_tail())
        check_books(snapshot(demo))
        print(f"dev.py up: calls settled after {running:.1f}s, all stopped after "
              f"{stopped:.1f}s; {reached}")
    except BaseException:
        print(f"--- last lines of dev.py up ({demo.log_path}) ---\n{demo.log_tail()}")
        raise
    finally:
        demo.stop()
