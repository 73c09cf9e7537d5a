"""The web app's campaign screens in a real browser (issue 17).

The first test runs against the live stack (tests/browser/stack.py): a client's campaign of
ten debtors is dialled by a real Celery worker through the Retell simulator while the client
watches its counters rise, pauses and resumes it, reads its log, edits it, searches its
debtors, opens one's calls, downloads the results and finds another account's campaign
"No encontrado". The second needs no workers: an operator's list follows the header's account
selector, and both screens fit a phone.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from batches.models import Job
from tests.browser.campaign_steps import check_campaign_list, confirm, status_badge, watch_campaign
from tests.browser.stack import campaign_create, client_account, live_stack  # noqa: F401
from tests.browser.webapp import (
    PASSWORD,
    assert_accessible,
    browser_marks,
    login,
    open_page,
    shot,
)
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory

pytestmark = browser_marks

DEBTORS = 10


def test_a_client_watches_its_live_campaign(live_stack, page):  # noqa: F811
    started = time.monotonic()
    account, user = client_account("retail", name="Retail Cobranzas SpA")
    other, _ = client_account("otra", credits=0)
    foreign = BatchFactory(account=other, batch_id="batch-de-otra", name="Campaña ajena")
    batch = campaign_create(account, user, debtors=DEBTORS, unanswered=2)

    base = live_stack.base
    login(page, base, user.username)
    page.goto(f"{base}/app/campaigns")
    page.get_by_role("link", name="Cartera diciembre").click()
    page.get_by_role("heading", name="Cartera diciembre").wait_for()
    assert page.url.endswith(f"/app/campaigns/{batch.batch_id}")

    figures = watch_campaign(page, base, batch.batch_id, expect_jobs=DEBTORS)
    # Two debtors never answer (one attempt each): failed; the rest done.
    assert figures == {"done": DEBTORS - 2, "attempts": DEBTORS, "export_rows": DEBTORS}
    check_campaign_list(page, base, name="Cartera diciembre (editada)")

    page.goto(f"{base}/app/campaigns/{foreign.batch_id}")
    expect(page.get_by_role("heading", name="No encontrado")).to_be_visible()
    assert "Campaña ajena" not in page.content()
    shot(page, "app-campaigns-10-not-found")
    assert time.monotonic() - started < 60


@pytest.fixture
def two_accounts(db):
    retail = AccountFactory(account_id="retail", account_name="Retail Cobranzas SpA")
    banco = AccountFactory(account_id="banco", account_name="Banco Sur")
    running = BatchFactory(account=retail, batch_id="batch-retail-1", name="Cartera octubre",
                           total_jobs=5)
    for n, status in enumerate(["done", "done", "failed", "pending", "pending"]):
        JobFactory(batch=running, status=status, attempts=1 if status != "pending" else 0,
                   contact={"name": f"Deudora {n}", "phones": [f"+5691111222{n}"],
                            "next_phone_index": 0})
    BatchFactory(account=banco, batch_id="batch-banco-1", name="Hipotecarios", status="paused",
                 is_active=False, total_jobs=0)
    operator = UserFactory(username="opera", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    return running


def test_an_operator_list_follows_the_account_selector_and_fits_a_phone(
    live_server, chromium, two_accounts
):
    base = live_server.url
    context, page, errors = open_page(chromium)
    try:
        login(page, base, "opera")
        page.goto(f"{base}/app/campaigns")
        rows = page.locator(".campaigns-table tbody tr")
        expect(rows).to_have_count(2)
        expect(page.get_by_role("columnheader", name="Cuenta")).to_be_visible()
        page.locator(".account-selector select").select_option("banco")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Hipotecarios")
        expect(rows.first).to_contain_text("Pausada")
        page.locator(".account-selector select").select_option("retail")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("3 de 5")
        # A running campaign's row follows its calls by itself (polled every 5 s).
        page.evaluate("() => { window.__noReload = true; }")
        first = Job.objects.filter(batch=two_accounts, status="pending").first()
        Job.objects.filter(pk=first.pk).update(status="done")
        expect(rows.first).to_contain_text("4 de 5", timeout=12_000)
        assert page.evaluate("() => window.__noReload === true")
        page.locator(".account-selector select").select_option("")
        expect(rows).to_have_count(2)
    finally:
        context.close()
    assert not errors, errors

    # Cancel, confirmed: the campaign's actions go.
    context, page, errors = open_page(chromium)
    try:
        login(page, base, "opera")
        page.goto(f"{base}/app/campaigns/{two_accounts.batch_id}")
        page.get_by_role("heading", name="Cartera octubre").wait_for()
        # Keyboard: Escape closes the dialog and gives the focus back; tabs open with Enter.
        cancel = page.get_by_role("button", name="Cancelar campaña")
        cancel.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_be_visible()
        expect(page.get_by_role("dialog").get_by_role("button", name="Volver")).to_be_focused()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(cancel).to_be_focused()
        page.get_by_role("tab", name="Registro").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("tab", name="Registro")).to_have_attribute("aria-selected", "true")
        confirm(page, "Cancelar campaña", confirm_label="Cancelar campaña",
                screenshot="app-campaigns-13-confirm-cancel")
        expect(status_badge(page)).to_have_text("Cancelada")
        expect(page.get_by_role("button", name="Cancelar campaña")).to_have_count(0)
        expect(page.get_by_role("button", name="Editar configuración")).to_have_count(0)
        expect(page.get_by_role("button", name="Reanudar")).to_have_count(0)
        expect(page.get_by_text("Campaña terminada")).to_be_visible()
    finally:
        context.close()
    assert not errors, errors

    context, page, errors = open_page(chromium, phone=True)
    try:
        login(page, base, "opera")
        page.goto(f"{base}/app/campaigns")
        expect(page.locator(".campaigns-table tbody tr")).to_have_count(2)
        assert_accessible(page, "campaign list (phone)")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(page, "app-campaigns-11-list-phone")
        page.get_by_role("link", name="Cartera octubre").click()
        page.get_by_role("heading", name="Cartera octubre").wait_for()
        expect(page.get_by_test_id("jobs-count")).to_have_text("5 deudores")
        assert_accessible(page, "campaign detail (phone)")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        shot(page, "app-campaigns-12-detail-phone")
    finally:
        context.close()
    assert not errors, errors
