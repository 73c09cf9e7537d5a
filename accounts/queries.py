"""The accounts app's hand-written statements (see ``callcenter.db``): every dial and every
settle runs them, so they are written out instead of compiled by the ORM at each call.
``tests/accounts/test_queries.py`` checks that each reads and writes what the ORM would."""

import functools

from django.db import connection

from callcenter.db import Columns, placeholders

from .models import Account, DoNotCall


@functools.cache
def account_columns(fields: tuple[str, ...]) -> Columns:
    """The account row's columns (only ``fields`` and its id, or all), read by its id."""
    return Columns(Account, "a", only=("id", *fields) if fields else ())


@functools.cache
def balances_add_sql(names: tuple[str, ...], *, returning: bool = False) -> str:
    """``UPDATE … SET credits = credits + %s, … WHERE id = %s``: the increment made by the
    database, as an F() expression would. ``returning``: ``RETURNING credits, minutes`` (the
    balances after it)."""
    qn = connection.ops.quote_name
    columns = [qn(Account._meta.get_field(name).column) for name in names]
    assignments = ", ".join(f"{column} = {column} + %s" for column in columns)
    sql = f"UPDATE {qn(Account._meta.db_table)} SET {assignments} WHERE id = %s"
    if returning:
        sql += " RETURNING " + ", ".join(qn(Account._meta.get_field(name).column)
                                         for name in ("credits", "minutes"))
    return sql


def do_not_call_sql(*, rut: bool, phones: int) -> str:
    """The account's do-not-call entries for a RUT and/or some phones: parameters
    (account id[, rut][, phone, ...]); rows (phone, rut)."""
    match = (["rut = %s"] if rut else []) + ([f"phone IN ({placeholders(range(phones))})"]
                                              if phones else [])
    return (f"SELECT phone, rut FROM {DoNotCall._meta.db_table} "
            f"WHERE account_id = %s AND ({' OR '.join(match)})")
