"""Helpers for the call engine's hand-written SQL.

The statements every dial, every webhook and every slot refill run are written out instead of
built by the ORM (compiling them cost more of a process's time than PostgreSQL took to run
them). They run on the demo's SQLite too; these helpers give them parameters and results in
the form each database uses, as the ORM would.
"""

import json

from django.db import connection


def db_datetime(value):
    """A datetime as the database stores it: PostgreSQL takes the aware value as it is; SQLite
    keeps naive UTC text."""
    return connection.ops.adapt_datetimefield_value(value)


def placeholders(values) -> str:
    """``%s, %s, ...``: one per value, for an ``IN (...)`` list."""
    return ", ".join(["%s"] * len(values))


def json_document(value):
    """A JSON column read by a raw cursor: psycopg 3 under Django hands jsonb back as text,
    SQLite always does."""
    return json.loads(value) if isinstance(value, str) else value
