"""The web app's account screens and dashboard in a real browser (issue 17): an operator
creates an account through the "+ Nueva Cuenta" modal (a wrong email first), finds it in the
list, opens it, tops it up and suspends it; a client sees only its own account ("Mi cuenta"),
and another account's address says "No encontrado"; the dashboard shows its figures and both
charts. Every screen passes an axe scan and is photographed (artifacts/screenshots/
app-accounts-NN-*.png, app-dashboard-NN-*.png), on a laptop and, for the list and the
dashboard, on a phone."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Account, LedgerEntry
from accounts.services import account_topup
from calls.models import CallAttempt
from tests.admin.data import campaign
from tests.browser.webapp import (
    PASSWORD,
    assert_accessible,
    browser_marks,
    login,
    open_page,
    shot,
)
from tests.factories import AccountFactory, UserFactory

pytestmark = browser_marks


def user(username, **fields):
    made = UserFactory(username=username, **fields)
    made.set_password(PASSWORD)
    made.save()
    return made


@pytest.fixture
def operator(db):
    return user("operadora-web", is_staff=True, is_superuser=True)


@pytest.fixture
def retail(db):
    account = AccountFactory(account_id="retail", account_name="Retail Cobranzas SpA",
                             credits=Decimal("0"))
    account_topup(account=account, credits=Decimal("150000"), reference="TRF-inicial")
    return account


@pytest.fixture
def financiera(db):
    return AccountFactory(account_id="financiera-sur", account_name="Financiera del Sur",
                          plan_type=Account.Plan.MINUTES)


def calls_on_past_days(account):
    """A campaign with every outcome today, and calls on some of the last days."""
    batch = campaign(account, jobs=6, name="Cartera morosa noviembre")
    campaign(account, jobs=4, name="Recordatorio cuotas diciembre")
    first = CallAttempt.objects.filter(batch=batch).order_by("pk").first()
    now = timezone.now()
    for days_ago, n in ((1, 3), (2, 5), (4, 2), (9, 4)):
        for i in range(n):
            attempt = CallAttempt.objects.get(pk=first.pk)
            attempt.pk = None
            attempt.idempotency_key = f"past-{days_ago}-{i}"
            attempt.call_id = f"call-past-{days_ago}-{i}"
            attempt.attempt_number = 10 + days_ago * 5 + i
            attempt.save()
            when = now - timedelta(days=days_ago)
            CallAttempt.objects.filter(pk=attempt.pk).update(
                created_at=when, started_at=when, ended_at=when, settled_at=when
            )


def test_an_operator_creates_tops_up_and_suspends_an_account(
    live_server, page, operator, retail, financiera
):
    base = live_server.url
    login(page, base, operator.username)
    page.get_by_role("link", name="Cuentas").click()
    page.get_by_role("heading", name="Cuentas").wait_for()
    table = page.locator("table.accounts-table")
    table.get_by_role("link", name="Retail Cobranzas SpA").wait_for()
    assert "$150.000" in table.inner_text()
    assert "Minutos" in table.inner_text()
    assert_accessible(page, "cuentas")
    shot(page, "app-accounts-01-list")

    # The search narrows the list.
    page.get_by_label("Buscar cuenta").fill("sur")
    page.wait_for_function(
        "() => !document.querySelector('table.accounts-table')?.innerText.includes('Retail')"
    )
    assert "Financiera del Sur" in table.inner_text()
    page.get_by_label("Buscar cuenta").fill("")
    table.get_by_role("link", name="Retail Cobranzas SpA").wait_for()

    # The modal: four sections, the plan's initial balance only.
    page.get_by_role("button", name="+ Nueva Cuenta").click()
    dialog = page.get_by_role("dialog", name="Nueva cuenta")
    dialog.get_by_label("Nombre de la empresa").wait_for()
    legends = dialog.locator("legend").all_inner_texts()
    assert legends == ["1. Empresa y contacto", "2. Plan y facturación", "3. Límites técnicos",
                       "4. Configuración regional"]
    assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null")
    dialog.get_by_label("Nombre de la empresa").fill("Cobranzas Los Andes")
    dialog.get_by_label("Nombre de contacto").fill("Carla Muñoz")
    dialog.get_by_label("Email de contacto").fill("carla@losandes")
    dialog.get_by_label("Teléfono de contacto (opcional)").fill("+56987654321")
    dialog.get_by_label("Plan").select_option("minutes_based")
    assert dialog.get_by_label("Minutos iniciales").is_visible()
    assert dialog.get_by_label("Créditos iniciales (CLP)").count() == 0
    dialog.get_by_label("Plan").select_option("credit_based")
    assert dialog.get_by_label("Minutos iniciales").count() == 0
    dialog.get_by_label("Créditos iniciales (CLP)").fill("5.000")
    dialog.get_by_label("Llamadas simultáneas máximas").fill("8")
    zones = dialog.get_by_label("Zona horaria").locator("option").all_inner_texts()
    assert any("America/Santiago" in zone for zone in zones)
    assert_accessible(page, "nueva cuenta")
    shot(page, "app-accounts-02-new-account")

    # A wrong email is said on its field, in its section; nothing is sent.
    dialog.get_by_role("button", name="Crear cuenta").click()
    email = dialog.get_by_label("Email de contacto")
    page.wait_for_function("() => document.activeElement?.type === 'email'")
    assert email.get_attribute("aria-invalid") == "true"
    assert "email válido" in dialog.locator(".field-invalid").inner_text()
    assert "Empresa y contacto" in dialog.get_by_role("alert").inner_text()
    assert not Account.objects.filter(account_name="Cobranzas Los Andes").exists()
    assert_accessible(page, "nueva cuenta con error")
    shot(page, "app-accounts-03-new-account-error")

    email.fill("carla@losandes.cl")
    dialog.get_by_role("button", name="Crear cuenta").click()
    dialog.wait_for(state="detached")
    confirmation = page.locator(".alert-ok")
    confirmation.wait_for()
    assert "Cobranzas Los Andes" in confirmation.inner_text()
    table.get_by_role("link", name="Cobranzas Los Andes").wait_for()
    created = Account.objects.get(account_name="Cobranzas Los Andes")
    assert (created.contact_email, created.max_concurrent_calls, created.credits) == (
        "carla@losandes.cl", 8, Decimal("5000"))
    assert (created.timezone, created.compliance_profile) == ("America/Santiago", "CL")
    shot(page, "app-accounts-04-created")

    # Its page: Información, then Balance with the ledger and the top-up.
    table.get_by_role("link", name="Cobranzas Los Andes").click()
    page.get_by_role("heading", name="Cobranzas Los Andes").wait_for()
    page.get_by_role("heading", name="Datos de la cuenta").wait_for()
    page.get_by_text("Campañas activas").wait_for()
    assert "carla@losandes.cl" in page.locator("dl.details").inner_text()
    assert_accessible(page, "cuenta: información")
    shot(page, "app-accounts-05-detail-info")

    page.get_by_role("tab", name="Balance").click()
    page.get_by_role("heading", name="Últimos movimientos").wait_for()
    ledger = page.locator("table.ledger-table")
    ledger.wait_for()
    assert "Recarga" in ledger.inner_text() and "+$5.000" in ledger.inner_text()
    topup = page.locator(".topup")
    topup.get_by_role("button", name="Recargar").click()  # nothing typed: said on the field
    assert "Ingresa créditos, minutos o ambos" in topup.inner_text()
    topup.get_by_label("Créditos (CLP)").fill("2.500")
    topup.get_by_label("Referencia (opcional)").fill("TRF-2026-001")
    topup.get_by_role("button", name="Recargar").click()
    confirm = page.get_by_role("dialog", name="Confirmar recarga")
    assert "$2.500" in confirm.inner_text()
    confirm.get_by_role("button", name="Confirmar recarga").click()
    page.locator(".topup-done").wait_for()
    page.wait_for_function(
        "() => document.querySelector('table.ledger-table')?.innerText.includes('TRF-2026-001')"
    )
    page.locator(".stats-grid").first.filter(has_text="$7.500").wait_for()  # refetched
    created.refresh_from_db()
    assert created.credits == Decimal("7500")
    assert LedgerEntry.objects.filter(account=created, reference="TRF-2026-001").exists()
    assert_accessible(page, "cuenta: balance")
    shot(page, "app-accounts-06-detail-balance")

    # Suspended after a confirmation.
    page.get_by_role("button", name="Suspender cuenta").click()
    page.get_by_role("dialog", name="Suspender cuenta").get_by_role(
        "button", name="Suspender").click()
    page.get_by_role("button", name="Reactivar cuenta").wait_for()
    created.refresh_from_db()
    assert created.status == Account.Status.SUSPENDED
    assert "Suspendida" in page.locator(".page-header").inner_text()


def test_the_accounts_list_on_a_phone(live_server, chromium, operator, retail, financiera):
    context, page, errors = open_page(chromium, phone=True)
    try:
        login(page, live_server.url, operator.username)
        page.goto(f"{live_server.url}/app/accounts")
        page.locator("table.accounts-table").get_by_role(
            "link", name="Retail Cobranzas SpA").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width  # no sideways scrolling
        assert_accessible(page, "cuentas (teléfono)")
        shot(page, "app-accounts-07-list-phone")
        page.get_by_role("button", name="+ Nueva Cuenta").click()
        page.get_by_role("dialog").get_by_label("Nombre de la empresa").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "app-accounts-08-new-account-phone")
    finally:
        context.close()
    assert not errors, errors


def test_a_client_sees_only_its_own_account(live_server, page, retail, financiera):
    client = user("ana-retail", account=retail)
    base = live_server.url
    login(page, base, client.username)
    nav = page.get_by_role("navigation", name="Principal")
    assert nav.get_by_role("link", name="Cuentas").count() == 0
    assert page.locator(".account-selector").count() == 0
    nav.get_by_role("link", name="Mi cuenta").click()
    page.get_by_role("heading", name="Retail Cobranzas SpA").wait_for()
    page.get_by_role("heading", name="Datos de la cuenta").wait_for()
    assert page.get_by_role("button", name="Suspender cuenta").count() == 0
    assert page.get_by_role("link", name="‹ Cuentas").count() == 0
    assert_accessible(page, "mi cuenta: información")
    shot(page, "app-accounts-09-client-info")

    page.get_by_role("tab", name="Balance").click()
    page.locator("table.ledger-table").wait_for()
    assert "TRF-inicial" in page.locator("table.ledger-table").inner_text()
    assert page.get_by_role("heading", name="Recargar saldo").count() == 0  # staff only
    assert "$150.000" in page.locator(".stats-grid").first.inner_text()
    assert_accessible(page, "mi cuenta: balance")
    shot(page, "app-accounts-10-client-balance")

    # Another account's page, and the operators' list: not found.
    page.goto(f"{base}/app/accounts/{financiera.account_id}")
    page.get_by_role("heading", name="No encontrado").wait_for()
    assert "Financiera" not in page.locator("main").inner_text()
    shot(page, "app-accounts-11-client-other-account")
    page.goto(f"{base}/app/accounts")
    page.get_by_role("heading", name="No encontrado").wait_for()


def test_the_dashboard_shows_figures_and_charts(live_server, chromium, operator, retail,
                                                 financiera):
    calls_on_past_days(retail)
    client = user("ana-panel", account=retail)
    base = live_server.url
    for phone in (False, True):
        context, page, errors = open_page(chromium, phone=phone)
        try:
            login(page, base, client.username)
            page.get_by_role("navigation", name="Principal").get_by_role(
                "link", name="Panel").click()
            page.get_by_role("heading", name="Panel").wait_for()
            figures = page.locator(".dashboard-figures")
            figures.wait_for()
            assert "Llamadas hoy" in figures.inner_text()
            assert "Retail Cobranzas SpA" in page.locator(".subtitle").inner_text()
            page.locator("canvas").nth(1).wait_for()
            days, outcomes = (page.locator("canvas").nth(i).get_attribute("aria-label")
                              for i in range(2))
            assert "Llamadas por día, últimos 30 días" in days
            total = CallAttempt.objects.filter(account=retail).count()
            assert f"{total} en total" in days, days
            assert "2 campañas" in outcomes and "Contactado" in outcomes
            # The text alternative: the figures as tables.
            page.locator("summary", has_text="resultados por campaña").click()
            assert "Cartera morosa noviembre" in page.locator(".chart-data").nth(1).inner_text()
            assert_accessible(page, "panel" + (" (teléfono)" if phone else ""))
            if phone:
                assert page.evaluate("document.documentElement.scrollWidth") <= 390
                shot(page, "app-dashboard-02-client-phone")
            else:
                shot(page, "app-dashboard-01-client")
        finally:
            context.close()
        assert not errors, errors

    # An operator: every account, then the one chosen in the header's selector.
    context, page, errors = open_page(chromium)
    try:
        login(page, base, operator.username)
        page.goto(f"{base}/app/dashboard")
        page.get_by_text("Todas las cuentas ·").wait_for()
        page.locator(".account-selector select").select_option("financiera-sur")
        page.get_by_text("Cuenta Financiera del Sur ·").wait_for()
        page.get_by_text("no hay campañas abiertas").first.wait_for()
        page.locator(".account-selector select").select_option("retail")
        page.get_by_text("Cuenta Retail Cobranzas SpA ·").wait_for()
        page.locator("canvas").nth(1).wait_for()
        assert_accessible(page, "panel (operador)")
        shot(page, "app-dashboard-03-operator-account")
    finally:
        context.close()
    assert not errors, errors
