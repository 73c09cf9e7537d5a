"""The Redis broker transport (callcenter/broker.py), on the real Redis the tests use."""

import json

import redis
from django.conf import settings

from callcenter import broker
from callcenter.celery import app
from tests.queue_support import flush_broker


def test_channel_reuses_one_command_client_and_follows_a_new_pool():
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert isinstance(channel, broker.Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
        given = object()
        with channel.conn_or_acquire(given) as client:
            assert client is given

        channel._disconnect_pools()  # what kombu does after a fork
        with channel.conn_or_acquire() as after:
            assert after is not first and after.connection_pool is channel.pool


def test_messages_published_through_the_transport_reach_the_queue():
    from calls.tasks import process_job

    flush_broker()
    with app.producer_or_acquire() as producer:
        for job_id in (11, 12):
            process_job.apply_async((job_id,), producer=producer)
    queued = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange("celery", 0, -1)
    flush_broker()
    bodies = [json.loads(message)["headers"] for message in queued]
    assert sorted(headers["argsrepr"] for headers in bodies) == ["(11,)", "(12,)"]
    assert {headers["task"] for headers in bodies} == {"calls.tasks.process_job"}
