"""``manage.py release``: what a web server runs before it serves (docker-compose.yml)."""

import contextlib

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from calls import queries

# The advisory lock key of releases: "cc-rel" in ASCII, any constant no other code uses.
RELEASE_LOCK = 0x63632D72656C


@contextlib.contextmanager
def release_lock():
    """One release at a time on this database, whichever host runs it (PostgreSQL: a
    session advisory lock; SQLite serves one host anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(queries.ADVISORY_LOCK_SQL, [RELEASE_LOCK])
    try:
        yield
    finally:
        if connection.connection is not None:  # else it ended, and the lock with it
            with connection.cursor() as cursor:
                cursor.execute(queries.ADVISORY_UNLOCK_SQL, [RELEASE_LOCK])


class Command(BaseCommand):
    help = ("Apply the migrations and install the periodic tasks, one host at a time: with "
            "several web servers starting together, the others wait for the first and then "
            "find nothing left to do (two concurrent migrates could apply a migration twice).")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        with release_lock():
            call_command("migrate", interactive=False, verbosity=verbosity)
            call_command("install_periodic_tasks", verbosity=verbosity)
