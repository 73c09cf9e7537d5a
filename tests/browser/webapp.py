"""Support for the web app's browser tests (frontend/, served by Django at /app/).

Chromium is Debian's /usr/bin/chromium driven by Playwright (no browser download); axe-core
comes from frontend/node_modules (``python3 dev.py test`` runs ``npm ci`` first).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "clave-segura-2026"
# Violations of these impacts fail a test; "minor" and "moderate" ones are printed.
SERIOUS = {"serious", "critical"}

browser_marks = [
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
    pytest.mark.skipif(
        not AXE.exists(), reason="frontend/node_modules is missing: run `python3 dev.py test`"
    ),
]


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(chromium, *, phone: bool = False):
    """A fresh browser context in Chilean Spanish and Santiago time, laptop or phone sized.
    Returns (context, page, errors): ``errors`` collects uncaught JavaScript errors."""
    viewport = {"width": 390, "height": 844} if phone else {"width": 1366, "height": 900}
    context = chromium.new_context(
        accept_downloads=True,
        locale="es-CL",
        timezone_id="America/Santiago",
        viewport=viewport,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


@pytest.fixture
def page(chromium):
    context, page, errors = open_page(chromium)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def login(page, base: str, username: str, password: str = PASSWORD) -> None:
    """Through the app's own login form; waits for the signed-in frame."""
    page.goto(f"{base}/app/login")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_role("button", name="Ingresar").click()
    page.get_by_role("button", name="Salir").wait_for()


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.1 A/AA rules)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => await window.axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })"""
    )
    return result["violations"]


def assert_accessible(page, screen: str) -> None:
    """No serious or critical axe violation on this screen (others are printed)."""
    violations = axe_violations(page)
    for violation in violations:
        if violation["impact"] not in SERIOUS:
            print(f"[axe] {screen}: {violation['impact']} {violation['id']}: {violation['help']}")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in violations
        if v["impact"] in SERIOUS
    ]
    assert not serious, f"{screen}: accessibility violations: {serious}"
