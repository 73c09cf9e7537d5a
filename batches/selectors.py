"""Reads for batches, always scoped to what the user may see.

Operators (staff) allowed to view batches see every account's; a client user only their
account's. Another tenant's batch is simply not found (the API answers 404).
"""

from __future__ import annotations

import functools
import itertools
import operator
import re

from django.db import connection
from django.db.models import Count, Q, QuerySet

from accounts.permissions import can_view
from batches.debtors.phones import phone_possible_e164, phone_to_e164
from batches.debtors.rut import normalize_rut, rut_check_digit
from batches.debtors.text import FieldError
from batches.models import Batch, BatchEvent, Job
from batches.queries import ACCOUNT_JOB_COUNTS_SQL, JOB_COUNTS_SQL
from callcenter.db import written_sql


def batches_visible_to(user) -> QuerySet[Batch]:
    queryset = Batch.objects.select_related("account", "created_by", "parent")
    if can_view(user, Batch):
        return queryset
    if user.is_staff or user.account_id is None:
        return queryset.none()
    return queryset.filter(account_id=user.account_id)


def batch_list(
    *, user, account=None, status: str | None = None, is_active: bool | None = None,
    parent: str | None = None, search: str | None = None,
) -> QuerySet[Batch]:
    """The user's batches, newest first, optionally filtered (``parent``: the runs of the
    recurring campaign with that batch_id; ``search``: part of the name or batch_id)."""
    queryset = batches_visible_to(user)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(Q(name__icontains=search) | Q(batch_id__icontains=search))
    if parent:
        queryset = queryset.filter(parent__batch_id=parent)
    if account is not None:
        queryset = queryset.filter(account=account)
    if status:
        queryset = queryset.filter(status=status)
    if is_active is not None:
        queryset = queryset.filter(is_active=is_active)
    return queryset.order_by("-created_at", "-id")


def job_search_q(search: str) -> Q | None:
    """The jobs whose debtor matches ``search``. A whole RUT (dots, check digit optional) or
    phone (any local format) is looked up exactly, through its index (job_rut_idx,
    job_phones_idx), however large the campaign; anything else is part of the name
    (case-insensitive), of the RUT as stored ("12345678-5": dots and spaces ignored) or of a
    phone's digits. None: no filter."""
    text = (search or "").strip()
    if not text:
        return None
    rut, phone = search_rut(text), search_phone(text)
    exact = [Q(rut=rut)] if rut else []
    if phone:  # "22345678" may be a RUT's body or a Santiago number: either matches
        exact.append(Q(contact__phones__contains=[phone]))
    if exact:
        return functools.reduce(operator.or_, exact)
    condition = Q(contact__name__icontains=text)
    partial_rut = re.sub(r"[.\s]", "", text).upper()
    if partial_rut and re.fullmatch(r"[0-9]+(-?[0-9K])?", partial_rut):
        condition |= Q(rut__icontains=partial_rut)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and re.fullmatch(r"[+0-9\s()-]+", text):
        condition |= Q(contact__phones__icontains=digits)
    return condition


def batch_get(*, user, batch_id: str) -> Batch | None:
    """The batch with this public id if the user may see it, else None."""
    return batches_visible_to(user).filter(batch_id=batch_id).first()


def job_counts(*, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """{batch pk: {job status: jobs}} for these batches, every status present. On
    PostgreSQL from the counters the database keeps (a few rows per batch, whatever its
    size); elsewhere (the small SQLite demo) counted live."""
    counts = {pk: dict.fromkeys(Job.Status.values, 0) for pk in batch_ids}
    if not batch_ids:
        return counts
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(JOB_COUNTS_SQL, [batch_ids, batch_ids])
            rows = cursor.fetchall()
    else:
        rows = (
            Job.objects.filter(batch_id__in=batch_ids)
            .order_by()
            .values_list("batch_id", "status")
            .annotate(n=Count("*"))
        )
    for batch_pk, status, jobs in rows:
        counts[batch_pk][status] = int(jobs)
    return counts


def account_job_counts(*, account_id: int) -> dict[str, int]:
    """{job status: jobs} of an account, every status present: on PostgreSQL from the
    counters of its batches (one query over a few rows per batch, not over its jobs);
    elsewhere counted live."""
    counts = dict.fromkeys(Job.Status.values, 0)
    if written_sql():
        with connection.cursor() as cursor:
            cursor.execute(ACCOUNT_JOB_COUNTS_SQL, [account_id, account_id])
            rows = cursor.fetchall()
    else:
        rows = (Job.objects.filter(account_id=account_id).order_by().values_list("status")
                .annotate(n=Count("*")))
    for status, jobs in rows:
        counts[status] = int(jobs)
    return counts


def batch_events(*, batch: Batch, limit: int = 100) -> list[BatchEvent]:
    """The batch's log, newest first."""
    return list(
        BatchEvent.objects.filter(batch=batch)
        .select_related("user")
        .order_by("-created_at", "-id")[:limit]
    )


# --- the admin's search of a debtor ---------------------------------------------------------


def search_rut(term: str) -> str | None:
    """The canonical RUT an operator typed (with or without dots, check digit or not), or
    None when the term is not one."""
    try:
        return normalize_rut(term)
    except FieldError:
        pass
    body = term.replace(".", "")
    if body.isdigit() and body.isascii() and 7 <= len(body) <= 8 and body[0] != "0":
        return f"{body}-{rut_check_digit(body)}"  # the body alone
    return None


def search_phone(term: str) -> str | None:
    """The E.164 number an operator typed in any local format, or None. A term written as
    a RUT (with a dash or dots) is not a phone."""
    if sum(ch.isdigit() for ch in term) < 8 or "-" in term.lstrip("+") or "." in term:
        return None
    # A number outside the metadata's valid blocks is kept on import when possible: find it.
    return phone_to_e164(term) or phone_possible_e164(term)


SEARCH_MATCHES = 1_000  # jobs a RUT or a phone may match (one per campaign of the debtor)


def job_ids_for(*, rut: str | None, phone: str | None) -> list[int]:
    """The jobs of a RUT or of a phone (at most SEARCH_MATCHES of each), each through its
    index (job_rut_idx, job_phones_idx). Unordered and, for the phone, without LIMIT: either
    would make PostgreSQL walk the primary key and test every job's phones instead."""
    found: set[int] = set()
    if rut:
        found.update(
            Job.objects.filter(rut=rut).order_by().values_list("id", flat=True)[:SEARCH_MATCHES]
        )
    if phone:
        ids = Job.objects.filter(contact__phones__contains=[phone]).order_by()
        found.update(itertools.islice(ids.values_list("id", flat=True), SEARCH_MATCHES))
    return sorted(found)
