import pytest
from django.conf import settings

from retell_sim import RetellSimulator
from tests.queue_support import Published


@pytest.fixture
def sim(settings):
    """A Retell simulator on an ephemeral port; webhooks dropped, calls live until a test
    ends them."""
    simulator = RetellSimulator(api_key=settings.RETELL_API_KEY, ring_ms=0, talk_ms=0,
                                drop_webhooks=True, never_end=True)
    simulator.start()
    settings.RETELL_BASE_URL = simulator.base_url
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest.fixture(autouse=True)
def _no_publish(request, monkeypatch):
    """Unit tests of the engine call services directly; nothing is published to a broker.
    Queue tests (marked ``queue``) publish for real to real workers."""
    published = Published()
    if request.node.get_closest_marker("queue"):
        return published
    monkeypatch.setattr("calls.dispatch.publish_jobs", published)
    return published


__all__ = ["settings"]
