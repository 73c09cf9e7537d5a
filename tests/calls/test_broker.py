"""The broker transports (callcenter/broker.py): Redis on the real Redis the tests use; the
filesystem one of the demo on a temporary folder."""

import json

import redis
from django.conf import settings

from callcenter import broker
from callcenter.celery import app
from callcenter.queues import DIAL
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
    queued = redis.Redis.from_url(settings.CELERY_BROKER_URL).lrange(DIAL, 0, -1)
    flush_broker()
    bodies = [json.loads(message)["headers"] for message in queued]
    assert sorted(headers["argsrepr"] for headers in bodies) == ["(11,)", "(12,)"]
    assert {headers["task"] for headers in bodies} == {"calls.tasks.process_job"}


def test_filesystem_messages_are_never_read_before_they_are_whole(tmp_path, monkeypatch):
    """The demo's broker: a worker listing the folder while a message is being written finds
    nothing (kombu's own transport let it take the empty file and die of a JSONDecodeError),
    then the whole message."""
    from kombu import Connection
    from kombu.transport import filesystem
    from kombu.transport.virtual import Empty

    folders = {name: tmp_path / name for name in ("in", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    connection = Connection("filesystem://", transport=broker.FilesystemTransport,
                            transport_options={
                                "data_folder_in": str(folders["in"]),
                                "data_folder_out": str(folders["in"]),
                                "processed_folder": str(folders["processed"]),
                                "control_folder": str(folders["control"])})
    channel = connection.default_channel
    seen_while_writing = []

    def dumps_while_a_worker_reads(payload):
        try:
            seen_while_writing.append(channel._get("celery"))
        except Empty:
            seen_while_writing.append(None)
        return json.dumps(payload)

    for module in (broker, filesystem):  # ours, and kombu's own (to compare)
        monkeypatch.setattr(module, "dumps", dumps_while_a_worker_reads)
    channel._put("celery", {"body": "job 7"})
    assert seen_while_writing == [None]
    assert channel._get("celery") == {"body": "job 7"}
    assert list(folders["in"].iterdir()) == []
    connection.release()
