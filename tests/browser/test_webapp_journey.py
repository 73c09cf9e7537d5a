"""The client's whole journey in the web app, on the live stack (issue 17).

A client logs in, runs the five-step wizard with ``deudores_sucio.xlsx`` (sees the invalid
rows and the merged duplicate, fixes nothing, goes on), and lands on its campaign's page,
where a real Celery worker dials the debtors through the Retell simulator: the counters count
the calls without a reload, the client pauses and resumes, reads the log, searches the
debtors, opens one's calls and downloads the results. Then another account's campaign is
"No encontrado".

The sample gives 46 rows, 2 invalid (44 and 47), 1 warning (row 43's RUT has a wrong check
digit and is kept, as issue 16 decided) and 1 duplicate merged: 43 debtors.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from batches.models import Batch, Job
from tests.browser.campaign_steps import watch_campaign
from tests.browser.stack import client_account, live_stack  # noqa: F401
from tests.browser.webapp import SAMPLES, assert_accessible, browser_marks, login, shot
from tests.browser.wizard_steps import run_wizard
from tests.factories import BatchFactory

SAMPLE = SAMPLES / "deudores_sucio.xlsx"
DEBTORS = 43

pytestmark = [
    *browser_marks,
    pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is missing"),
]


def test_a_client_runs_a_campaign_from_the_wizard_to_the_results(live_stack, page):  # noqa: F811
    # Compliance profile "none": the test may run at any hour. Four call slots: the 43 calls
    # take long enough (about 30 s with the simulator's 2 s calls) to pause in the middle.
    account, user = client_account("retail", name="Retail Cobranzas SpA",
                                   max_concurrent_calls=4)
    other, _ = client_account("otra", name="Otra Cobranza SpA", credits=0)
    foreign = BatchFactory(account=other, batch_id="batch-ajena", name="Campaña ajena")
    base = live_stack.base
    login(page, base, user.username)

    def on_step(index, page):
        if index == 1:
            assert page.inner_text("#pv-total") == "46"
            assert page.inner_text("#pv-invalid") == "2"
            assert page.inner_text("#pv-merged") == "1"
            assert page.inner_text("#pv-jobs") == str(DEBTORS)
            shot(page, "app-journey-01-preview")
        elif index == 2:
            # One call per debtor, any hour, every day: the campaign ends within the test.
            page.get_by_label("Intentos por deudor").fill("1")
            restrict = page.get_by_label("Limitar a un horario propio")
            if restrict.is_checked():
                restrict.uncheck()
            days = page.locator(".days input[type=checkbox]")
            for i in range(days.count()):
                if not days.nth(i).is_checked():
                    days.nth(i).check()
            shot(page, "app-journey-02-calls")

    batch_id = run_wizard(page, base, SAMPLE, name="Cartera sucia diciembre", on_step=on_step)
    batch = Batch.objects.get(batch_id=batch_id)
    assert batch.account_id == account.pk
    assert Job.objects.filter(batch=batch).count() == DEBTORS

    figures = watch_campaign(page, base, batch_id, expect_jobs=DEBTORS,
                             shot_prefix="app-journey")
    assert figures["attempts"] == DEBTORS  # one call each: nobody called twice
    assert figures["export_rows"] == DEBTORS
    stats = live_stack.sim.stats()
    assert all(count == 1 for count in stats["by_idempotency_key"].values())
    assert stats["calls_created"] == DEBTORS
    assert 1 <= stats["max_live_by_account"][account.account_id] <= 4

    page.goto(f"{base}/app/campaigns/{foreign.batch_id}")
    expect(page.get_by_role("heading", name="No encontrado")).to_be_visible()
    assert_accessible(page, "another account's campaign")
    shot(page, "app-journey-10-not-found")
