"""A paginator for the admin's changelists of the large tables (jobs, call attempts, ledger
entries): it counts at most ``CAP`` rows.

Django's admin counts every row of the filtered list for its paginator (``SELECT COUNT(*)``).
At a year's scale (millions of attempts and ledger entries) that count reads the whole table
or index on every page view, seconds each time, though the page itself shows 100 rows. Here
the count is ``SELECT COUNT(*) FROM (SELECT ... LIMIT CAP + 1)``: a list of more than
``CAP`` rows is shown as "10000+" with its first ``CAP / list_per_page`` pages, each of them a
short index walk (the deepest is ``OFFSET CAP``, never millions). Older rows are reached by
narrowing the list (a filter, a date, a search) or by reversing the sort, which is what an
operator does anyway; a small list keeps its exact count and every page.

An estimate (``pg_class.reltuples``) was not chosen: it is only right for the whole table,
never for a filtered list, and its last pages would be deep OFFSETs of seconds each.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property

CAP = 10_000


class CappedCountPaginator(Paginator):
    """``count`` is exact up to ``cap`` rows, else ``cap`` with ``capped`` True."""

    cap = CAP

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        # A sliced queryset is counted in a subquery: COUNT(*) FROM (... LIMIT cap + 1).
        found = queryset.order_by()[: self.cap + 1].count()
        self._capped = found > self.cap
        return min(found, self.cap)

    @property
    def capped(self) -> bool:
        """Whether there are more rows than ``count`` says."""
        return self.count >= self.cap and self._capped


class LargeTableAdminMixin:
    """ModelAdmin settings of a changelist over millions of rows: the capped count and no
    second count of the unfiltered table."""

    paginator = CappedCountPaginator
    show_full_result_count = False
