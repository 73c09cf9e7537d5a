"""Fixtures of the batches services tests."""

import pytest


@pytest.fixture(autouse=True)
def _no_publish(published):
    """Nothing reaches a broker (``published`` records what would be)."""
    return published
