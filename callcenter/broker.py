"""kombu's Redis and filesystem transports, each with one change.

Redis: one command client per channel. kombu 5.7's Redis channel builds a new
``redis.Redis`` client for every command it sends outside its polling loop: each publish, ack
and unacked-index update. Building one fills two dicts of response callbacks (about 160
entries), a visible share of the CPU under load, of the web process (the refill publish
after each call) as of a worker (ack and QoS). The client holds no connection of its own: every
command still takes one from the channel's connection pool and gives it back, so sharing it
between threads is what redis-py supports.

Filesystem (the embedded demo's broker): messages written whole before any reader can see
them. kombu creates a message's file in the folder its readers list and then writes into
it; a worker that lists the folder in between moves and reads an empty or partial file, and
dies of the JSONDecodeError ("Unrecoverable error"). Here the message is written under a
name no reader takes and renamed into place, which is atomic on one filesystem.

Selected by ``CELERY_BROKER_TRANSPORT`` for ``redis://`` and ``filesystem://`` broker URLs
(see settings).
"""

import os
import uuid
from contextlib import contextmanager
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(redis.Channel):
    _command_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        cached = self._command_client
        if cached is None or cached.connection_pool is not pool:
            # First use, or kombu replaced the pool (after a fork or a disconnect).
            cached = self._command_client = self._create_client()
        yield cached


class Transport(redis.Transport):
    Channel = Channel


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The name kombu gives it (readers take the oldest first, by name), with ".part"
        # until it is complete: a reader takes only the names whose part after the first dot
        # is "<queue>.msg".
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = f"{path}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
