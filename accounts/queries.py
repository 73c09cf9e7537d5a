"""The accounts app's hand-written statements (see ``callcenter.db``): every dial and every
settle runs them, so they are written out instead of compiled by the ORM at each call.
``tests/accounts/test_queries.py`` checks that each reads and writes what the ORM would."""

import functools

from django.db import connection

from callcenter.db import Columns, placeholders

from .models import Account, DoNotCall, LedgerEntry, UsageHour


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


# PostgreSQL: what an account's settlements charged, per unit, over two ranges of time
# ("first", "second": [a, b) each): the whole hours of each range from the hourly sums the
# database keeps (UsageHour, migration 0006), its partial hours at either end from the
# ledger itself. A few hundred rows whatever the number of calls. Parameters: account;
# per range p in (first, second): p_a, p_b, p_ca (a rounded up to the hour), p_fb (b
# rounded down); lo = min of the p_ca, hi = max of the p_fb.
_IN_RANGE = ("(bucket AND at >= %({p}_ca)s AND at < %({p}_fb)s OR NOT bucket"
             " AND at >= %({p}_a)s AND at < %({p}_b)s AND (at < %({p}_ca)s OR at >= %({p}_fb)s))")
_EDGES = "(created_at >= %({p}_a)s AND created_at < %({p}_ca)s) OR " \
         "(created_at >= %({p}_fb)s AND created_at < %({p}_b)s)"
SETTLED_SQL = f"""
SELECT unit, coalesce(sum(amount) FILTER (WHERE {_IN_RANGE.format(p="first")}), 0),
       coalesce(sum(amount) FILTER (WHERE {_IN_RANGE.format(p="second")}), 0)
  FROM (
    SELECT unit, hour AS at, amount, true AS bucket FROM {UsageHour._meta.db_table}
     WHERE account_id = %(account)s AND hour >= %(lo)s AND hour < %(hi)s
    UNION ALL
    SELECT unit, created_at, amount, false FROM {LedgerEntry._meta.db_table}
     WHERE account_id = %(account)s AND kind = '{LedgerEntry.Kind.SETTLEMENT}'
       AND ({_EDGES.format(p="first")} OR {_EDGES.format(p="second")})
  ) AS usage
 GROUP BY unit
"""
