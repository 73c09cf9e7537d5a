"""The first steps of an operator who has never seen the system, in a real browser: create a
client account from the admin and top it up. (The campaign steps are in
test_operator_journey.py, whose browser fixtures this module reuses.)"""

from decimal import Decimal

from accounts.models import Account, LedgerEntry
from tests.browser.test_operator_journey import (  # noqa: F401 - pytest fixtures
    PASSWORD,
    _isolated,
    page,
    pytestmark,
    shot,
)
from tests.factories import UserFactory


def test_an_operator_creates_and_tops_up_an_account(live_server, page):  # noqa: F811
    operator = UserFactory(username="operador-cuentas", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/accounts/account/add/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.wait_for_selector("#id_account_name")
    page.fill("#id_account_name", "Financiera Los Andes")
    page.fill("#id_contact_name", "Carla Muñoz")
    page.fill("#id_contact_email", "carla@losandes.cl")
    page.select_option("#id_plan_type", "credit_based")
    page.fill("#id_max_concurrent_calls", "8")
    page.fill("#id_initial_credits", "5000")
    shot(page, "20-account-add")
    page.click("input[name=_save]")
    page.wait_for_selector("#result_list")
    shot(page, "21-account-list")
    account = Account.objects.get(account_name="Financiera Los Andes")
    assert account.credits == Decimal("5000") and account.max_concurrent_calls == 8

    # The "top up" action asks for the amount on an intermediate page.
    page.check(f"input[name=_selected_action][value='{account.pk}']")
    page.select_option("select[name=action]", "topup")
    page.click("button[name=index]")
    page.wait_for_selector("#id_credits")
    page.fill("#id_credits", "2500")
    page.fill("#id_reference", "TRF-2025-001")
    shot(page, "22-account-topup")
    page.click("input[type=submit].default")
    page.wait_for_selector("#result_list")
    shot(page, "23-account-topped-up")
    account.refresh_from_db()
    assert account.credits == Decimal("7500")
    assert LedgerEntry.objects.filter(account=account, reference="TRF-2025-001",
                                      amount=Decimal("2500")).exists()
