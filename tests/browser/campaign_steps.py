"""The campaign pages' steps in a real browser, reusable by any journey that ends on a live
campaign (the wizard's full journey: create the campaign, then ``watch_campaign``).

The page must be signed in as a user who may see the campaign, and the campaign must be
running with calls being answered (tests/browser/stack.py: ``live_stack``).
"""

from __future__ import annotations

import io
import re
import time

import openpyxl
from playwright.sync_api import expect

from tests.browser.webapp import assert_accessible, shot

# The page polls every 5 s: a rise shows within two polls of a call ending.
RISE_TIMEOUT_MS = 20_000
FINISH_TIMEOUT_MS = 60_000


def counter(page, test_id: str) -> int:
    text = page.get_by_test_id(test_id).inner_text().strip()
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else -1


def _wait_for_rise(page, test_ids: tuple[str, ...], timeout_ms: int) -> dict[str, int]:
    """Until one of the counters rises above what it shows now (the page polls by itself)."""
    before = {test_id: counter(page, test_id) for test_id in test_ids}
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        now = {test_id: counter(page, test_id) for test_id in test_ids}
        if any(now[test_id] > before[test_id] for test_id in test_ids):
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"none of {test_ids} rose above {before} within {timeout_ms} ms")


def status_badge(page):
    return page.locator(".campaign-meta .badge")


def confirm(page, button: str, *, confirm_label: str, screenshot: str | None = None) -> None:
    """Click ``button``, check the confirmation dialog (axe scan), confirm."""
    page.get_by_role("button", name=button, exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    if screenshot:
        assert_accessible(page, f"confirm dialog ({button})")
        shot(page, screenshot)
    dialog.get_by_role("button", name=confirm_label, exact=True).click()
    expect(dialog).to_have_count(0)


def check_campaign_list(page, base: str, *, name: str, shot_prefix: str = "app-campaigns") -> None:
    """The list shows the campaign with its progress; search and the status filter work."""
    page.goto(f"{base}/app/campaigns")
    page.get_by_role("heading", name="Campañas").wait_for()
    row = page.locator("tbody tr", has_text=name)
    expect(row).to_have_count(1)
    expect(row.get_by_role("progressbar")).to_be_visible()
    expect(page.get_by_role("link", name="+ Nueva Campaña")).to_have_attribute(
        "href", "/app/campaigns/new")
    assert_accessible(page, "campaign list")
    shot(page, f"{shot_prefix}-01-list")
    page.get_by_label("Buscar").fill(name[:6].lower())
    expect(page).to_have_url(re.compile(r"buscar="))
    expect(page.locator("tbody tr", has_text=name)).to_have_count(1)
    page.get_by_label("Estado").select_option("cancelled")
    expect(page.get_by_text("Ninguna campaña coincide con la búsqueda.")).to_be_visible()
    page.get_by_label("Estado").select_option("")
    page.get_by_label("Buscar").fill("")
    expect(page.locator("tbody tr", has_text=name)).to_have_count(1)


def watch_campaign(page, base: str, batch_id: str, *, expect_jobs: int,
                   shot_prefix: str = "app-campaigns", pause_resume: bool = True,
                   edit: bool = True) -> dict:
    """Open the campaign, watch its counters rise without a reload, pause (confirm) and
    resume, read its log, edit it (a server error shown on its field; then only the name is
    saved),
    wait for it to finish, filter and search the debtors, open one's calls and download the
    results (.xlsx with ``expect_jobs`` rows). Returns the figures read at the end."""
    page.goto(f"{base}/app/campaigns/{batch_id}")
    page.get_by_role("heading", level=1).wait_for()
    expect(page.get_by_test_id("count-attempts")).not_to_have_text("—")
    # A marker that a reload would wipe: the counters must move by polling alone.
    page.evaluate("() => { window.__noReload = true; }")
    if not page.get_by_text("Campaña terminada").count():
        # Calls made and/or debtors completed count up as the simulator answers.
        _wait_for_rise(page, ("count-done", "count-attempts"), RISE_TIMEOUT_MS)
    assert counter(page, "count-attempts") >= 1
    assert page.evaluate("() => window.__noReload === true"), "the page reloaded"
    expect(page.get_by_role("progressbar", name="Progreso de la campaña")).to_be_visible()
    assert_accessible(page, "campaign detail: debtors tab")
    shot(page, f"{shot_prefix}-02-detail-running")

    paused = False
    if pause_resume and page.get_by_role("button", name="Pausar", exact=True).count():
        confirm(page, "Pausar", confirm_label="Pausar",
                screenshot=f"{shot_prefix}-03-confirm-pause")
        expect(status_badge(page)).to_have_text("Pausada")
        expect(page.get_by_role("button", name="Reanudar", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Pausar", exact=True)).to_have_count(0)
        shot(page, f"{shot_prefix}-04-paused")
        confirm(page, "Reanudar", confirm_label="Reanudar")
        expect(status_badge(page)).to_have_text(re.compile("En curso|Completada"))
        paused = True

    page.get_by_role("tab", name="Registro").click()
    expect(page.get_by_role("tab", name="Registro")).to_have_attribute("aria-selected", "true")
    log = page.get_by_role("list", name="Registro de la campaña")
    expect(log.get_by_text("Creada", exact=True)).to_be_visible()
    if paused:
        expect(log.get_by_text("Pausada", exact=True)).to_be_visible()
        expect(log.get_by_text("Reanudada", exact=True)).to_be_visible()
    assert_accessible(page, "campaign detail: log tab")
    shot(page, f"{shot_prefix}-05-logs")

    page.get_by_role("tab", name="Configuración").click()
    expect(page.get_by_text("Intentos máximos por deudor")).to_be_visible()
    assert_accessible(page, "campaign detail: settings tab")
    shot(page, f"{shot_prefix}-06-settings")
    if edit and page.get_by_role("button", name="Editar configuración").count():
        page.get_by_role("button", name="Editar configuración").click()
        dialog = page.get_by_role("dialog", name="Editar configuración")
        field = dialog.get_by_label("Intentos máximos por deudor")
        original = field.input_value()
        field.fill("99")  # the API allows 1-20
        dialog.get_by_role("button", name="Guardar cambios").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(dialog.locator(".error-text")).to_contain_text("20")
        assert_accessible(page, "settings dialog with an error")
        shot(page, f"{shot_prefix}-07-settings-error")
        renamed = page.get_by_role("heading", level=1).inner_text().strip() + " (editada)"
        dialog.get_by_label("Nombre").fill(renamed)
        field.fill(original)  # only the name changes: the calls go on as they were
        dialog.get_by_role("button", name="Guardar cambios").click()
        expect(dialog).to_have_count(0)
        expect(page.get_by_role("heading", level=1)).to_have_text(renamed)

    # Finished: the counters stop, the actions go.
    expect(status_badge(page)).to_have_text(re.compile("Completada"), timeout=FINISH_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Pausar", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Cancelar campaña")).to_have_count(0)
    expect(page.get_by_test_id("progress-text")).to_contain_text(
        f"{expect_jobs} de {expect_jobs} deudores")
    figures = {"done": counter(page, "count-done"), "attempts": counter(page, "count-attempts")}

    page.get_by_role("tab", name="Deudores").click()
    jobs_count = page.get_by_test_id("jobs-count")
    expect(jobs_count).to_have_text(f"{expect_jobs} deudores")
    page.get_by_label("Estado del deudor").select_option("done")
    expect(jobs_count).to_contain_text(f"{figures['done']} deudor")
    page.get_by_label("Estado del deudor").select_option("")
    expect(jobs_count).to_have_text(f"{expect_jobs} deudores")
    first = page.locator(".jobs-table tbody tr").first
    name = first.locator("strong").inner_text()
    rut = first.get_by_text(re.compile(r"^RUT ")).inner_text().removeprefix("RUT ")
    search = page.get_by_label("Buscar deudor")
    search.fill(name)
    expect(jobs_count).to_have_text("1 deudor")
    search.fill(rut)
    expect(jobs_count).to_have_text("1 deudor")
    row = page.locator(".jobs-table tbody tr").first
    toggle = row.locator("button[aria-controls]")
    expect(toggle).to_have_text(re.compile(r"^Ver \d+ llamadas? de "))
    toggle.click()
    expect(toggle).to_have_text(re.compile(r"^Ocultar "))
    expect(toggle).to_have_attribute("aria-expanded", "true")
    attempts = page.locator(".attempts-table tbody tr")
    expect(attempts.first).to_be_visible()
    assert_accessible(page, "campaign detail: a debtor's calls")
    shot(page, f"{shot_prefix}-08-job-attempts")
    search.fill("")
    expect(jobs_count).to_have_text(f"{expect_jobs} deudores")
    shot(page, f"{shot_prefix}-09-completed")

    with page.expect_download() as info:
        page.get_by_role("link", name="Descargar resultados (.xlsx)").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.path(), "rb").read()),  # noqa: SIM115
                                      read_only=True)
    sheet = workbook.worksheets[0]
    rows = [row for row in sheet.iter_rows(values_only=True)
            if any(cell is not None for cell in row)]
    assert len(rows) == expect_jobs + 1, f"{len(rows)} rows in the export"
    assert any(rut in str(cell) for row in rows for cell in row), "the RUT is in the export"
    figures["export_rows"] = len(rows) - 1
    return figures
