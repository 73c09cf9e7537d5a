"""The web app's login in a real browser: a client signs in and out; a wrong password is said
in Spanish on the form; the screens pass an axe scan."""

import pytest

from tests.browser.webapp import (
    PASSWORD,
    assert_accessible,
    browser_marks,
    login,
    shot,
)
from tests.factories import AccountFactory, UserFactory

pytestmark = browser_marks


@pytest.fixture
def client_user(db):
    account = AccountFactory(account_id="retail", account_name="Retail Cobranzas SpA")
    user = UserFactory(username="ana", account=account)
    user.set_password(PASSWORD)
    user.save()
    return user


def test_a_client_signs_in_and_out(live_server, page, client_user):
    base = live_server.url
    page.goto(f"{base}/")
    page.get_by_role("heading", name="Callcenter").wait_for()
    assert page.url.endswith("/app/login")
    assert_accessible(page, "login")
    shot(page, "app-01-login")

    page.get_by_label("Usuario").fill("ana")
    page.get_by_label("Contraseña").fill("no-es-la-clave")
    page.get_by_role("button", name="Ingresar").click()
    page.get_by_role("alert").wait_for()
    assert "incorrectos" in page.get_by_role("alert").inner_text()
    shot(page, "app-02-login-error")

    login(page, base, "ana")
    assert "Retail Cobranzas SpA" in page.locator(".topbar").inner_text()
    assert page.get_by_role("link", name="Cuentas").count() == 0  # staff only
    page.get_by_role("button", name="Salir").click()
    page.get_by_role("button", name="Ingresar").wait_for()
    page.goto(f"{base}/app/campaigns")
    page.get_by_role("button", name="Ingresar").wait_for()  # signed out: back to the login
