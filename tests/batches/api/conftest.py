"""Fixtures of the batches API tests."""

import pytest

from batches.models import BatchEvent
from tests.factories import BatchFactory


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the dispatch) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def batch_a(account_a, client_a):
    batch = BatchFactory(account=account_a, created_by=client_a, batch_id="batch-a")
    BatchEvent.objects.create(batch=batch, kind="created", message="Created", user=client_a)
    return batch
