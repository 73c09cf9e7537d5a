"""kombu's Redis transport, with one command client per channel.

kombu 5.7's Redis channel builds a new ``redis.Redis`` client for every command it sends
outside its polling loop: each publish, ack and unacked-index update. Building one fills two
dicts of response callbacks (about 160 entries), which under load was 3 % of the web
process's CPU (the refill publish after each call) and 5 % of a worker's (ack and QoS).
The client holds no connection of its own: every command still takes one from the channel's
connection pool and gives it back, so sharing it between threads is what redis-py supports.

Selected by ``CELERY_BROKER_TRANSPORT`` for ``redis://`` broker URLs (see settings).
"""

from contextlib import contextmanager

from kombu.transport import redis


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
