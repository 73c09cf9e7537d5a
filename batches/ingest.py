"""Turning normalised debtors into a batch's jobs, fast.

``contacts_merge`` folds the same RUT into one debtor, ``open_ruts`` finds debtors already in
an open batch with one indexed query, ``job_rows`` builds each job's contact and payload, and
``jobs_insert`` writes them: PostgreSQL ``COPY`` (psycopg 3), ``bulk_create`` elsewhere.

``COPY`` bypasses the ORM, so every column the model fills by itself (timestamps, defaults)
is written explicitly here; columns left out (id, lease, reservation) take the table's default
(identity / NULL). Rows are streamed: a 100,000-job batch never exists as model instances.
Both paths must run inside the caller's transaction (the batch, its jobs and its "created"
event commit together).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from json.encoder import encode_basestring as _quote  # C-accelerated; keeps non-ASCII text

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import Account
from batches.models import Batch, Job

__all__ = [
    "JOB_COPY_COLUMNS",
    "OPEN_BATCH_STATUSES",
    "JobRow",
    "contacts_merge",
    "deduplication_key",
    "job_rows",
    "jobs_insert",
    "open_ruts",
]

# Batches whose open jobs block the same debtor in a new batch (allow_duplicates=false): a
# paused batch counts, its jobs are dialled when it resumes.
OPEN_BATCH_STATUSES = (Batch.Status.PENDING, Batch.Status.RUNNING, Batch.Status.PAUSED)

# (rut, contact, payload): what the service decides for each debtor.
JobRow = tuple[str, dict, dict]

JOB_COPY_COLUMNS = (
    "created_at",
    "updated_at",
    "batch_id",
    "account_id",
    "deduplication_key",
    "rut",
    "status",
    "attempts",
    "next_try_at",
    "last_error",
    "last_outcome",
    "contact",
    "payload",
)
_COPY_SQL = f"COPY {Job._meta.db_table} ({', '.join(JOB_COPY_COLUMNS)}) FROM STDIN"
_BULK_BATCH_SIZE = 2_000
MAX_WARNINGS = 1_000  # row reports kept per import (counts stay exact), as read_contacts does
_CHUNK_ROWS = 2_000
# COPY's text format gives backslash, tab, newline and CR a meaning. JSON text never holds a raw
# control character (the encoder escapes them), so only its backslashes need doubling; the
# RUT (normalised) and the identifiers (slugs) hold none of the four.
BACKSLASH, ESCAPED = "\\", "\\\\"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def deduplication_key(*, account_key: str, rut: str, batch_key: str) -> str:
    """``account_id::rut::batch_id`` (public identifiers): unique across every job."""
    return f"{account_key}::{rut}::{batch_key}"


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

    Runs inside the caller's atomic block. On PostgreSQL the rows go through one ``COPY``
    (several times faster than ``bulk_create``); other databases use ``bulk_create``. Both
    store the documents ``job_rows`` describes.
    """
    if connection.vendor == "postgresql":
        return _copy_jobs(
            batch=batch,
            contacts=contacts,
            now=now,
            next_try_at=next_try_at,
            fecha_limite=fecha_limite,
            fecha_maxima=fecha_maxima,
        )
    rows = job_rows(contacts, fecha_limite=fecha_limite, fecha_maxima=fecha_maxima)
    return _bulk_create_jobs(batch=batch, rows=rows, now=now, next_try_at=next_try_at)


# --- COPY ----------------------------------------------------------------------------------
# The hot loop writes each job's two JSON documents with f-strings and the C string encoder
# json uses itself, instead of building two dicts and running the generic encoder on them
# (three times faster). Any value of an unexpected type falls back to the generic path, so
# the stored JSON is always what job_rows + json.dumps would give.


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


def _copy_lines(
    batch: Batch,
    contacts: Iterable[dict],
    now: datetime,
    next_try_at: datetime | None,
    fechas: str,
    counter: list[int],
) -> Iterator[str]:
    """COPY text-format lines, ``_CHUNK_ROWS`` at a time, for the jobs of ``batch``."""
    stamp = now.isoformat()
    due = "\\N" if next_try_at is None else next_try_at.isoformat()
    # Everything but the RUT and the JSON documents is the same on every line.
    head = f"{stamp}\t{stamp}\t{batch.pk}\t{batch.account_id}\t"
    key_prefix = f"{batch.account.account_id}::"
    key_suffix = f"::{batch.batch_id}"
    middle = f"\t{Job.Status.PENDING}\t0\t{due}\t\t\t"
    chunk: list[str] = []
    count = 0
    for c in contacts:
        rut = c["rut"]
        contact, payload = _job_json(c, fechas)
        chunk.append(
            f"{head}{key_prefix}{rut}{key_suffix}\t{rut}{middle}"
            f"{contact.replace(BACKSLASH, ESCAPED)}\t{payload.replace(BACKSLASH, ESCAPED)}\n"
        )
        if len(chunk) >= _CHUNK_ROWS:
            count += len(chunk)
            yield "".join(chunk)
            chunk.clear()
    if chunk:
        count += len(chunk)
        yield "".join(chunk)
    counter.append(count)


def _copy_jobs(
    *,
    batch: Batch,
    contacts: Iterable[dict],
    now: datetime,
    next_try_at: datetime | None,
    fecha_limite: str | None,
    fecha_maxima: str | None,
) -> int:
    fechas = f'"fecha_limite":{_opt_text(fecha_limite)},"fecha_maxima":{_opt_text(fecha_maxima)}'
    counter: list[int] = []
    # Django's CursorWrapper hands copy() to psycopg's cursor without translating errors;
    # wrap_database_errors turns a UniqueViolation into django.db.IntegrityError, as usual.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.copy(_COPY_SQL) as copy:
            for block in _copy_lines(batch, contacts, now, next_try_at, fechas, counter):
                copy.write(block)
    return counter[0] if counter else 0


def _bulk_create_jobs(
    *, batch: Batch, rows: Iterable[JobRow], now: datetime, next_try_at: datetime | None
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
                    account_key=account_key, rut=rut, batch_key=batch_key
                ),
                status=Job.Status.PENDING,
                attempts=0,
                next_try_at=next_try_at,
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


# (account_id, [ruts], [job statuses], [batch statuses]): one array parameter whatever the
# number of RUTs, answered from the (account, rut) index.
OPEN_RUTS_SQL = (
    f"SELECT DISTINCT ON (j.rut) j.rut, b.batch_id FROM {Job._meta.db_table} j "
    f"JOIN {Batch._meta.db_table} b ON b.id = j.batch_id "
    "WHERE j.account_id = %s AND j.rut = ANY(%s) AND j.status = ANY(%s) "
    "AND b.status = ANY(%s) ORDER BY j.rut, j.id"
)


def contacts_merge(
    contacts: Iterable[dict], *, max_warnings: int = MAX_WARNINGS
) -> tuple[list[dict], int, list[dict]]:
    """One contact per RUT, in input order: a later one is merged into the first (phones
    unioned, blanks filled, the first wins otherwise). Returns (contacts, merged count,
    warnings — at most ``max_warnings``, the count is exact)."""
    by_rut: dict[str, dict] = {}
    unique: list[dict] = []
    warnings: list[dict] = []
    merged = 0
    for contact in contacts:
        first = by_rut.get(contact["rut"])
        if first is None:
            by_rut[contact["rut"]] = contact
            unique.append(contact)
            continue
        if first is contact:
            continue
        merged += 1
        first["phones"] = list(dict.fromkeys([*first["phones"], *contact["phones"]]))
        for key, value in contact.items():
            if key != "custom_fields" and first.get(key) in (None, "") and value not in (None, ""):
                first[key] = value
        for key, value in (contact.get("custom_fields") or {}).items():
            first.setdefault("custom_fields", {}).setdefault(key, value)
        if len(warnings) < max_warnings:
            message = _("Duplicate RUT: merged into row %(row)s") % {"row": first.get("row")}
            warnings.append(
                {
                    "row": contact.get("row"),
                    "column": "rut",
                    "value": contact["rut"],
                    "message": message,
                }
            )
    return unique, merged, warnings


def open_ruts(*, account: Account, ruts: list[str]) -> dict[str, str]:
    """{rut: batch_id} for the RUTs among ``ruts`` with a pending or in-progress job in an
    open batch of the account: one query on the (account, rut) index for the whole set."""
    if not ruts:
        return {}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                OPEN_RUTS_SQL,
                [account.pk, ruts, list(Job.OPEN_STATUSES), list(OPEN_BATCH_STATUSES)],
            )
            return dict(cursor.fetchall())
    found: dict[str, str] = {}
    for start in range(0, len(ruts), 500):  # SQLite's bound-parameter limit
        rows = Job.objects.filter(
            account=account,
            rut__in=ruts[start : start + 500],
            status__in=Job.OPEN_STATUSES,
            batch__status__in=OPEN_BATCH_STATUSES,
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
