"""Django's PostgreSQL backend, with a health check that costs no round trip when it can.

With persistent connections (CONN_MAX_AGE) Django checks a connection before each request
and each task reuses it (CONN_HEALTH_CHECKS) by running ``SELECT 1``: a round trip to the
server, three per call placed (the task and two webhooks), for connections that are almost
always fine. A connection the server ended (pg_terminate_backend, a restart, an idle
timeout) has something waiting on its socket: the server's FATAL message, or the end of
the stream. So while the connection is idle outside a transaction and nothing is waiting,
it is usable as far as a ``SELECT 1`` could tell; otherwise the server is asked, as Django
does. (A silent network partition is not seen by either until a query waits on it.)
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE:
            poller = select.poll()
            try:
                poller.register(connection.fileno(), select.POLLIN)
                waiting = poller.poll(0)
            except (OSError, ValueError):
                waiting = True
            if not waiting:
                return True
        return super().is_usable()
