"""The admin at scale (issue 18): the large changelists count at most CAP rows, searches go
through indexes (a RUT without dots or check digit, a phone in any local format, an account),
the ledger's kind filter, and the dashboard's days before today read once."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services as account_services
from accounts.models import LedgerEntry
from callcenter.paginator import CappedCountPaginator
from calls.models import CallAttempt
from tests.admin.data import attempt, campaign
from tests.factories import AccountFactory, BatchFactory, JobFactory

pytestmark = pytest.mark.django_db
JOBS = "admin:batches_job_changelist"
ATTEMPTS = "admin:calls_callattempt_changelist"
LEDGER = "admin:accounts_ledgerentry_changelist"


@pytest.fixture(autouse=True)
def _no_publish(published):
    return published


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    return 5


def _counts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def test_a_long_list_is_counted_up_to_the_cap_and_paginates(admin_client, account_a, small_cap,
                                                            settings):
    batch = BatchFactory(account=account_a)
    jobs = [JobFactory(batch=batch) for _ in range(8)]
    url = reverse(JOBS)
    from batches.admin import JobAdmin

    JobAdmin.list_per_page, saved = 2, JobAdmin.list_per_page
    try:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url)
        cl = response.context["cl"]
        # 8 jobs, counted up to 5: "5+", pages of 2 up to the 5th row (3 pages), newest first.
        assert cl.result_count == 5 and cl.paginator.capped
        assert cl.paginator.num_pages == 3
        assert list(cl.result_list) == jobs[::-1][:2]
        html = response.content.decode()
        assert "5+" in html and "Rows are counted up to 5" in html
        # The count reads a LIMITed subquery, never the whole table; and no second count of
        # the unfiltered list.
        [count] = _counts(queries)
        assert "LIMIT 6" in count
        # The last page ends at the cap (in the admin, CAP is a multiple of the page size).
        last = admin_client.get(url, {"p": 3}).context["cl"]
        assert list(last.result_list) == [jobs[3]]
        # A short list keeps its exact count and no "+".
        one = admin_client.get(url, {"q": jobs[0].rut})
        assert one.context["cl"].result_count == 1 and not one.context["cl"].paginator.capped
        assert "1 result" in one.content.decode()
    finally:
        JobAdmin.list_per_page = saved


def test_job_search_by_rut_body_and_possible_phone(admin_client, account_a):
    batch = BatchFactory(account=account_a)
    juan = JobFactory(batch=batch, rut="12345678-5",
                      contact={"name": "Juan Pérez", "phones": ["+56912345678"]})
    other = BatchFactory(account=account_a)
    again = JobFactory(batch=other, rut="12345678-5",
                       contact={"name": "Juan Pérez", "phones": ["+56912345678"]})
    JobFactory(batch=batch, contact={"name": "Ana Soto", "phones": ["+56987654321"]})
    url = reverse(JOBS)
    for term in ("12.345.678-5", "12345678-5", "12345678", "12.345.678", "912345678",
                 "+56 9 1234 5678"):
        result = list(admin_client.get(url, {"q": term}).context["cl"].result_list)
        assert result == [again, juan], term
    # Within a campaign (the campaign filter and a search together).
    result = admin_client.get(url, {"q": "12345678", "batch": str(batch.pk)}).context["cl"]
    assert list(result.result_list) == [juan]
    # A name is still found, and a term that is nothing finds nothing.
    assert list(admin_client.get(url, {"q": "soto"}).context["cl"].result_list) != []
    assert list(admin_client.get(url, {"q": "nadie"}).context["cl"].result_list) == []


def test_attempt_search_by_rut_phone_and_call_id(admin_client, account_a):
    batch = campaign(account_a, jobs=2)
    job, other = batch.jobs.order_by("id")
    Job = type(job)
    Job.objects.filter(pk=job.pk).update(
        rut="12345678-5", contact={"name": "Juan", "phones": ["+56912345678", "+56922222222"]}
    )
    CallAttempt.objects.filter(job=job).update(rut="12345678-5", phone="+56922222222")
    job.refresh_from_db()
    first = attempt(job, outcome=CallAttempt.Outcome.NO_CONTACT, phone="+56912345678")
    url = reverse(ATTEMPTS)
    mine = set(CallAttempt.objects.filter(job=job).values_list("pk", flat=True))
    for term in ("12.345.678-5", "12345678"):
        found = {a.pk for a in admin_client.get(url, {"q": term}).context["cl"].result_list}
        assert found == mine, term
    # A phone finds the attempts made to that number only.
    found = admin_client.get(url, {"q": "9 1234 5678"}).context["cl"].result_list
    assert [a.pk for a in found] == [first.pk]
    found = admin_client.get(url, {"q": first.call_id}).context["cl"].result_list
    assert [a.pk for a in found] == [first.pk]
    assert not list(admin_client.get(url, {"q": "nothing"}).context["cl"].result_list)
    assert other.pk not in {a.job_id for a in
                            admin_client.get(url, {"q": "12345678"}).context["cl"].result_list}


def test_ledger_search_by_account_and_reference_and_kind_filter(admin_client, admin_user):
    bravo = AccountFactory(account_id="bravo", account_name="Cobranzas Bravo")
    charlie = AccountFactory(account_id="charlie", account_name="Retail Charlie")
    account_services.account_topup(account=bravo, user=admin_user, credits=Decimal("10"),
                                   reference="INV-2026-001")
    account_services.account_topup(account=charlie, user=admin_user, credits=Decimal("20"),
                                   reference="INV-2026-002")
    url = reverse(LEDGER)

    def accounts(**params):
        result = admin_client.get(url, params).context["cl"].result_list
        return sorted(entry.account.account_id for entry in result)

    assert accounts(q="bravo") == ["bravo"]  # the account id
    assert accounts(q="retail") == ["charlie"]  # part of its name
    assert accounts(q="INV-2026-002") == ["charlie"]  # a reference
    assert accounts(q="INV-2026") == ["bravo", "charlie"]  # its beginning
    assert accounts(q="nobody") == []
    assert accounts(kind__exact=LedgerEntry.Kind.TOPUP) == ["bravo", "charlie"]
    assert accounts(kind__exact=LedgerEntry.Kind.SETTLEMENT) == []
    # The account's "Full ledger" link.
    assert accounts(account__id__exact=str(bravo.pk)) == ["bravo"]


def test_the_large_lists_sort_only_on_indexed_columns(admin_client, account_a):
    campaign(account_a, jobs=2)
    for name, sortable in ((ATTEMPTS, {"created_at", "job_link"}), (LEDGER, {"created_at"}),
                           (JOBS, {"rut", "campaign"})):
        cl = admin_client.get(reverse(name)).context["cl"]
        assert set(cl.sortable_by) == sortable
        assert cl.date_hierarchy is None


SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2025, 3, 12, 15, 0, tzinfo=SANTIAGO)


def test_the_dashboard_reads_hourly_sums_whatever_the_history(admin_client, account_a, settings):
    settings.TIME_ZONE = "America/Santiago"
    with time_machine.travel(NOW, tick=False):
        batch = campaign(account_a)  # 6 calls today (5 ended)
        old = JobFactory(batch=batch)
        earlier = attempt(old, outcome=CallAttempt.Outcome.CONTACT)
        two_days_ago = NOW - timedelta(days=2)
        CallAttempt.objects.filter(pk=earlier.pk).update(
            created_at=two_days_ago, started_at=two_days_ago, ended_at=two_days_ago,
            settled_at=two_days_ago,
        )
        url = reverse("admin:calls_dashboard_data")
        with CaptureQueriesContext(connection) as cold:
            data = admin_client.get(url).json()
        assert data["calls_today"] == 6
        assert Decimal(data["spend_month"]) == Decimal("84.1667") * 6
        assert Decimal(data["spend_today"]) == Decimal("84.1667") * 5
        # Older calls add rows to the history, not queries to the page (hourly sums).
        for _ in range(3):
            past = attempt(JobFactory(batch=batch), outcome=CallAttempt.Outcome.NO_CONTACT)
            CallAttempt.objects.filter(pk=past.pk).update(
                created_at=NOW - timedelta(days=40), started_at=NOW - timedelta(days=40),
                ended_at=NOW - timedelta(days=40), settled_at=NOW - timedelta(days=40),
            )
        with CaptureQueriesContext(connection) as warm:
            again = admin_client.get(url).json()
        for key in ("calls_today", "spend_today", "spend_month", "contact_rate_today"):
            assert again.get(key) == data.get(key), key
        assert len(warm) == len(cold)
        # Today's figures stay live: a new call today shows at once.
        attempt(JobFactory(batch=batch), outcome=CallAttempt.Outcome.CONTACT)
        live = admin_client.get(url).json()
        assert live["calls_today"] == 7
        assert Decimal(live["spend_month"]) == Decimal("84.1667") * 7
    from calls import dashboard

    days = dict(dashboard.dashboard_data(now=NOW, tz=SANTIAGO)["calls_per_day"])
    assert days[NOW.date()] == 7 and days[two_days_ago.date()] == 1
    assert sum(days.values()) == 8


def test_the_account_filter_lists_the_latest_campaigns_accounts(admin_client, monkeypatch):
    from accounts.admin import AccountListFilter

    monkeypatch.setattr(AccountListFilter, "LIMIT", 2)
    accounts = [AccountFactory(account_name=f"Cuenta {i}") for i in range(4)]
    for account in accounts:
        BatchFactory(account=account)
    idle = AccountFactory(account_name="Cuenta sin campañas")
    for name in (JOBS, ATTEMPTS, "admin:batches_batch_changelist"):
        page = admin_client.get(reverse(name)).content.decode()
        html = page.split('id="changelist-filter"')[1]  # the sidebar
        # The two accounts of the latest campaigns, not the others.
        assert "Cuenta 3" in html and "Cuenta 2" in html, name
        assert "Cuenta 0" not in html and "Cuenta sin campañas" not in html, name
        # The one chosen is listed (and applied) whatever its campaigns.
        chosen = admin_client.get(reverse(name), {"account__id__exact": str(idle.pk)})
        sidebar = chosen.content.decode().split('id="changelist-filter"')[1]
        assert "Cuenta sin campañas" in sidebar, name
        assert list(chosen.context["cl"].result_list) == [], name
