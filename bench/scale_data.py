"""The database of bench/scale.py: a year of campaigns, loaded with ``COPY`` (psycopg 3).

``build(dsn, size)`` fills a freshly migrated database with (large / small):

- accounts: 1,000 / 10 (credit, minute and unlimited plans; CL, US and no compliance profile;
  their time zones); 30 % of them have open campaigns, the rest only finished ones;
- campaigns: 5,000 / 40 over the last year: 80 % finished (completed, a few cancelled), 20 %
  open (running, paused, scheduled), with realistic ``call_settings`` (windows, retries,
  attempts); the account ``scale-big`` owns the export campaign ``scale-export-100k`` (exactly
  100,000 jobs; 100 in the small database, its biggest campaign) and many others;
- jobs: 1,000,000 / 1,000: 50 % finished (done, failed, cancelled), 10 % due now, 40 % deferred
  to later windows (hours to a month ahead), one call in flight per running campaign; 1-3
  phones each, debtors recurring across an account's campaigns (2 % without RUT);
- call attempts: about 3,000,000 / 3,000 (contacts with transcript and analysis, no answer,
  voicemail, busy, invalid numbers), each with its settlement in the ledger for the plans
  that charge, and top-ups before them so that no balance ever goes below zero; each
  account's balances equal the sum of its ledger entries, ``total_spent`` the sum of its
  calls' cost;
- do-not-call entries: 100,000 / 100 (phones, RUTs) from the accounts' own debtors;
- campaign events (created, completed...) and each finished job's last event.

Triggers are off during the load (``session_replication_role = replica``: the counter
triggers of batches 0007, calls 0004 and 0006, accounts 0006, and the deferred
foreign-key checks); the counters (``batches_jobcount``, ``calls_attempttotal``,
``calls_attempthour``, ``accounts_usagehour``) are then filled with one
``INSERT ... SELECT`` each, as the migrations do, the sequences moved past the ids and
every table analysed.
Deterministic (seeded).
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg

SIZES = {
    # accounts, campaigns, jobs, export campaign's jobs, do-not-call entries
    "large": dict(accounts=1_000, campaigns=5_000, jobs=1_000_000, export=100_000, dnc=100_000),
    "small": dict(accounts=10, campaigns=40, jobs=1_000, export=100, dnc=100),
}
EXPORT_BATCH_ID = "scale-export-100k"
BIG_ACCOUNT = "scale-big"
OPEN_SHARE = 0.2  # of campaigns
ACTIVE_ACCOUNTS = 0.3
FOUR = Decimal("0.0001")

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

FIRST_NAMES = ["José", "María", "Juan", "Ana", "Luis", "Carmen", "Pedro", "Francisca",
               "Diego", "Camila", "Jorge", "Valentina", "Cristián", "Javiera", "Raúl", "Sofía"]
LAST_NAMES = ["Muñoz", "González", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva",
              "Martínez", "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Núñez"]
COMPANIES = ["Retail SpA", "Financiera Sur", "Telco Andes", "Caja Norte", "Seguros Pacífico"]
NO_CONTACT = [("dial_no_answer", 0.55), ("voicemail_reached", 0.3), ("dial_busy", 0.15)]
CONTACT_REASONS = ["user_hangup", "agent_hangup"]
TRANSCRIPT = ("Agente: Buenos días, ¿hablo con {name}? Le llamo de {company} por su deuda de "
              "{debt} pesos vencida el {due}.\nDeudor: Sí, soy yo. Puedo pagar la próxima "
              "semana.\nAgente: Perfecto, dejo registrado el compromiso de pago para el "
              "{due}. ¿Le envío los datos de transferencia a su correo?\nDeudor: Sí, por "
              "favor.\nAgente: Muchas gracias, que tenga un buen día.")


def rut_dv(number: int) -> str:
    total, factor = 0, 2
    for digit in reversed(str(number)):
        total += int(digit) * factor
        factor = 2 if factor == 7 else factor + 1
    rest = 11 - total % 11
    return {11: "0", 10: "K"}.get(rest, str(rest))


def rut(number: int) -> str:
    return f"{number}-{rut_dv(number)}"


def _ts(value: datetime) -> str:
    return value.isoformat()


def _text(value: str) -> str:
    """A value in COPY's text format (JSON text has no raw control characters)."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _n(value) -> str:
    return "\\N" if value is None else str(value)


class Copier:
    """Rows of one table, written through COPY in blocks; times itself."""

    def __init__(self, conn, table: str, columns: tuple[str, ...], timings: dict):
        self.conn, self.table, self.columns, self.timings = conn, table, columns, timings
        self.lines: list[str] = []
        self.rows = 0

    def __enter__(self):
        self.started = time.perf_counter()
        self.cursor = self.conn.cursor()
        self.copy_cm = self.cursor.copy(
            f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN")
        self.copy = self.copy_cm.__enter__()
        return self

    def add(self, *values) -> None:
        self.lines.append("\t".join(values))
        if len(self.lines) >= 20_000:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.copy.write("\n".join(self.lines) + "\n")
            self.rows += len(self.lines)
            self.lines = []

    def __exit__(self, *exc):
        if exc[0] is None:
            self.flush()
        self.copy_cm.__exit__(*exc)
        self.cursor.close()
        if exc[0] is None:
            self.conn.commit()
            elapsed = time.perf_counter() - self.started
            self.timings[self.table] = (self.rows, elapsed)
        return False


@dataclass
class AccountSpec:
    pk: int
    account_id: str
    plan: str
    profile: str
    tz: str
    slots: int
    setup: Decimal
    per_minute: Decimal
    active: bool
    created_at: datetime


@dataclass
class BatchSpec:
    pk: int
    batch_id: str
    account: AccountSpec
    status: str
    jobs: int
    created_at: datetime
    settings: dict
    is_active: bool
    scheduled_at: datetime | None
    completed_at: datetime | None


def _allocate(total: int, count: int, rng: random.Random, cap: int | None = None) -> list[int]:
    """``count`` skewed sizes (at least 1, at most ``cap``) adding up to ``total``."""
    if count == 0:
        return []
    weights = [min(rng.paretovariate(1.4), 40.0) for _ in range(count)]
    scale = (total - count) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    if cap is not None:
        sizes = [min(s, cap) for s in sizes]
    i = 0
    while sum(sizes) < total:  # the rounding's remainder, spread
        if cap is None or sizes[i % count] < cap:
            sizes[i % count] += 1
        i += 1
    while sum(sizes) > total:
        if sizes[i % count] > 1:
            sizes[i % count] -= 1
        i += 1
    return sizes


def _call_settings(rng: random.Random, account: AccountSpec, closed_now: bool) -> dict:
    if account.profile == "US":
        hours = {"start": "09:00", "end": "20:00"}
    elif closed_now:  # a morning-only campaign: its window is closed in the afternoon
        hours = {"start": "08:30", "end": "12:00"}
    else:
        hours = rng.choice([{"start": "09:00", "end": "19:00"}, {"start": "08:00", "end": "20:00"},
                            {"start": "10:00", "end": "19:30"}])
    days = [1, 2, 3, 4, 5] if rng.random() < 0.6 else [1, 2, 3, 4, 5, 6]
    return {
        "max_call_duration": rng.choice([300, 600]),
        "ring_timeout": rng.choice([30, 45, 60]),
        "max_attempts": 6,
        "retry_delay_hours": rng.choice(["4", "24", "48"]),
        "allowed_hours": hours if account.profile != "none" else rng.choice([None, hours]),
        "days_of_week": days,
        "timezone": account.tz,
        "priority": rng.choice(["normal", "normal", "high", "low"]),
    }


def build(dsn: str, size: str, *, now: datetime | None = None, log=print) -> dict:
    """Fill the migrated database at ``dsn``; returns {table: (rows, seconds)} and facts."""
    spec = SIZES[size]
    rng = random.Random(18)
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    timings: dict = {}
    year_ago = now - timedelta(days=365)
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        accounts = _accounts(conn, rng, spec, now, year_ago, timings)
        batches = _batches(conn, rng, spec, accounts, now, year_ago, timings)
        facts = _jobs_attempts(conn, rng, spec, accounts, batches, now, timings, log)
        _ledger(conn, accounts, facts.pop("charges"), facts.pop("spent"), timings)
        _do_not_call(conn, rng, spec, accounts, facts.pop("debtors"), now, timings)
        started = time.perf_counter()
        _finish(conn)
        timings["counters, sequences"] = (0, time.perf_counter() - started)
        started = time.perf_counter()
        conn.execute("SET session_replication_role = origin")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = (0, time.perf_counter() - started)
    return {"timings": timings, **facts}


def _accounts(conn, rng, spec, now, year_ago, timings) -> list[AccountSpec]:
    accounts = []
    cols = ("id", "created_at", "updated_at", "account_id", "account_name", "contact_name",
            "contact_email", "contact_phone", "plan_type", "status", "max_concurrent_calls",
            "timezone", "compliance_profile", "cost_per_call_setup", "cost_per_minute",
            "retell_agent_id", "credits", "minutes", "total_spent")
    n_active = max(2, int(spec["accounts"] * ACTIVE_ACCOUNTS))
    with Copier(conn, "accounts_account", cols, timings) as out:
        for i in range(spec["accounts"]):
            pk = i + 1
            r = rng.random()
            profile = "CL" if r < 0.8 else ("US" if r < 0.9 else "none")
            if i == 0:
                profile = "CL"
            tz = {"CL": rng.choice(["America/Santiago"] * 9 + ["America/Punta_Arenas"]),
                  "US": rng.choice(["America/New_York", "America/Chicago",
                                    "America/Los_Angeles"]),
                  "none": rng.choice(["America/Santiago", "Europe/Madrid"])}[profile]
            plan = "credit_based" if i == 0 else rng.choices(
                ["credit_based", "minutes_based", "unlimited"], [0.6, 0.3, 0.1])[0]
            account = AccountSpec(
                pk=pk, account_id=BIG_ACCOUNT if i == 0 else f"scale-{pk:04d}", plan=plan,
                profile=profile, tz=tz, slots=50 if i == 0 else rng.choice([10, 10, 20, 30]),
                setup=Decimal(rng.choice([10, 20, 30])), per_minute=Decimal(rng.choice([60, 90,
                                                                                       120])),
                active=i < n_active,
                created_at=year_ago - timedelta(days=rng.uniform(1, 200)),
            )
            accounts.append(account)
            name = f"{rng.choice(LAST_NAMES)} {rng.choice(['Cobranzas', 'Finanzas', 'Retail'])}"
            out.add(str(pk), _ts(account.created_at), _ts(now), account.account_id,
                    _text(f"{name} {pk}"), _text(f"{rng.choice(FIRST_NAMES)} "
                                                  f"{rng.choice(LAST_NAMES)}"),
                    f"ops{pk}@example.cl", f"+5622{pk:07d}", plan, "active", str(account.slots),
                    tz, profile, str(account.setup), str(account.per_minute), "", "0", "0", "0")
    return accounts


def _batches(conn, rng, spec, accounts, now, year_ago, timings) -> list[BatchSpec]:
    n_open = max(4, int(spec["campaigns"] * OPEN_SHARE))
    n_closed = spec["campaigns"] - n_open
    jobs_closed = int(spec["jobs"] * 0.4)
    jobs_open = spec["jobs"] - jobs_closed - spec["export"]
    closed_sizes = _allocate(jobs_closed, n_closed, rng, cap=spec["export"] - 1)
    open_sizes = _allocate(jobs_open, n_open - 1, rng, cap=spec["export"] - 1)
    active = [a for a in accounts if a.active]
    # Skewed ownership: the big account holds a share of everything, the rest Zipf-like.
    weights_all = [30.0 if a.pk == 1 else 1.0 / (1 + (a.pk % 97) / 10) for a in accounts]
    weights_active = [30.0 if a.pk == 1 else 1.0 for a in active]
    plans = [("export", spec["export"])]
    plans += [("open", s) for s in open_sizes] + [("closed", s) for s in closed_sizes]
    batches = []
    cols = ("id", "created_at", "updated_at", "batch_id", "name", "description", "script_content",
            "voice_settings", "call_settings", "schedule_type", "scheduled_at",
            "recurring_config", "priority", "priority_rank", "status", "is_active",
            "estimated_cost", "total_rows", "invalid_rows", "duplicates_merged",
            "skipped_existing", "import_errors", "completed_at", "account_id", "created_by_id",
            "total_jobs", "next_run_at", "parent_id", "run_number", "runs_count")
    script = ("Hola {{nombre}}, le llamamos de {{empresa}} por su deuda de {{monto_total}} "
              "pesos con vencimiento el {{fecha_vencimiento}}. " * 3)
    voice = _dumps({"voice_id": "es-CL-female-1", "speed": 1.0, "pitch": 0, "volume": 1.0,
                    "language": "es-CL"})
    events = []
    with Copier(conn, "batches_batch", cols, timings) as out:
        for i, (kind, size) in enumerate(plans):
            pk = i + 1
            if kind == "export":
                account, status = accounts[0], "running"
                created = now - timedelta(days=20)
            elif kind == "open":
                account = rng.choices(active, weights_active)[0]
                status = rng.choices(["running", "paused", "pending"], [0.7, 0.15, 0.15])[0]
                created = now - timedelta(days=rng.uniform(1, 90))
            else:
                account = rng.choices(accounts, weights_all)[0]
                status = "completed" if rng.random() < 0.97 else "cancelled"
                created = year_ago + timedelta(days=rng.uniform(0, 340))
            closed_now = kind == "open" and rng.random() < 0.2
            settings = _call_settings(rng, account, closed_now)
            scheduled = now + timedelta(days=rng.uniform(1, 10)) if status == "pending" else None
            completed = created + timedelta(days=rng.uniform(5, 20)) if kind == "closed" else None
            batch = BatchSpec(
                pk=pk, batch_id=EXPORT_BATCH_ID if kind == "export"
                else f"batch-{created:%Y-%m-%d-%H%M%S}-{pk:06d}",
                account=account, status=status, jobs=size, created_at=created,
                settings=settings, is_active=status != "paused", scheduled_at=scheduled,
                completed_at=completed)
            batches.append(batch)
            name = EXPORT_BATCH_ID if kind == "export" else (
                f"Cartera {created:%B %Y} {rng.choice(['mora 30', 'mora 60', 'castigo'])} #{pk}")
            priority = settings["priority"]
            estimated = (account.setup + account.per_minute * 2) * size
            out.add(str(pk), _ts(created), _ts(completed or created), batch.batch_id,
                    _text(name), "Cobranza temprana", _text(script), voice,
                    _text(_dumps(settings)), "scheduled" if scheduled else "immediate",
                    _n(scheduled and _ts(scheduled)), "\\N", priority,
                    str({"low": 0, "normal": 1, "high": 2}[priority]), status,
                    "t" if batch.is_active else "f", str(estimated), str(size), "0", "0", "0",
                    "[]", _n(completed and _ts(completed)), str(account.pk), "\\N", str(size),
                    "\\N", "\\N", "1", "1")
            events.append((pk, "created", created, _dumps({"total_jobs": size,
                                                           "total_rows": size})))
            if status == "completed":
                events.append((pk, "completed", completed, "{}"))
            elif status == "cancelled":
                events.append((pk, "cancelled", completed, _dumps({"jobs_cancelled": 0})))
            elif status == "paused":
                events.append((pk, "paused", created + timedelta(hours=5), "{}"))
    with Copier(conn, "batches_batchevent", ("kind", "message", "data", "created_at",
                                             "batch_id", "user_id"), timings) as out:
        for pk, kind, at, data in events:
            out.add(kind, "", _text(data), _ts(at), str(pk), "\\N")
    return batches


def _job_categories(batch: BatchSpec, rng) -> list[str]:
    """The status of each job of the batch: done, failed, cancelled, due, later, busy."""
    n = batch.jobs
    if batch.status in ("completed", "cancelled"):
        if batch.status == "cancelled":
            shares = [("cancelled", 0.6), ("done", 0.25), ("failed", 0.15)]
        else:
            shares = [("done", 0.6), ("failed", 0.35), ("cancelled", 0.05)]
    elif batch.batch_id == EXPORT_BATCH_ID:
        shares = [("done", 0.3), ("failed", 0.175), ("cancelled", 0.025), ("due", 0.1),
                  ("later", 0.4)]
    else:
        shares = [("done", 0.06), ("failed", 0.035), ("cancelled", 0.005), ("due", 0.18),
                  ("later", 0.72)]
    cats: list[str] = []
    for name, share in shares:
        cats += [name] * int(round(n * share))
    while len(cats) < n:
        cats.append(shares[-1][0])
    del cats[n:]
    rng.shuffle(cats)
    if batch.status == "running" and "due" in cats:
        cats[cats.index("due")] = "busy"  # one call in flight
    return cats


# attempts made, by category, cycled over its jobs (about 3 per job overall)
ATTEMPT_CYCLES = {"done": [1, 2, 3, 4, 5, 6], "failed": [6, 4, 5], "cancelled": [0, 1, 2],
                  "due": [0, 1, 2, 3], "later": [1, 2, 3, 3], "busy": [1, 2]}


def _jobs_attempts(conn, rng, spec, accounts, batches, now, timings, log) -> dict:
    job_cols = ("id", "created_at", "updated_at", "deduplication_key", "rut", "status",
                "attempts", "next_try_at", "reserved_until", "lease_token", "enqueued_until",
                "last_error", "last_outcome", "contact", "payload", "account_id", "batch_id")
    att_cols = ("id", "created_at", "updated_at", "rut", "attempt_number", "phone",
                "idempotency_key", "call_id", "status", "outcome", "disconnection_reason",
                "error", "provider_failures", "started_at", "ended_at", "duration_seconds",
                "cost", "hold_amount", "hold_unit", "settled_at", "max_call_duration",
                "ring_timeout", "transcript", "recording_url", "analysis", "raw", "account_id",
                "batch_id", "job_id")
    # Debtors recur across an account's campaigns: each account has a pool of RUTs.
    jobs_per_account: dict[int, int] = {}
    for b in batches:
        jobs_per_account[b.account.pk] = jobs_per_account.get(b.account.pk, 0) + b.jobs
    biggest = {}
    for b in batches:
        biggest[b.account.pk] = max(biggest.get(b.account.pk, 0), b.jobs)
    pool = {pk: max(int(n * 0.6), biggest[pk]) for pk, n in jobs_per_account.items()}
    rut_base = {a.pk: 5_000_000 + a.pk * 2_000_000 for a in accounts}
    offsets: dict[int, int] = {}
    live_calls: dict[int, int] = {}
    debtors: dict[int, list[tuple[str, list[str]]]] = {}  # a sample per account, for the DNC
    # {account pk: [(ended, amount in 1/10,000 of the plan's unit, job pk, attempt)]}
    charges: dict[int, list[tuple[float, int, int, int]]] = {}
    spent: dict[int, int] = {}  # credits (1/10,000) the account's calls cost, any plan
    job_pk = attempt_pk = 0
    counts: dict[str, int] = {}
    att_rows: list[str] = []
    att_total = 0
    event_rows: list[str] = []
    # Attempts are written after the jobs (COPY one table at a time, each timed), through a
    # temporary file rather than memory (about 1.5 GB of text at 3M rows).
    att_file = tempfile.TemporaryFile("w+", encoding="utf-8")

    def flush_attempts(final=False):
        nonlocal att_rows, att_total
        if att_rows and (final or len(att_rows) >= 50_000):
            att_total += len(att_rows)
            att_file.write("\n".join(att_rows) + "\n")
            att_rows = []

    started = time.perf_counter()
    with Copier(conn, "batches_job", job_cols, timings) as jobs_out:
        for batch in batches:
            account = batch.account
            cs = batch.settings
            cats = _job_categories(batch, rng)
            if "busy" in cats and live_calls.get(account.pk, 0) >= account.slots // 2:
                cats[cats.index("busy")] = "due"  # half the account's call slots at most
            live_calls[account.pk] = live_calls.get(account.pk, 0) + ("busy" in cats)
            start = offsets.get(account.pk, 0)
            offsets[account.pk] = start + batch.jobs
            for n, cat in enumerate(cats):
                job_pk += 1
                counts[cat] = counts.get(cat, 0) + 1
                number = rut_base[account.pk] + (start + n) % pool[account.pk]
                no_rut = number % 50 == 7
                debtor_rut = "" if no_rut else rut(number)
                phones = [f"+569{(number * 7919) % 100_000_000:08d}"]
                if number % 3:
                    phones.append(f"+562{(number * 104729) % 100_000_000:08d}")
                if number % 5 == 0:
                    phones.append(f"+569{(number * 15485863) % 100_000_000:08d}")
                if n % 50 == 0:
                    debtors.setdefault(account.pk, []).append((debtor_rut, phones))
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                name = f"{first} {last}"
                debt = 50_000 + (number % 400) * 1_250
                due_date = (batch.created_at - timedelta(days=30 + number % 60)).date()
                company = COMPANIES[number % len(COMPANIES)]
                made = ATTEMPT_CYCLES[cat][n % len(ATTEMPT_CYCLES[cat])]
                invalid: list[str] = []
                if cat == "failed" and number % 7 == 0 and len(phones) > 1:
                    invalid = [phones[-1]]
                contact = {"name": name, "rut": debtor_rut, "phones": phones,
                           "email": f"{first.lower()}.{number}@correo.cl" if number % 2 else None,
                           "next_phone_index": made, "invalid_phones": invalid}
                payload = {"debt_amount": f"{debt}.00", "due_date": due_date.isoformat(),
                           "company_name": company, "installments": 1 + number % 6,
                           "fecha_limite": None, "fecha_maxima": None,
                           "additional_info": {"sucursal": ["Centro", "Norte", "Sur"][number % 3],
                                               "producto": "Tarjeta"}}
                # When its calls happened: closed campaigns within their weeks, open ones
                # from their start until now.
                begin = batch.created_at + timedelta(minutes=5 + n % 600)
                end = batch.completed_at or now - timedelta(hours=1)
                span = max((end - begin).total_seconds(), 3600.0)
                times = sorted(begin + timedelta(seconds=rng.uniform(0, span))
                               for _ in range(made))
                if cat in ("due", "later") and times and batch.status != "completed":
                    # a retry's gap: the last call at least a retry delay before it is due
                    pass
                status = {"due": "pending", "later": "pending", "busy": "in_progress"}.get(
                    cat, cat)
                next_try = reserved = lease = None
                last_error, last_outcome = "", ""
                if cat == "due":
                    next_try = None if made == 0 else now - timedelta(seconds=rng.uniform(
                        60, 3 * 86400))
                    if batch.status == "pending":
                        next_try = batch.scheduled_at
                        counts["due"] -= 1
                        counts["later"] = counts.get("later", 0) + 1
                elif cat == "later":
                    days = rng.choice([0, 1, 1, 2, 3, 7, 14, 30])
                    next_try = now + timedelta(days=days, hours=rng.uniform(1, 20))
                    last_error = "wait_window" if days else "wait_retry"
                elif cat == "busy":
                    reserved = now + timedelta(minutes=20)
                    lease = f"00000000-0000-4000-8000-{job_pk:012d}"
                elif cat == "failed":
                    last_error = "fail_max_attempts"
                elif cat == "cancelled":
                    last_error = "cancelled"
                updated = times[-1] if times else batch.created_at
                live = 1 if cat == "busy" else 0
                for k, at in enumerate(times, start=1):
                    attempt_pk += 1
                    contacted = cat == "done" and k == made
                    phone = phones[(k - 1) % len(phones)]
                    if cat == "failed" and invalid and k == made:
                        outcome, reason, seconds = "invalid_number", "invalid_destination", 0
                    elif contacted:
                        outcome, reason = "contact", rng.choice(CONTACT_REASONS)
                        seconds = rng.randint(35, 280)
                    else:
                        outcome = "no_contact"
                        reason = rng.choices([r for r, _ in NO_CONTACT],
                                             [w for _, w in NO_CONTACT])[0]
                        seconds = rng.randint(0, 25) if reason == "voicemail_reached" else 0
                    answered = outcome == "contact"
                    cost = account.setup + (account.per_minute * seconds / 60 if answered else 0)
                    cost = cost.quantize(FOUR)
                    ended = at + timedelta(seconds=20 + seconds)
                    last_outcome = reason
                    cost_units = int(cost * 10_000)
                    spent[account.pk] = spent.get(account.pk, 0) + cost_units
                    if account.plan == "credit_based":
                        amount = cost_units
                    elif account.plan == "minutes_based" and answered:
                        amount = int((Decimal(seconds) / 60).quantize(FOUR) * 10_000)
                    else:
                        amount = 0
                    if amount:
                        charges.setdefault(account.pk, []).append(
                            (ended.timestamp(), amount, job_pk, k))
                    key = f"job-{job_pk}-attempt-{k}"
                    if answered:
                        transcript = _text(TRANSCRIPT.format(name=name, company=company,
                                                             debt=debt, due=due_date))
                        recording = f"https://recordings.example/{job_pk}-{k}.wav"
                        analysis = _dumps({"call_summary": "Compromiso de pago",
                                           "user_sentiment": "Neutral", "call_successful": True,
                                           "custom_analysis_data": {"promesa_pago": True}})
                    else:
                        transcript, recording, analysis = "", "", "{}"
                    raw = _dumps({"call_id": f"call_{job_pk:x}_{k}", "call_status": "ended",
                                  "disconnection_reason": reason,
                                  "duration_ms": seconds * 1000})
                    att_rows.append("\t".join((
                        str(attempt_pk), _ts(at), _ts(ended), debtor_rut, str(k), phone, key,
                        f"call_{job_pk:x}_{k}", "ended", outcome, reason, "", "0", _ts(at),
                        _ts(ended), str(seconds), str(cost), "0", "", _ts(ended),
                        str(cs["max_call_duration"]), str(cs["ring_timeout"]), transcript,
                        recording, _text(analysis), _text(raw), str(account.pk),
                        str(batch.pk), str(job_pk))))
                if live:
                    attempt_pk += 1
                    k = made + 1
                    at = now - timedelta(seconds=rng.uniform(5, 90))
                    att_rows.append("\t".join((
                        str(attempt_pk), _ts(at), _ts(at), debtor_rut, str(k), phones[0],
                        f"job-{job_pk}-attempt-{k}", f"call_{job_pk:x}_{k}", "registered", "",
                        "", "", "0", _ts(at), "\\N", "\\N", "\\N", "0", "", "\\N",
                        str(cs["max_call_duration"]), str(cs["ring_timeout"]), "", "", "{}",
                        "{}", str(account.pk), str(batch.pk), str(job_pk))))
                    updated = at
                flush_attempts()
                placed = made + live
                contact_json = _text(_dumps(contact))
                jobs_out.add(
                    str(job_pk), _ts(batch.created_at), _ts(updated),
                    f"{account.account_id}::{debtor_rut or 'tel:' + phones[0]}::{batch.batch_id}",
                    debtor_rut, status, str(min(placed, 20)), _n(next_try and _ts(next_try)),
                    _n(reserved and _ts(reserved)), _n(lease), "\\N", last_error, last_outcome,
                    contact_json, _text(_dumps(payload)), str(account.pk), str(batch.pk))
                if status in ("done", "failed", "cancelled"):
                    event_rows.append("\t".join((
                        status, f"#{max(made, 1)} {phones[0]}: {last_outcome}", _ts(updated),
                        str(job_pk), last_error)))
            if batch.pk % 500 == 0:
                log(f"  ... {batch.pk:,} campaigns, {job_pk:,} jobs, {attempt_pk:,} attempts "
                    f"generated ({time.perf_counter() - started:.0f} s)")
    flush_attempts(final=True)
    att_file.seek(0)
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy(
            f"COPY calls_callattempt ({', '.join(att_cols)}) FROM STDIN") as copy:
        while block := att_file.read(8 << 20):
            copy.write(block)
    conn.commit()
    att_file.close()
    timings["calls_callattempt"] = (att_total, time.perf_counter() - started)
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy(
            "COPY batches_jobevent (kind, message, created_at, job_id, reason) FROM STDIN"
    ) as copy:
        for i in range(0, len(event_rows), 100_000):
            copy.write("\n".join(event_rows[i:i + 100_000]) + "\n")
    conn.commit()
    timings["batches_jobevent"] = (len(event_rows), time.perf_counter() - started)
    return {"charges": charges, "spent": spent, "debtors": debtors, "job_categories": counts,
            "jobs": job_pk, "attempts": attempt_pk}


def _ledger(conn, accounts, charges, spent, timings) -> None:
    """Per account, in time order: a top-up at the start and whenever the next charge would
    take the balance below zero, then each call's settlement; the account's balances and
    total_spent are set to what its entries and calls add up to. (The engine also writes a
    reservation and its refund around every call, which cancel out: left out here.)"""
    cols = ("kind", "unit", "amount", "balance_after", "reason", "reference", "created_at",
            "account_id", "created_by_id")
    balances = []

    def money(units: int) -> str:
        return str(Decimal(units) / 10_000)

    with Copier(conn, "accounts_ledgerentry", cols, timings) as out:
        for account in accounts:
            unit = {"credit_based": "credits", "minutes_based": "minutes"}.get(account.plan)
            balance = 0
            if unit:
                topup = (50_000 if unit == "credits" else 500) * 10_000
                balance = topup
                out.add("topup", unit, money(topup), money(balance), "Initial top-up", "",
                        _ts(account.created_at + timedelta(hours=1)), str(account.pk), "\\N")
                for ended, amount, job_pk, k in sorted(charges.get(account.pk, ())):
                    at = datetime.fromtimestamp(ended, UTC)
                    if balance < amount:
                        balance += topup
                        out.add("topup", unit, money(topup), money(balance), "Top-up", "",
                                _ts(at - timedelta(minutes=1)), str(account.pk), "\\N")
                    balance -= amount
                    out.add("settlement", unit, money(-amount), money(balance), "Call charged",
                            f"job-{job_pk}-attempt-{k}", _ts(at), str(account.pk), "\\N")
            credits = Decimal(balance) / 10_000 if unit == "credits" else Decimal(0)
            minutes = Decimal(balance) / 10_000 if unit == "minutes" else Decimal(0)
            balances.append((credits, minutes, Decimal(spent.get(account.pk, 0)) / 10_000,
                             account.pk))
    with conn.cursor() as cursor:
        cursor.executemany(
            "UPDATE accounts_account SET credits = %s, minutes = %s, total_spent = %s "
            "WHERE id = %s", balances)
    conn.commit()


def _do_not_call(conn, rng, spec, accounts, debtors, now, timings) -> None:
    cols = ("created_at", "updated_at", "phone", "rut", "reason", "account_id")
    seen: set[tuple[int, str, str]] = set()
    target = spec["dnc"]
    with Copier(conn, "accounts_donotcall", cols, timings) as out:
        owners = [a for a in accounts if a.pk in debtors]
        written = 0
        # Known debtors first (some of them are called), then numbers never seen.
        for account in owners:
            for debtor_rut, phones in debtors[account.pk][::7]:
                if written >= target // 10:
                    break
                entry = (account.pk, "", debtor_rut) if debtor_rut and rng.random() < 0.4 \
                    else (account.pk, phones[-1], "")
                if entry in seen:
                    continue
                seen.add(entry)
                at = now - timedelta(days=rng.uniform(0, 300))
                out.add(_ts(at), _ts(at), entry[1], entry[2], "do_not_call", str(account.pk))
                written += 1
        i = 0
        while written < target:
            account = owners[i % len(owners)] if rng.random() < 0.5 else accounts[
                i % len(accounts)]
            i += 1
            if i % 2:
                entry = (account.pk, f"+569{rng.randrange(100_000_000):08d}", "")
            else:
                entry = (account.pk, "", rut(rng.randrange(1_000_000, 30_000_000)))
            if entry in seen:
                continue
            seen.add(entry)
            at = now - timedelta(days=rng.uniform(0, 300))
            out.add(_ts(at), _ts(at), entry[1], entry[2],
                    rng.choice(["Solicitud del deudor", "Ley 21.320", "Operador"]),
                    str(account.pk))
            written += 1


COUNTERS_SQL = [
    "DELETE FROM batches_jobcount",
    "DELETE FROM calls_attempttotal",
    "DELETE FROM accounts_usagehour",
    "DELETE FROM calls_attempthour",
    "INSERT INTO accounts_usagehour (account_id, unit, hour, amount) "
    "SELECT account_id, unit, date_trunc('hour', created_at, 'UTC'), sum(amount) "
    "FROM accounts_ledgerentry WHERE kind = 'settlement' GROUP BY 1, 2, 3",
    "INSERT INTO batches_jobcount (batch_id, status, stripe, jobs) "
    "SELECT batch_id, status, 0, count(*) FROM batches_job GROUP BY batch_id, status",
    "INSERT INTO calls_attempttotal (batch_id, stripe, attempts, in_flight, contacted, seconds, "
    "cost) SELECT batch_id, 0, count(*), "
    "count(*) FILTER (WHERE status IN ('dialling', 'registered', 'ongoing')), "
    "count(*) FILTER (WHERE outcome = 'contact'), coalesce(sum(duration_seconds), 0), "
    "coalesce(sum(cost), 0) FROM calls_callattempt GROUP BY batch_id",
]
SEQUENCES = ["accounts_account", "batches_batch", "batches_job", "calls_callattempt",
             "accounts_ledgerentry", "accounts_donotcall", "batches_batchevent",
             "batches_jobevent"]


def _finish(conn) -> None:
    import importlib

    hours = importlib.import_module("calls.migrations.0007_attempt_hours")
    with conn.cursor() as cursor:
        for sql in COUNTERS_SQL:
            cursor.execute(sql)
        cursor.execute(hours.FILL_SQL)
        for table in SEQUENCES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
    conn.commit()


CHECKS_SQL = {
    "job counters match the jobs": """
        SELECT count(*) FROM (
            SELECT batch_id, status, count(*) AS n FROM batches_job GROUP BY 1, 2) j
        FULL JOIN (SELECT batch_id, status, sum(jobs) AS n FROM batches_jobcount
                   GROUP BY 1, 2) c USING (batch_id, status)
        WHERE coalesce(j.n, 0) <> coalesce(c.n, 0)""",
    "attempt totals match the attempts": """
        SELECT count(*) FROM (
            SELECT batch_id, count(*) AS n, coalesce(sum(cost), 0) AS cost
              FROM calls_callattempt GROUP BY 1) a
        FULL JOIN (SELECT batch_id, sum(attempts) AS n, sum(cost) AS cost
                     FROM calls_attempttotal GROUP BY 1) t USING (batch_id)
        WHERE a.n IS DISTINCT FROM t.n OR a.cost IS DISTINCT FROM t.cost""",
    "balances equal the ledger's sum": """
        SELECT count(*) FROM accounts_account a
        LEFT JOIN (SELECT account_id,
                          coalesce(sum(amount) FILTER (WHERE unit = 'credits'), 0) AS credits,
                          coalesce(sum(amount) FILTER (WHERE unit = 'minutes'), 0) AS minutes
                     FROM accounts_ledgerentry GROUP BY 1) l ON l.account_id = a.id
        WHERE a.credits <> coalesce(l.credits, 0) OR a.minutes <> coalesce(l.minutes, 0)""",
    "hourly usage matches the settlements": """
        SELECT count(*) FROM (
            SELECT account_id, unit, date_trunc('hour', created_at, 'UTC') AS hour,
                   sum(amount) AS amount
              FROM accounts_ledgerentry WHERE kind = 'settlement' GROUP BY 1, 2, 3) l
        FULL JOIN accounts_usagehour u USING (account_id, unit, hour)
        WHERE l.amount IS DISTINCT FROM u.amount""",
    "dashboard hours match the attempts": """
        SELECT count(*) FROM (
            SELECT date_trunc('hour', started_at, 'UTC') AS hour, count(*) AS n
              FROM calls_callattempt WHERE started_at IS NOT NULL GROUP BY 1) a
        FULL JOIN (SELECT hour, sum(started) AS n FROM calls_attempthour
                    WHERE account_id = 0 GROUP BY 1 HAVING sum(started) <> 0) h USING (hour)
        WHERE a.n IS DISTINCT FROM h.n""",
    "no negative balance_after": "SELECT count(*) FROM accounts_ledgerentry "
                                 "WHERE balance_after < 0",
}


def check(dsn: str) -> dict[str, int]:
    """{check: rows that break it} (all zero on a consistent database)."""
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(sql).fetchone()[0] for name, sql in CHECKS_SQL.items()}
