"""Helpers for the hand-written SQL of each app's ``queries`` module.

The statements every dial, every webhook and every slot refill run are written out instead of
built by the ORM (compiling them cost more of a process's time than PostgreSQL took to run
them). Where a statement needs PostgreSQL (row locks that skip, ``RETURNING`` in a CTE,
``COPY``), the operation asks ``written_sql()`` once and takes its ORM path elsewhere (the
demo's SQLite). These helpers give the statements parameters and results in the form each
database uses, as the ORM would, and run them through Django's cursor wrapper, so execute
wrappers, ``connection.queries`` and ``assertNumQueries`` see them.
"""

import contextlib
import contextvars
import functools
import json

from django.db import connection

_orm_only = contextvars.ContextVar("callcenter_orm_only", default=False)


def written_sql() -> bool:
    """Whether the PostgreSQL statements run (else each operation takes its ORM path): the
    one place that asks which database this is."""
    return connection.vendor == "postgresql" and not _orm_only.get()


@contextlib.contextmanager
def orm_only():
    """Every operation takes its ORM path, as on SQLite (tests compare the two on PostgreSQL)."""
    token = _orm_only.set(True)
    try:
        yield
    finally:
        _orm_only.reset(token)


def db_datetime(value):
    """A datetime as the database stores it: PostgreSQL takes the aware value as it is; SQLite
    keeps naive UTC text."""
    return connection.ops.adapt_datetimefield_value(value)


@functools.cache
def _prepared_cursors() -> tuple[type, type]:
    """(the psycopg cursor that prepares, the same keeping each statement's text for
    Django's query log: DEBUG, CaptureQueriesContext)."""
    from types import SimpleNamespace

    import psycopg

    class PreparedCursor(psycopg.Cursor):
        """Parameters bound by the server, each statement prepared at its first run."""

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    class LoggedPreparedCursor(PreparedCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            super().execute(query, params, prepare=prepare, binary=binary)
            # Django's log reads the text psycopg sent, which a prepared run does not keep.
            self._query = SimpleNamespace(query=connection.ops.compose_sql(query, params)
                                          .encode())
            return self

    return PreparedCursor, LoggedPreparedCursor


@contextlib.contextmanager
def cursor():
    """Django's cursor wrapper for the written-out statements.

    On PostgreSQL it wraps a psycopg cursor that prepares them: each is parsed and planned
    once per connection instead of at every call (Django binds parameters on the client, so
    PostgreSQL would see new text each time and plan it again). Where a status picks a
    partial index (due, busy, nudged and live rows) the statement compares it with a literal,
    not a parameter: the one plan kept could not use the index otherwise. Prepared statements
    need a direct connection or a session-pooling proxy (not PgBouncer's transaction pooling).
    SQLite: Django's own cursor."""
    if connection.vendor != "postgresql":
        with connection.cursor() as django_cursor:
            yield django_cursor
        return
    # What connection.cursor() does, with the prepared cursor inside Django's wrapper.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    prepared, logged = _prepared_cursors()
    with connection.wrap_database_errors:
        raw = (logged if connection.queries_logged else prepared)(connection.connection)
        wrapped = connection._prepare_cursor(raw)
    with wrapped:
        yield wrapped


def literals(values) -> str:
    """``'a', 'b'``: code constants (statuses) written into a statement, for ``IN (...)``."""
    for value in values:
        if not str(value).replace("_", "").isalnum():
            raise ValueError(f"not a plain constant: {value!r}")
    return ", ".join(f"'{value}'" for value in values)


def row_lock(clause: str = "FOR UPDATE") -> str:
    """`` FOR UPDATE`` (or the clause given) on PostgreSQL; nothing on SQLite, which has no
    row locks (it writes one transaction at a time)."""
    return f" {clause}" if connection.features.has_select_for_update else ""


def placeholders(values) -> str:
    """``%s, %s, ...``: one per value, for an ``IN (...)`` list."""
    return ", ".join(["%s"] * len(values))


def json_document(value):
    """A JSON column read by a raw cursor: psycopg 3 under Django hands jsonb back as text,
    SQLite always does."""
    return json.loads(value) if isinstance(value, str) else value


class Columns:
    """A model's columns in a hand-written SELECT, and the instance built from a row's slice.

    ``Columns(Job, "j", exclude=(...))`` gives ``sql`` (``j."id", j."status", ...``) and
    ``build(values)``: the values converted as the ORM converts them (JSON text, SQLite's
    datetimes and decimals) and handed to ``Model.from_db``; excluded fields are deferred
    (loaded on access), exactly as ``.defer()`` leaves them.
    """

    def __init__(self, model, alias: str, *, exclude=(), only=()):
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields
                       if (not only or f.name in only or f.attname in only)
                       and f.name not in exclude and f.attname not in exclude]
        self.attnames = [f.attname for f in self.fields]
        self.alias = alias

    def __len__(self):
        return len(self.fields)

    @functools.cached_property
    def sql(self) -> str:
        # Both databases quote names the same way ("name").
        qn = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{qn(f.column)}" for f in self.fields)

    def fetch(self, where: str, params, *, order: str = "", lock: bool = False) -> list:
        """``SELECT <columns> FROM <table> <alias> WHERE <where> [ORDER BY <order>]``: the
        instances built. ``lock``: the rows are locked until the transaction ends."""
        table = connection.ops.quote_name(self.model._meta.db_table)
        sql = f"SELECT {self.sql} FROM {table} {self.alias} WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        if lock:
            sql += row_lock()
        with cursor() as db:
            db.execute(sql, params)
            return [self.build(row) for row in db.fetchall()]

    def get(self, pk: int, *, lock: bool = False):
        """The row with this primary key (``Model.DoesNotExist`` if none)."""
        found = self.fetch(f"{self.alias}.id = %s", [pk], lock=lock)
        if not found:
            raise self.model.DoesNotExist(f"{self.model.__name__} {pk} does not exist")
        return found[0]

    def _converters(self):
        # Per connection (each worker thread has its own): what the ORM's compiler would apply.
        cache = connection.__dict__.setdefault("_callcenter_converters", {})
        converters = cache.get(self)
        if converters is None:
            converters = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                found = [*connection.ops.get_db_converters(column),
                         *column.get_db_converters(connection)]
                if found:
                    converters.append((index, column, found))
            cache[self] = converters
        return converters

    def build(self, values):
        values = list(values)
        for index, column, converters in self._converters():
            value = values[index]
            for converter in converters:
                value = converter(value, column, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)


@functools.cache
def _update_sql(model, names: tuple[str, ...], where: str) -> tuple[str, list]:
    fields = [model._meta.get_field(name) for name in names]
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(field.column)} = %s" for field in fields)
    return f"UPDATE {qn(model._meta.db_table)} SET {assignments} WHERE {where}", fields


def update_rows(model, values: dict, where: str, params=()) -> int:
    """``Model.objects.filter(...).update(**values)`` for plain values (no expressions), each
    prepared as the ORM saves it, in a statement written once per set of columns; ``where``
    is SQL with ``%s`` for ``params``. Returns the number of rows changed."""
    sql, fields = _update_sql(model, tuple(values), where)
    prepared = [field.get_db_prep_save(value, connection)
                for field, value in zip(fields, values.values(), strict=True)]
    with cursor() as db:
        db.execute(sql, [*prepared, *params])
        return db.rowcount


def update_row(model, pk: int, values: dict) -> int:
    """``Model.objects.filter(pk=pk).update(**values)``, as ``update_rows``."""
    return update_rows(model, values, "id = %s", [pk])


@functools.cache
def _insert_sql(model) -> tuple[str, list]:
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    qn = connection.ops.quote_name
    return (f"INSERT INTO {qn(model._meta.db_table)} "
            f"({', '.join(qn(field.column) for field in fields)}) "
            f"VALUES ({placeholders(fields)}) RETURNING id"), fields


def insert_row(obj):
    """``obj.save()`` for a new row (defaults, auto_now_add and JSON prepared as the ORM does
    it; no signals, which these models have none of), in a statement written once per
    model. Returns ``obj`` with its primary key."""
    sql, fields = _insert_sql(type(obj))
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
    with cursor() as db:
        db.execute(sql, params)
        obj.pk = db.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj
