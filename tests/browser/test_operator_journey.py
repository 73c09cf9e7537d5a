"""An operator's day in a real browser: headless Debian Chromium driven by Playwright against
the live dev server (pytest-django's ``live_server``).

Log in, create a campaign from the dirty sample through the admin, see its row errors,
confirm, watch the progress refresh by itself, pause and resume, open a job and its attempts,
download the results, look at the dashboard. A screenshot of every page is saved under
``artifacts/screenshots/``.

Run alone with ``pytest -m browser``. Needs /usr/bin/chromium and the playwright package
(``.ci/install-browser`` installs both; browsers are never downloaded).
"""

from __future__ import annotations

import importlib.util
import os
import re
from decimal import Decimal

import openpyxl
import pytest

from accounts.services import account_topup
from batches.models import Batch, BatchEvent, Job
from calls.models import CallAttempt
from tests.admin.data import attempt
from tests.browser.webapp import CHROMIUM, SAMPLES, shot
from tests.factories import AccountFactory, UserFactory
from tests.queue_support import Published

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls (and the
# live server's, in its thread) are synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SAMPLE = SAMPLES / "deudores_sucio.xlsx"
PASSWORD = "pass-12345"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"{CHROMIUM} is missing: run .ci/install-browser (Debian's chromium package)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed: run .ci/install-browser (requirements-browser.txt)",
    ),
    pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is missing"),
]


@pytest.fixture
def page(chromium, tmp_path):
    context = chromium.new_context(
        accept_downloads=True, locale="en-US", viewport={"width": 1600, "height": 1000}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """No broker (the live server runs in this process)."""
    monkeypatch.setattr("calls.dispatch.publish_jobs", Published())


def test_an_operator_runs_a_campaign_from_the_admin(live_server, page, tmp_path):
    operator = UserFactory(username="operadora", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    account = AccountFactory(account_id="retail", account_name="Retail Cobranzas")
    # Funded: a campaign its account cannot pay for waits for a top-up (its own event).
    account_topup(account=account, credits=Decimal("100000"), reference="journey")
    base = live_server.url

    # Log in; the index shows the dashboard, loaded without reloading the page.
    page.goto(f"{base}/admin/login/?next=/admin/")
    shot(page, "01-login")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#cc-index-dashboard .cc-kpis")
    shot(page, "02-admin-index-with-dashboard")

    # Campaigns → "Create campaign from Excel": upload the dirty sample.
    page.goto(f"{base}/admin/batches/batch/")
    shot(page, "03-campaigns-empty")
    page.click("a.cc-create")
    page.select_option("#id_account", str(account.pk))
    page.fill("#id_name", "Cartera octubre (sucia)")
    page.set_input_files("#id_file", str(SAMPLE))
    page.fill("#id_allowed_start", "08:00")
    page.fill("#id_allowed_end", "20:00")
    shot(page, "04-create-from-excel-form")
    page.click("input[name=preview]")

    # The preview: 46 rows, 2 invalid (rows 44, 47), 43 debtors (43 has a wrong check digit: kept).
    page.wait_for_selector("#cc-row-errors")
    assert page.inner_text("#cc-total-rows") == "46"
    assert page.inner_text("#cc-invalid-rows") == "2"
    assert page.inner_text("#cc-total-jobs") == "43"
    rows = page.locator("#cc-row-errors tr.cc-row-error")
    assert {rows.nth(i).get_attribute("data-row") for i in range(rows.count())} == {
        "44",
        "47",
    }
    assert "Invalid phone number" in page.inner_text("#cc-row-errors")
    assert page.locator("#cc-contacts tbody tr").count() == 20
    assert not Batch.objects.exists()
    shot(page, "05-preview-with-row-errors")

    # Confirm: the campaign exists with 43 jobs, and its page opens.
    page.click("input[name=confirm]")
    page.wait_for_url(re.compile(r"/admin/batches/batch/\d+/change/$"))
    batch = Batch.objects.get()
    assert batch.jobs.count() == 43 and batch.status == Batch.Status.RUNNING
    assert "created with 43 jobs" in page.inner_text("ul.messagelist")
    assert page.inner_text('.cc-progress-block [data-count="pending"]') == "43"
    shot(page, "06-campaign-created")

    # The engine makes progress (simulated here); the block refreshes without a reload.
    page.evaluate("window.__ccSamePage = true")
    done = list(batch.jobs.order_by("id")[:5])
    for job in done:
        attempt(job, outcome=CallAttempt.Outcome.NO_CONTACT)
        attempt(job, outcome=CallAttempt.Outcome.CONTACT)
    Job.objects.filter(pk__in=[j.pk for j in done]).update(
        status=Job.Status.DONE, attempts=2, last_outcome="user_hangup"
    )
    page.wait_for_function(
        "document.querySelector('.cc-progress-block [data-count=\"done\"]').textContent === '5'",
        timeout=12_000,
    )
    assert page.evaluate("window.__ccSamePage") is True
    assert page.inner_text('.cc-progress-block [data-count="pending"]') == "38"
    shot(page, "07-progress-refreshed-live")

    # Pause, then resume, from the campaign page.
    page.click('button[data-operation="pause"]')
    page.wait_for_selector('button[data-operation="resume"]')
    assert "Campaign paused" in page.inner_text("ul.messagelist")
    batch.refresh_from_db()
    assert (batch.status, batch.is_active) == (Batch.Status.PAUSED, False)
    shot(page, "08-campaign-paused")
    page.click('button[data-operation="resume"]')
    page.wait_for_selector('button[data-operation="pause"]')
    batch.refresh_from_db()
    assert (batch.status, batch.is_active) == (Batch.Status.RUNNING, True)
    kinds = list(batch.events.order_by("id").values_list("kind", flat=True))
    assert kinds == [BatchEvent.Kind.CREATED, BatchEvent.Kind.PAUSED, BatchEvent.Kind.RESUMED]
    shot(page, "09-campaign-resumed")

    # The list shows its progress bar.
    page.goto(f"{base}/admin/batches/batch/")
    assert "5 / 43" in page.inner_text("#result_list")
    shot(page, "10-campaign-list")

    # Its jobs; find one by RUT; open it and its attempts.
    page.goto(f"{base}/admin/batches/batch/{batch.pk}/change/")
    page.click("text=See the jobs of this campaign")
    page.wait_for_selector("#result_list")
    shot(page, "11-jobs-of-the-campaign")
    first = done[0]
    page.fill("#searchbar", first.rut)
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"q="))
    page.click(f"#result_list a:text-is('{first.rut}')")
    page.wait_for_selector("text=user_hangup")
    assert "dial_no_answer" in page.content()
    shot(page, "12-job-with-attempts")
    page.click("a:text-is('#2')")
    page.wait_for_url(re.compile(r"/admin/calls/callattempt/\d+/change/"))
    assert "user_hangup" in page.content()
    shot(page, "13-call-attempt")

    # Download the results.
    page.goto(f"{base}/admin/batches/batch/{batch.pk}/change/")
    with page.expect_download() as info:
        page.click("a.cc-export")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(str(target))
    assert target.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 44  # a header and the 43 debtors
    assert sum(1 for r in rows[1:] if r[5] == "user_hangup") == 5
    # The sample has a debtor named =HYPERLINK(...): it comes back as text, not a formula.
    assert any(str(r[1]).startswith("=HYPERLINK") for r in rows[1:])
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    # The dashboard: figures and the outcome chart, drawn on the server.
    page.goto(f"{base}/admin/calls/callattempt/dashboard/")
    page.wait_for_selector("svg.cc-chart rect[data-outcome='contact']")
    assert page.inner_text("[data-kpi='calls_today']") == "10"
    shot(page, "14-dashboard")
