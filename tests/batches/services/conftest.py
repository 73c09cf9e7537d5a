"""Fixtures of the batches services tests."""

import pytest

from tests.queue_support import Published


@pytest.fixture(autouse=True)
def published(monkeypatch):
    ids = Published()
    monkeypatch.setattr("calls.dispatch.publish_jobs", ids)
    return ids
