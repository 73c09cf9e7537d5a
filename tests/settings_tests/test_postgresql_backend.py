"""The PostgreSQL backend's health check (callcenter/postgresql/base.py), on the real server."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
    pytest.mark.django_db(transaction=True),  # idle between statements, as between requests
]


@pytest.fixture
def server_checks(monkeypatch):
    """Counts the health checks that went to the server (Django's SELECT 1)."""
    asked = []
    original = django_postgresql.DatabaseWrapper.is_usable

    def is_usable(self):
        asked.append(1)
        return original(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", is_usable)
    return asked


def _terminate_from_elsewhere():
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(dbname=params["dbname"], user=params.get("user"),
                         host=params.get("host"), port=params.get("port"),
                         autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


def test_an_idle_healthy_connection_passes_without_a_round_trip(server_checks):
    connection.ensure_connection()
    assert connection.is_usable() is True
    assert server_checks == []


def test_inside_a_transaction_the_server_is_asked(server_checks):
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            assert connection.is_usable() is True
        finally:
            cursor.execute("ROLLBACK")
    assert server_checks == [1]


def test_a_connection_the_server_ended_is_found_and_replaced(server_checks):
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    _terminate_from_elsewhere()
    deadline = time.monotonic() + 5
    while connection.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)  # the server's FATAL message reaches the socket
    assert connection.is_usable() is False
    assert server_checks  # something was waiting: the server was asked, and failed

    # What Django does before a request or a task: the broken connection is replaced.
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != old_pid
