"""The "+ Nueva Campaña" wizard in a real browser (frontend/src/pages/wizard/).

A client creates a campaign from the dirty sample: sees its 2 invalid rows (44 and 47) with
their messages, the kept RUT warning (row 43) and the merged duplicate, goes on; tries an hour
outside the Chilean compliance window (refused on the field), sets its call settings, voice and
schedule, reviews and creates; lands on the campaign page and the batch is in the database with
43 jobs and those settings. Then a campaign of typed contacts that the server refuses: each
error lands on its step and field. Every step passes an axe scan and is photographed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Account
from batches.models import Batch, Job
from tests.browser.webapp import (
    PASSWORD,
    SAMPLES,
    assert_accessible,
    browser_marks,
    login,
    shot,
)
from tests.browser.wizard_steps import next_step, run_wizard, wait_step
from tests.factories import AccountFactory, UserFactory
from tests.queue_support import Published

SAMPLE = SAMPLES / "deudores_sucio.xlsx"

pytestmark = [
    *browser_marks,
    pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is missing"),
]


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    """The live server runs in this process: dispatching records the jobs, no worker runs."""
    published = Published()
    monkeypatch.setattr("calls.dispatch.publish_jobs", published)
    return published


@pytest.fixture
def client_user(db):
    account = AccountFactory(
        account_id="retail",
        account_name="Retail Cobranzas SpA",
        compliance_profile="CL",
        timezone="America/Santiago",
        cost_per_call_setup=Decimal("50"),
        cost_per_minute=Decimal("120"),
    )
    user = UserFactory(username="ana", account=account)
    user.set_password(PASSWORD)
    user.save()
    return user


def _invalid(page, label: str) -> str:
    """The error text shown under the field labelled ``label`` (it must be marked invalid)."""
    field = page.get_by_label(label, exact=True)
    assert field.get_attribute("aria-invalid") == "true", f"{label} is not marked invalid"
    described = field.get_attribute("aria-describedby") or ""
    return " ".join(page.locator(f"[id='{i}']").inner_text() for i in described.split())


def _fits_a_phone(page) -> None:
    """At 390 px wide nothing makes the page scroll sideways (wide tables scroll inside)."""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        page.set_viewport_size({"width": 1366, "height": 900})


def test_a_client_creates_a_campaign_from_the_dirty_sample(live_server, page, client_user):
    base = live_server.url
    login(page, base, "ana")

    def on_step(index, page):
        _fits_a_phone(page)
        if index == 0:
            # The variables are offered (a click inserts one) and checked as typed.
            script = page.get_by_label("Guion de la llamada")
            script.fill("Hola {{nombre}}, su saldo es {{saldo}}. ")
            assert "{{saldo}}" in page.locator(".script-check").inner_text()
            script.fill("Hola {{nombre}}, le llamamos por ")
            page.get_by_role("button", name=re.compile(r"^Insertar \{\{monto_total\}\}")).click()
            assert script.input_value().endswith("{{monto_total}}")
            assert page.locator(".script-check .alert").count() == 0
            assert page.locator(".steps li[aria-current='step']").inner_text().startswith("1.")
            assert_accessible(page, "wizard step 1")
            shot(page, "app-wizard-01-basics")
        elif index == 1:
            assert page.inner_text("#pv-total") == "46"
            assert page.inner_text("#pv-invalid") == "2"
            assert page.inner_text("#pv-merged") == "1"
            assert page.inner_text("#pv-jobs") == "43"
            errors = page.locator("#pv-errors tbody tr")
            rows = {errors.nth(i).locator("td").first.inner_text() for i in range(errors.count())}
            assert rows == {"44", "47"}
            error_text = page.locator("#pv-errors").inner_text()
            assert "Número de teléfono inválido" in error_text
            assert "El monto no puede ser negativo" in error_text
            assert "Filas con errores (2)" in page.locator(".issues-error h4").inner_text()
            warnings = page.locator("#pv-warnings tbody tr")
            assert warnings.count() == 1
            assert warnings.first.locator("td").first.inner_text() == "43"
            assert "Dígito verificador" in warnings.first.inner_text()
            merges = page.locator("#pv-merges tbody tr")
            assert merges.count() == 1
            assert "fusionado con la fila 5" in merges.first.inner_text()
            # The detected mapping, one select per header; a change needs a new preview.
            assert page.get_by_label("Uso de la columna «Teléfono»").input_value() == "phone"
            assert page.get_by_label("Uso de la columna «RUT»").input_value() == "rut"
            email = page.get_by_label("Uso de la columna «Correo»")
            assert email.input_value() == "email"
            email.select_option("custom")
            page.get_by_role("button", name="Siguiente").click()
            assert "vuelve a previsualizar" in page.locator(".preview").inner_text()
            wait_step(page, 1)
            repreview = page.get_by_role("button", name="Volver a previsualizar con estas columnas")
            with page.expect_response(re.compile(r"/excel/preview")):
                repreview.click()
            assert email.input_value() == "custom"
            assert repreview.count() == 0
            # Now {{Correo}} is a variable the script may use; back to what was detected.
            email.select_option("email")
            with page.expect_response(re.compile(r"/excel/preview")):
                repreview.click()
            assert page.inner_text("#pv-jobs") == "43"
            assert_accessible(page, "wizard step 2")
            shot(page, "app-wizard-02-contacts")
            page.set_viewport_size({"width": 390, "height": 844})
            assert_accessible(page, "wizard step 2 at 390 px")
            shot(page, "app-wizard-02-contacts-phone")
            page.set_viewport_size({"width": 1366, "height": 900})
        elif index == 2:
            window = page.get_by_test_id("compliance-window").inner_text()
            assert "08:00 a 20:00" in window and "feriados" in window
            # An hour outside the compliance window: refused on its field.
            page.get_by_label("Desde", exact=True).fill("07:00")
            page.get_by_role("button", name="Siguiente").click()
            assert "Fuera del horario permitido" in _invalid(page, "Desde")
            assert "con errores" in page.locator(".steps li[aria-current='step']").inner_text()
            assert_accessible(page, "wizard step 3 with an error")
            shot(page, "app-wizard-03-calls-refused")
            page.get_by_label("Desde", exact=True).fill("09:00")
            page.get_by_label("Hasta", exact=True).fill("19:00")
            page.get_by_label("Intentos por deudor").fill("2")
            page.get_by_label("Espera entre intentos (horas)").fill("4.5")
            page.get_by_label("Sábado").uncheck()
            assert page.get_by_label("Domingo").is_disabled()  # the CL profile never calls then
            sentence = page.get_by_test_id("when-sentence").inner_text()
            assert "Lunes a viernes de 09:00 a 19:00, hora de Santiago; no en feriados." in sentence
            assert_accessible(page, "wizard step 3")
            shot(page, "app-wizard-03-calls")
        elif index == 3:
            assert "no cambia la voz" in page.locator(".field", has_text="Tono").inner_text()
            page.get_by_label("Velocidad").fill("1.2")
            page.get_by_label("Idioma").select_option("es-CL")
            assert_accessible(page, "wizard step 4")
            shot(page, "app-wizard-04-voice")
        elif index == 4:
            page.get_by_label("Prioridad").select_option("high")
            review = page.locator(".review").inner_text()
            summary = "43 (de 46 filas; 2 filas con errores se omiten; 1 duplicado fusionado)"
            assert summary in review
            assert "Lunes a viernes de 09:00 a 19:00" in review
            cost = page.get_by_test_id("cost-estimate").inner_text()
            # 43 × ($50 + $120/min × 2 min) = $12.470
            assert "$12.470" in cost and "43 deudores" in cost
            # Back and forth keeps what was chosen.
            page.get_by_role("button", name="Editar Contactos").click()
            wait_step(page, 1)
            assert page.inner_text("#pv-jobs") == "43"
            next_step(page, 1)
            assert page.get_by_label("Intentos por deudor").input_value() == "2"
            next_step(page, 2)
            assert page.get_by_label("Velocidad").input_value() == "1.2"
            next_step(page, 3)
            assert page.get_by_label("Prioridad").input_value() == "high"
            assert_accessible(page, "wizard step 5")
            shot(page, "app-wizard-05-review")

    batch_id = run_wizard(page, base, SAMPLE, name="Cartera diciembre", on_step=on_step)

    assert page.url.endswith(f"/app/campaigns/{batch_id}")
    batch = Batch.objects.get(batch_id=batch_id)
    assert batch.account.account_id == "retail"
    assert batch.name == "Cartera diciembre"
    assert Job.objects.filter(batch=batch).count() == 43
    assert batch.total_jobs == 43 and batch.invalid_rows == 2
    settings = batch.call_settings
    assert settings["allowed_hours"] == {"start": "09:00", "end": "19:00"}
    assert settings["days_of_week"] == [1, 2, 3, 4, 5]
    assert settings["max_attempts"] == 2
    assert settings["retry_delay_hours"] == "4.5"
    assert settings["timezone"] == "America/Santiago"
    assert batch.priority == "high"
    assert batch.voice_settings["speed"] == 1.2
    assert batch.voice_settings["language"] == "es-CL"
    assert batch.schedule_type == "immediate"
    assert "{{monto_total}}" in batch.script_content


def test_server_refusals_land_on_their_step_and_field(live_server, page, client_user):
    base = live_server.url
    login(page, base, "ana")
    page.goto(f"{base}/app/campaigns/new")
    wait_step(page, 0)
    page.get_by_label("Nombre de la campaña").fill("Llamadas manuales")
    page.get_by_label("Guion de la llamada").fill("Hola {{name}}.")
    # Keyboard: Enter in a field is "Siguiente"; the new step's heading takes the focus.
    page.get_by_label("Nombre de la campaña").press("Enter")
    wait_step(page, 1)
    assert page.evaluate("document.activeElement.id") == "wizard-step-title"

    # Two typed contacts; the second's phone only the server can judge.
    page.get_by_label("Escribirlos aquí").check()
    page.get_by_role("button", name="Siguiente").click()
    assert "Escribe el RUT" in _invalid(page, "RUT *")  # the client's check first
    # The first invalid field takes the focus.
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    contact = page.get_by_role("group", name="Contacto 1")
    contact.get_by_label("Nombre").fill("Juan Pérez")
    contact.get_by_label("RUT *").fill("12.345.678-5")
    contact.get_by_label("Teléfono *").fill("+56 9 1234 5678")
    page.get_by_role("button", name="+ Agregar contacto").click()
    second = page.get_by_role("group", name="Contacto 2")
    second.get_by_label("Nombre").fill("María López")
    second.get_by_label("RUT *").fill("11.111.111-1")
    second.get_by_label("Teléfono *").fill("123")
    next_step(page, 1)
    next_step(page, 2)
    next_step(page, 3)
    page.get_by_role("button", name="Crear Campaña").click()

    # contacts[1].phones[0] → step 2, the second contact's phone.
    wait_step(page, 1)
    phone = page.get_by_role("group", name="Contacto 2").get_by_label("Teléfono *")
    phone.wait_for()
    assert phone.get_attribute("aria-invalid") == "true"
    assert "inválido" in page.get_by_role("group", name="Contacto 2").inner_text()
    assert "con errores" in page.locator(".steps li[aria-current='step']").inner_text()
    assert_accessible(page, "wizard: server error on a contact")
    shot(page, "app-wizard-06-server-error-contact")
    assert not Batch.objects.exists()

    # Fixed; meanwhile the account is suspended: the refusal lands on step 1's account.
    phone.fill("+56 9 8765 4321")
    Account.objects.filter(account_id="retail").update(status=Account.Status.SUSPENDED)
    for index in (1, 2, 3):
        next_step(page, index)
    page.get_by_role("button", name="Crear Campaña").click()
    wait_step(page, 0)
    assert "La cuenta está suspendida" in page.locator(".field", has_text="Cuenta").inner_text()
    assert "con errores" in page.locator(".steps li[aria-current='step']").inner_text()
    assert page.locator(".steps li.step-error").count() == 1  # step 2's error was fixed
    shot(page, "app-wizard-07-server-error-account")
    assert not Batch.objects.exists()

    # Reactivated, the same wizard (nothing lost) creates it, scheduled for tomorrow 10:00 in
    # the campaign's zone (a time already past is refused first, on its field).
    Account.objects.filter(account_id="retail").update(status=Account.Status.ACTIVE)
    for index in (0, 1, 2, 3):
        next_step(page, index)
    page.get_by_label("Programada").check()
    start = page.get_by_label(re.compile(r"^Fecha y hora de inicio"))
    start.fill("2020-01-01T10:00")
    page.get_by_role("button", name="Crear Campaña").click()
    assert start.get_attribute("aria-invalid") == "true"
    assert "Debe ser en el futuro" in page.locator(".field", has=start).inner_text()
    santiago = ZoneInfo("America/Santiago")
    tomorrow = (datetime.now(santiago) + timedelta(days=1)).replace(
        hour=10, minute=0, second=0, microsecond=0)
    start.fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    assert "Empieza" in page.locator(".review").inner_text()
    shot(page, "app-wizard-08-scheduled")
    page.get_by_role("button", name="Crear Campaña").click()
    page.wait_for_url(re.compile(r"/app/campaigns/(?!new)[^/]+$"))
    batch = Batch.objects.get()
    assert batch.name == "Llamadas manuales"
    assert Job.objects.filter(batch=batch).count() == 2
    assert batch.schedule_type == "scheduled"
    assert batch.scheduled_at == tomorrow.astimezone(UTC)


def test_an_operator_chooses_the_account(live_server, page, client_user):
    """run_wizard with a staff user: the account is chosen on step 1."""
    operator = UserFactory(username="operadora", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    AccountFactory(account_id="otra", account_name="Otra Cuenta")
    base = live_server.url
    login(page, base, "operadora")
    batch_id = run_wizard(
        page, base, SAMPLE, name="Cartera del operador", account_name="Retail Cobranzas SpA"
    )
    batch = Batch.objects.get(batch_id=batch_id)
    assert batch.account.account_id == "retail"
    assert Job.objects.filter(batch=batch).count() == 43
