"""Driving the web app's "+ Nueva Campaña" wizard (/app/campaigns/new), for any browser test.

``run_wizard`` goes through the five steps with a spreadsheet and the defaults and creates
the campaign; ``on_step(index, page)`` (0 to 4) runs on each step before it moves on, so a test
can look at a step, change what it wants or take a screenshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

STEP_TITLES = (
    "Información básica",
    "Contactos",
    "Llamadas",
    "Voz",
    "Programación y revisión",
)
SCRIPT = "Hola {{nombre}}, le llamamos de {{empresa}} por su deuda de {{monto_total}}."


def wait_step(page, index: int) -> None:
    """Wait until step ``index`` (0-based) is the current one."""
    page.locator(".steps li[aria-current='step']", has_text=STEP_TITLES[index]).wait_for()
    page.get_by_role("heading", name=f"Paso {index + 1} de 5").wait_for()


def next_step(page, index: int) -> None:
    """Click "Siguiente" on step ``index`` and wait for the next one."""
    page.get_by_role("button", name="Siguiente").click()
    wait_step(page, index + 1)


def run_wizard(
    page,
    base: str,
    sample_path: str | Path,
    *,
    name: str,
    account_name: str | None = None,
    script: str = SCRIPT,
    on_step: Callable[[int, object], None] | None = None,
) -> str:
    """Create a campaign from ``sample_path`` through the wizard as the signed-in user and
    return its batch_id (from the campaign page's URL). ``account_name``: for a staff user,
    the account to choose (a client's is its own)."""
    page.goto(f"{base}/app/campaigns/new")
    wait_step(page, 0)
    if account_name is not None:
        form = page.locator("#wizard-step")
        form.get_by_label("Cuenta", exact=True).select_option(label=account_name)
    page.get_by_label("Nombre de la campaña").fill(name)
    page.get_by_label("Guion de la llamada").fill(script)
    if on_step:
        on_step(0, page)
    next_step(page, 0)

    page.get_by_label("Subir un archivo Excel").check()
    page.get_by_label(re.compile("^Archivo de deudores")).set_input_files(str(sample_path))
    page.locator("#pv-jobs").wait_for()
    if on_step:
        on_step(1, page)
    next_step(page, 1)

    page.get_by_test_id("when-sentence").wait_for()
    if on_step:
        on_step(2, page)
    next_step(page, 2)

    if on_step:
        on_step(3, page)
    next_step(page, 3)

    page.get_by_test_id("cost-estimate").wait_for()
    if on_step:
        on_step(4, page)
    page.get_by_role("button", name="Crear Campaña").click()
    page.wait_for_url(re.compile(r"/app/campaigns/(?!new)[^/?#]+$"))
    return page.url.rstrip("/").rsplit("/", 1)[-1]
