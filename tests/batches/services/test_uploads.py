"""Spreadsheets kept between the admin's preview and its confirmation, in the database
(batches.services.uploads): any web server may serve the confirmation (issue 18)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from batches import services
from batches.models import PendingUpload, PendingUploadChunk
from batches.services import uploads
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK_BYTES", 1000)


def test_a_file_is_kept_in_chunks_and_read_back_whole(small_chunks):
    user = UserFactory()
    content = bytes(range(256)) * 20  # 5120 bytes
    pieces = [content[:7], content[7:3000], content[3000:]]  # as an upload's chunks come
    token = services.upload_store(user=user, suffix=".xlsx", chunks=pieces)
    upload = PendingUpload.objects.get(token=token)
    assert upload.size == len(content)
    sizes = list(PendingUploadChunk.objects.filter(upload=upload).order_by("seq")
                 .values_list("data", flat=True))
    assert [len(bytes(chunk)) for chunk in sizes] == [1000] * 5 + [120]
    claimed = services.upload_claim(user=user, token=token)
    with services.upload_local_copy(claimed) as path:
        assert path.suffix == ".xlsx" and path.read_bytes() == content
    assert not path.exists()


def test_only_its_operator_claims_an_upload_and_only_once():
    owner, other = UserFactory(), UserFactory()
    token = services.upload_store(user=owner, suffix=".ods", chunks=[b"data"])
    assert services.upload_claim(user=other, token=token) is None
    claimed = services.upload_claim(user=owner, token=token)
    assert claimed is not None and claimed.claimed_at is not None
    assert services.upload_claim(user=owner, token=token) is None  # a double submit
    services.upload_release(upload=claimed)  # refused: given back for another try
    again = services.upload_claim(user=owner, token=token)
    services.upload_delete(upload=again)
    assert services.upload_claim(user=owner, token=token) is None
    assert not PendingUploadChunk.objects.exists()


def test_expired_uploads_are_refused_and_purged_as_new_ones_arrive():
    user = UserFactory()
    now = timezone.now()
    old = services.upload_store(user=user, suffix=".xlsx", chunks=[b"old"],
                                now=now - uploads.MAX_AGE - timedelta(seconds=1))
    assert services.upload_claim(user=user, token=old, now=now) is None
    services.upload_store(user=user, suffix=".xlsx", chunks=[b"new"], now=now)
    assert not PendingUpload.objects.filter(token=old).exists()
    assert PendingUpload.objects.count() == 1


def test_the_nightly_purge_deletes_expired_uploads_without_a_new_upload():
    from calls import tasks

    user = UserFactory()
    fresh = services.upload_store(user=user, suffix=".xlsx", chunks=[b"new"])
    old = services.upload_store(user=user, suffix=".xlsx", chunks=[b"old"],
                                now=timezone.now() - timedelta(hours=7))
    assert PendingUpload.objects.count() == 2
    assert tasks.purge_expired_records()["uploads"] == 1
    assert set(PendingUpload.objects.values_list("token", flat=True)) == {fresh}
    assert old != fresh
