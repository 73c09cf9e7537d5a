"""``manage.py release`` (docker-compose.yml's web command): migrations and periodic tasks
installed by one web server at a time, so several may start together (issue 18)."""

import os
import subprocess
import sys

import psycopg
import pytest
from django.db import connection

from calls.management.commands.release import RELEASE_LOCK
from calls.periodic import SWEEP_TASK_NAME
from tests.queue_support import ROOT, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _conninfo() -> str:
    db = connection.settings_dict
    return f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _release() -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "callcenter.settings.test",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    return subprocess.Popen([sys.executable, "manage.py", "release"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _waiting_for_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND NOT granted AND database = (SELECT oid FROM pg_database "
                       "WHERE datname = current_database())")
        return cursor.fetchone()[0] > 0


def test_a_release_waits_for_the_one_running_on_another_host():
    with psycopg.connect(_conninfo(), autocommit=True) as other_host:
        other_host.execute("SELECT pg_advisory_lock(%s)", [RELEASE_LOCK])
        release = _release()
        try:
            wait_for(_waiting_for_the_lock, timeout=60, interval=0.2,
                     message="the release to wait for the lock")
            assert release.poll() is None
        finally:
            other_host.execute("SELECT pg_advisory_unlock(%s)", [RELEASE_LOCK])
        output, _ = release.communicate(timeout=120)
    assert release.returncode == 0, output
    assert "No migrations to apply" in output and SWEEP_TASK_NAME in output
    assert not _waiting_for_the_lock()
