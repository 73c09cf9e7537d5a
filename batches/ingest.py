"""Turning normalised debtors into a batch's jobs, fast.

``open_ruts`` finds debtors already in an open batch of the account, ``job_rows`` builds each
job's contact and payload, and ``jobs_insert_chunks`` writes them: on PostgreSQL one ``COPY``
(psycopg 3) per chunk of debtors, the next chunk being produced (a spreadsheet read as it
goes) while the server stores the previous one; ``bulk_create`` elsewhere. ``jobs_refresh``
rewrites the jobs of debtors changed after they were stored (a later row with the same RUT).

``COPY`` bypasses the ORM, so every column the model fills by itself (timestamps, defaults)
is written explicitly here; columns left out (id, lease, reservation) take the table's default
(identity / NULL). Rows are streamed: a 100,000-job batch never exists as model instances.
The jobs' foreign keys are checked as each COPY ends (``SET CONSTRAINTS ... IMMEDIATE`` for
the duration) instead of all at commit. Everything must run inside the caller's transaction
(the batch, its jobs and its "created" event commit together).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from json.encoder import encode_basestring as _quote  # C-accelerated; keeps non-ASCII text

from django.db import connection

from accounts.models import Account
from batches.debtors.merge import debtor_key
from batches.models import Batch, Job
from batches.queries import (
    ANALYZE_SQL,
    COPY_SQL,
    FOREIGN_KEYS_SQL,
    JOB_COPY_COLUMNS,
    OPEN_RUTS_SQL,
    REFRESH_SQL,
    set_constraints_sql,
)
from callcenter.db import written_sql

__all__ = [
    "JOB_COPY_COLUMNS",
    "OPEN_BATCH_STATUSES",
    "CHUNK_CONTACTS",
    "JobRow",
    "chunked",
    "deduplication_key",
    "job_rows",
    "jobs_insert",
    "jobs_insert_chunks",
    "jobs_analyze",
    "jobs_refresh",
    "open_ruts",
]

# Batches whose open jobs block the same debtor in a new batch (allow_duplicates=false): a
# paused batch counts, its jobs are dialled when it resumes.
OPEN_BATCH_STATUSES = (Batch.Status.PENDING, Batch.Status.RUNNING, Batch.Status.PAUSED)

# (rut, contact, payload): what the service decides for each debtor.
JobRow = tuple[str, dict, dict]

_BULK_BATCH_SIZE = 2_000
# Contacts per COPY statement: small enough that the last one (stored while nothing else
# runs) is short, large enough that the per-statement costs (and the open-job query run
# before each) stay negligible.
CHUNK_CONTACTS = 5_000
_BLOCK_ROWS = 1_000  # lines per write() inside a COPY
# COPY's text format gives backslash, tab, newline and CR a meaning. JSON text never holds a raw
# control character (the encoder escapes them), so only its backslashes need doubling; the
# RUT (normalised) and the identifiers (slugs) hold none of the four.
BACKSLASH, ESCAPED = "\\", "\\\\"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def deduplication_key(*, account_key: str, rut: str, batch_key: str) -> str:
    """``account_id::rut::batch_id`` (public identifiers): unique across every job; ``rut``
    is the debtor's key (``debtors.merge.debtor_key``: "tel:<phone>" without a RUT)."""
    return f"{account_key}::{rut}::{batch_key}"


def chunked(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Lists of ``size`` items (the last one shorter) from any iterable."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def jobs_insert(
    *,
    batch: Batch,
    contacts: Iterable[dict],
    now: datetime,
    next_try_at: datetime | None,
    fecha_limite: str | None = None,
    fecha_maxima: str | None = None,
) -> int:
    """Insert one pending job per normalised contact for ``batch``; returns how many.

    ``jobs_insert_chunks`` for contacts that are all at hand.
    """
    return jobs_insert_chunks(
        batch=batch,
        chunks=chunked(contacts, CHUNK_CONTACTS),
        now=now,
        next_try_at=next_try_at,
        fecha_limite=fecha_limite,
        fecha_maxima=fecha_maxima,
    )


def jobs_insert_chunks(
    *,
    batch: Batch,
    chunks: Iterable[list[dict]],
    now: datetime,
    next_try_at: datetime | None,
    fecha_limite: str | None = None,
    fecha_maxima: str | None = None,
    keep: Callable[[list[dict]], list[dict]] | None = None,
    last_error: str = "",
) -> int:
    """Insert one pending job per normalised contact of each chunk; returns how many.

    ``chunks`` may be produced as they are consumed (a spreadsheet read as it goes): on
    PostgreSQL each chunk is one ``COPY``, and the next chunk is asked for while that COPY
    is still open, so the server stores one chunk (and checks its foreign keys, made
    immediate for the purpose) on its own core while Python produces the next. ``keep``, if
    given, filters each chunk just before it is stored; it may query the database (no COPY
    is open then). ``last_error``: why the jobs wait until ``next_try_at`` (plain text, no
    tab or backslash). Other databases use ``bulk_create``. Runs inside the caller's atomic
    block; an exception from ``chunks`` or ``keep`` ends the COPY and propagates.
    """
    if written_sql():
        return _copy_jobs(
            batch=batch,
            chunks=chunks,
            now=now,
            next_try_at=next_try_at,
            fechas=_fechas(fecha_limite, fecha_maxima),
            keep=keep,
            last_error=last_error,
        )
    total = 0
    for chunk in chunks:
        if keep is not None:
            chunk = keep(chunk)
        rows = job_rows(chunk, fecha_limite=fecha_limite, fecha_maxima=fecha_maxima)
        total += _bulk_create_jobs(batch=batch, rows=rows, now=now, next_try_at=next_try_at,
                                   last_error=last_error)
    return total


def jobs_refresh(
    *,
    batch: Batch,
    contacts: Iterable[dict],
    fecha_limite: str | None = None,
    fecha_maxima: str | None = None,
) -> int:
    """Rewrite the contact and payload of the jobs of ``batch`` for these debtors (changed
    after their jobs were inserted: a later row with the same RUT was merged in), as
    ``jobs_insert`` would have written them. One statement on PostgreSQL; returns how many
    jobs changed (a debtor without a job, e.g. one skipped, is ignored)."""
    contacts = list(contacts)
    if not contacts:
        return 0
    if not written_sql():
        changed = 0
        for _rut, contact, payload in job_rows(
            contacts, fecha_limite=fecha_limite, fecha_maxima=fecha_maxima
        ):
            key = deduplication_key(account_key=batch.account.account_id,
                                    rut=debtor_key(contact), batch_key=batch.batch_id)
            changed += Job.objects.filter(deduplication_key=key).update(
                contact=contact, payload=payload
            )
        return changed
    fechas = _fechas(fecha_limite, fecha_maxima)
    keys, contact_docs, payload_docs = [], [], []
    for c in contacts:
        contact, payload = _job_json(c, fechas)
        keys.append(
            deduplication_key(
                account_key=batch.account.account_id, rut=debtor_key(c),
                batch_key=batch.batch_id
            )
        )
        contact_docs.append(contact)
        payload_docs.append(payload)
    with connection.cursor() as cursor:
        cursor.execute(REFRESH_SQL, [keys, contact_docs, payload_docs])
        return cursor.rowcount


# --- COPY ----------------------------------------------------------------------------------
# The hot loop writes each job's two JSON documents with f-strings and the C string encoder
# json uses itself, instead of building two dicts and running the generic encoder on them
# (a third of the time). Any value of an unexpected type falls back to the generic path, so
# the stored JSON is always what job_rows + json.dumps would give.


def _fechas(fecha_limite: str | None, fecha_maxima: str | None) -> str:
    """The constant ``"fecha_limite":...,"fecha_maxima":...`` fragment of a batch's payloads."""
    return f'"fecha_limite":{_opt_text(fecha_limite)},"fecha_maxima":{_opt_text(fecha_maxima)}'


def _opt_text(value) -> str:
    return "null" if value is None else _quote(value)


def _opt_int(value) -> str:
    if value is None:
        return "null"
    if value.__class__ is not int:
        raise TypeError(value)
    return str(value)


def _text_object(mapping: dict | None) -> str:
    if not mapping:
        return "{}"
    return "{" + ",".join(f"{_quote(k)}:{_quote(v)}" for k, v in mapping.items()) + "}"


def _job_json(c: dict, fechas: str) -> tuple[str, str]:
    """(contact JSON, payload JSON) for a normalised contact; ``fechas`` is the constant
    ``"fecha_limite":...,"fecha_maxima":...`` fragment of the batch."""
    try:
        tz = c.get("timezone")
        contact = (
            f'{{"name":{_quote(c.get("name") or "")},"rut":{_quote(c["rut"])},'
            f'"phones":[{",".join(map(_quote, c["phones"]))}],'
            f'"email":{_opt_text(c.get("email"))},"next_phone_index":0,"invalid_phones":[]'
            + (f',"timezone":{_quote(tz)}}}' if tz else "}")
        )
        payload = (
            f'{{"debt_amount":{_opt_text(c.get("debt_amount"))},'
            f'"due_date":{_opt_text(c.get("due_date"))},'
            f'"company_name":{_opt_text(c.get("company_name"))},'
            f'"installments":{_opt_int(c.get("installments"))},{fechas},'
            f'"additional_info":{_text_object(c.get("custom_fields"))}}}'
        )
    except TypeError:  # not text where text was expected: let the generic encoder decide
        [(_rut, contact_doc, payload_doc)] = job_rows([c], **json.loads("{" + fechas + "}"))
        return _dumps(contact_doc), _dumps(payload_doc)
    return contact, payload


def _copy_formatter(
    batch: Batch, now: datetime, next_try_at: datetime | None, fechas: str, last_error: str
) -> Callable[[list[dict]], Iterator[str]]:
    """A function giving the COPY text-format lines of some contacts' jobs in blocks of
    ``_BLOCK_ROWS`` (the server starts on a block while the next is formatted)."""
    stamp = now.isoformat()
    due = "\\N" if next_try_at is None else next_try_at.isoformat()
    # Everything but the RUT and the JSON documents is the same on every line.
    head = f"{stamp}\t{stamp}\t{batch.pk}\t{batch.account_id}\t"
    key_prefix = f"{batch.account.account_id}::"
    key_suffix = f"::{batch.batch_id}"
    middle = f"\t{Job.Status.PENDING}\t0\t{due}\t{last_error}\t\t"

    def blocks(contacts: list[dict]) -> Iterator[str]:
        for start in range(0, len(contacts), _BLOCK_ROWS):
            lines = []
            for c in contacts[start : start + _BLOCK_ROWS]:
                rut = c["rut"]
                contact, payload = _job_json(c, fechas)
                lines.append(
                    f"{head}{key_prefix}{debtor_key(c)}{key_suffix}\t{rut}{middle}"
                    f"{contact.replace(BACKSLASH, ESCAPED)}\t"
                    f"{payload.replace(BACKSLASH, ESCAPED)}\n"
                )
            yield "".join(lines)

    return blocks


def _job_foreign_keys(cursor) -> list[str]:
    """The quoted names of the jobs table's deferred foreign keys."""
    cursor.execute(FOREIGN_KEYS_SQL, [Job._meta.db_table])
    return [name for (name,) in cursor.fetchall()]


def _copy_jobs(
    *,
    batch: Batch,
    chunks: Iterable[list[dict]],
    now: datetime,
    next_try_at: datetime | None,
    fechas: str,
    keep: Callable[[list[dict]], list[dict]] | None,
    last_error: str,
) -> int:
    blocks = _copy_formatter(batch, now, next_try_at, fechas, last_error)
    total = 0
    chunks = iter(chunks)
    # Django's CursorWrapper hands copy() to psycopg's cursor without translating errors;
    # wrap_database_errors turns a UniqueViolation into django.db.IntegrityError, as usual.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # Deferred, the ~100k foreign-key checks would all run at commit, on one core, after
        # everything else; immediate, each COPY's run as it ends, while Python produces the
        # next chunk. Same checks, same outcome (any failure aborts the transaction).
        foreign_keys = ", ".join(_job_foreign_keys(cursor))
        if foreign_keys:
            cursor.execute(set_constraints_sql(foreign_keys, "IMMEDIATE"))
        chunk = next(chunks, None)
        while chunk is not None:
            if keep is not None:
                chunk = keep(chunk)
            if not chunk:
                chunk = next(chunks, None)
                continue
            with cursor.copy(COPY_SQL) as copy:
                for block in blocks(chunk):
                    copy.write(block)
                total += len(chunk)
                # Produce the next chunk while the server stores this one.
                chunk = next(chunks, None)
        if foreign_keys:
            cursor.execute(set_constraints_sql(foreign_keys, "DEFERRED"))
    return total


def _bulk_create_jobs(
    *, batch: Batch, rows: Iterable[JobRow], now: datetime, next_try_at: datetime | None,
    last_error: str,
) -> int:
    account_key, batch_key = batch.account.account_id, batch.batch_id
    total = 0
    pending: list[Job] = []
    for rut, contact, payload in rows:
        pending.append(
            Job(
                batch_id=batch.pk,
                account_id=batch.account_id,
                rut=rut,
                deduplication_key=deduplication_key(
                    account_key=account_key, rut=debtor_key(contact), batch_key=batch_key
                ),
                status=Job.Status.PENDING,
                attempts=0,
                next_try_at=next_try_at,
                last_error=last_error,
                contact=contact,
                payload=payload,
                created_at=now,
                updated_at=now,
            )
        )
        if len(pending) >= _BULK_BATCH_SIZE:
            total += len(Job.objects.bulk_create(pending))
            pending.clear()
    if pending:
        total += len(Job.objects.bulk_create(pending))
    return total


def jobs_analyze() -> None:
    """Refresh the jobs table's planner statistics after a large import.

    Until then the planner knows nothing of the new batch's rows (autovacuum waits for a
    tenth of the table to change), and may walk them all for a query a first index entry
    answers. ANALYZE reads a fixed sample (300 x the statistics target rows), so it costs
    the same on a table of millions; it blocks no reads or writes, and SKIP_LOCKED makes it
    give way at once to a VACUUM or ANALYZE already running on the table. PostgreSQL only;
    run it outside the import's transaction (the new rows must be committed to be sampled).
    """
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(ANALYZE_SQL)


def open_ruts(
    *, account: Account, ruts: list[str], exclude_batch: Batch | None = None
) -> dict[str, str]:
    """{rut: batch_id} for the RUTs among ``ruts`` with a pending or in-progress job in an
    open batch of the account (other than ``exclude_batch``): the open batches (a handful)
    first, then, if there are any, one query on the RUT index for the whole set."""
    if not ruts:
        return {}
    batches = Batch.objects.filter(account=account, status__in=OPEN_BATCH_STATUSES)
    if exclude_batch is not None:
        batches = batches.exclude(pk=exclude_batch.pk)
    batch_ids = list(batches.values_list("pk", flat=True))
    if not batch_ids:
        return {}
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(OPEN_RUTS_SQL, [batch_ids, ruts, list(Job.OPEN_STATUSES)])
            return dict(cursor.fetchall())
    found: dict[str, str] = {}
    for start in range(0, len(ruts), 500):  # SQLite's bound-parameter limit
        rows = Job.objects.filter(
            batch_id__in=batch_ids, rut__in=ruts[start : start + 500], status__in=Job.OPEN_STATUSES
        ).values_list("rut", "batch__batch_id")
        for rut, batch_id in rows:
            found.setdefault(rut, batch_id)
    return found


def job_rows(
    contacts: Iterable[dict], *, fecha_limite: str | None, fecha_maxima: str | None
) -> Iterator[JobRow]:
    """(rut, contact, payload) per normalised contact, as the engine reads them."""
    for c in contacts:
        contact = {
            "name": c.get("name") or "",
            "rut": c["rut"],
            "phones": c["phones"],
            "email": c.get("email"),
            "next_phone_index": 0,
            "invalid_phones": [],
        }
        if c.get("timezone"):
            contact["timezone"] = c["timezone"]
        payload = {
            "debt_amount": c.get("debt_amount"),
            "due_date": c.get("due_date"),
            "company_name": c.get("company_name"),
            "installments": c.get("installments"),
            "fecha_limite": fecha_limite,
            "fecha_maxima": fecha_maxima,
            "additional_info": c.get("custom_fields") or {},
        }
        yield c["rut"], contact, payload
