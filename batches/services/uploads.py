"""Spreadsheets kept between the admin's preview and its confirmation.

In the database (``PendingUpload``, in chunks of ``CHUNK_BYTES``), never on a web server's
disk: with several web servers the confirmation may reach another one than the preview did
(issue 18). Only the operator who uploaded a file may confirm it, once; a refused
confirmation gives it back; uploads older than ``MAX_AGE`` are deleted as new ones arrive.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from batches.models import PendingUpload, PendingUploadChunk

CHUNK_BYTES = 1024 * 1024
MAX_AGE = timedelta(hours=6)


def uploads_purge_expired(*, now=None) -> int:
    """Delete the uploads older than MAX_AGE (never confirmed, or whose confirmation died).
    Returns how many."""
    now = now or timezone.now()
    _, deleted = PendingUpload.objects.filter(created_at__lt=now - MAX_AGE).delete()
    return deleted.get(PendingUpload._meta.label, 0)  # the uploads, not their chunks too


def _pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The data in pieces of exactly CHUNK_BYTES (the last one shorter)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    if buffer:
        yield bytes(buffer)


def upload_store(*, user, suffix: str, chunks: Iterable[bytes], now=None) -> str:
    """Keep a file (its ``chunks``) for ``user``; returns its token. Stored in one
    transaction: a confirmation never finds half a file."""
    now = now or timezone.now()
    uploads_purge_expired(now=now)
    token = uuid.uuid4().hex
    with transaction.atomic():
        upload = PendingUpload.objects.create(token=token, user=user, suffix=suffix,
                                              created_at=now)
        size = 0
        for seq, piece in enumerate(_pieces(chunks)):
            PendingUploadChunk.objects.create(upload=upload, seq=seq, data=piece)
            size += len(piece)
        PendingUpload.objects.filter(pk=upload.pk).update(size=size)
    return token


def upload_claim(*, user, token: str, now=None) -> PendingUpload | None:
    """Take ``user``'s upload ``token`` for one confirmation (atomically: of two concurrent
    submits, one gets it). None if it is not theirs, gone (used or expired) or taken."""
    now = now or timezone.now()
    claimed = PendingUpload.objects.filter(
        token=token, user=user, claimed_at__isnull=True, created_at__gte=now - MAX_AGE,
    ).update(claimed_at=now)
    if not claimed:
        return None
    return PendingUpload.objects.get(token=token)


def upload_release(*, upload: PendingUpload) -> None:
    """Give a claimed upload back (the confirmation was refused; the operator may retry)."""
    PendingUpload.objects.filter(pk=upload.pk).update(claimed_at=None)


def upload_delete(*, upload: PendingUpload) -> None:
    """The upload was used: delete it and its chunks."""
    PendingUpload.objects.filter(pk=upload.pk).delete()


@contextlib.contextmanager
def upload_local_copy(upload: PendingUpload) -> Iterator[Path]:
    """The upload's content as a file of this process's temporary folder, for as long as the
    block runs (the spreadsheet reader wants a file it can seek), then deleted."""
    seqs = list(PendingUploadChunk.objects.filter(upload=upload).order_by("seq")
                .values_list("seq", flat=True))
    with tempfile.NamedTemporaryFile(suffix=upload.suffix, prefix="callcenter-upload-") as out:
        for seq in seqs:  # one chunk in memory at a time
            data = PendingUploadChunk.objects.filter(upload=upload, seq=seq).values_list(
                "data", flat=True).get()
            out.write(data)
        out.flush()
        yield Path(out.name)
