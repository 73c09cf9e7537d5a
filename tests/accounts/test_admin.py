"""The operators' admin: pages render, the actions go through the services, rules hold."""

from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts import services
from accounts.models import Account, DoNotCall, LedgerEntry
from tests.factories import UserFactory

CHANGELIST = "admin:accounts_account_changelist"


def login(client, user):
    # UserFactory sets the password after saving and does not save it again; a session's auth
    # hash comes from the password, so persist it or the session is dropped on the next request.
    user.save(update_fields=["password"])
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(client, operator):
    return login(client, operator)


def change_url(account):
    return reverse("admin:accounts_account_change", args=[account.pk])


def form_data(response):
    """The POST data of an admin change form as rendered, inline management forms included."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        value = value() if callable(value) else value
        data[name] = "" if value is None else value
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = management.initial.get(name, "")
        for sub in formset.initial_forms:
            for name, field in sub.fields.items():
                value = sub.initial.get(name, field.initial)
                if name == "id":
                    value = sub.instance.pk
                elif name == formset.fk.name:
                    value = formset.instance.pk
                data[sub.add_prefix(name)] = "" if value is None else value
    return data


# --- Pages ------------------------------------------------------------------------------------


def test_pages_render_for_an_operator(admin_client, account_a, account_b, client_a):
    services.account_topup(account=account_a, credits=Decimal("100"), reference="f-1")
    DoNotCall.objects.create(account=account_a, phone="+56912345678", reason="asked")
    entry = LedgerEntry.objects.get()
    urls = [
        reverse(CHANGELIST),
        reverse(CHANGELIST) + "?q=acct-a",
        reverse(CHANGELIST) + "?status__exact=active&plan_type__exact=credit_based",
        reverse(CHANGELIST) + "?compliance_profile__exact=none",
        change_url(account_a),
        reverse("admin:accounts_account_add"),
        reverse("admin:accounts_ledgerentry_changelist"),
        reverse("admin:accounts_ledgerentry_changelist") + f"?account__id__exact={account_a.pk}",
        reverse("admin:accounts_ledgerentry_change", args=[entry.pk]),
        reverse("admin:accounts_donotcall_changelist"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[client_a.pk]),
        reverse("admin:accounts_user_add"),
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_changelist_columns(admin_client, account_a):
    response = admin_client.get(reverse(CHANGELIST))
    columns = response.context["cl"].list_display
    assert columns[1:] == [
        "account_id",
        "account_name",
        "plan_type",
        "status",
        "credits",
        "minutes",
        "max_concurrent_calls",
        "compliance_profile",
    ]


def test_change_page_shows_the_ledger_read_only(admin_client, account_a):
    services.account_topup(account=account_a, credits=Decimal("100"), reference="factura-9")
    response = admin_client.get(change_url(account_a))
    assert b"factura-9" in response.content
    ledger, dnc = response.context["inline_admin_formsets"]
    assert ledger.formset.model is LedgerEntry
    assert not (ledger.has_add_permission or ledger.has_change_permission)
    assert not ledger.has_delete_permission
    assert dnc.has_add_permission and dnc.has_change_permission
    form = response.context["adminform"].form
    assert not {"credits", "minutes", "total_spent", "status", "account_id"} & set(form.fields)


def test_ledger_cannot_be_added_changed_or_deleted(admin_client, account_a):
    services.account_topup(account=account_a, credits=Decimal("5"))
    entry = LedgerEntry.objects.get()
    assert admin_client.get(reverse("admin:accounts_ledgerentry_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:accounts_ledgerentry_change", args=[entry.pk]), {"amount": "999"}
    )
    assert response.status_code == 403
    delete = reverse("admin:accounts_ledgerentry_delete", args=[entry.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.amount == Decimal("5")


def test_client_user_cannot_open_the_admin(client, client_a, account_a):
    login(client, client_a)
    for url in (reverse("admin:index"), reverse(CHANGELIST), change_url(account_a)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


# --- Editing ----------------------------------------------------------------------------------


def test_operator_edits_plan_and_limits(admin_client, account_a):
    services.account_topup(account=account_a, credits=Decimal("100"))
    data = form_data(admin_client.get(change_url(account_a)))
    data.update(
        max_concurrent_calls="12",
        plan_type="minutes_based",
        timezone="America/Lima",
        cost_per_minute="42",
        credits="999999",  # read-only: ignored
        status="suspended",  # read-only: ignored
    )
    response = admin_client.post(change_url(account_a), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account_a.refresh_from_db()
    assert account_a.max_concurrent_calls == 12
    assert (account_a.plan_type, account_a.timezone) == ("minutes_based", "America/Lima")
    assert account_a.cost_per_minute == Decimal("42")
    assert account_a.credits == Decimal("100")
    assert account_a.status == "active"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_concurrent_calls", "51"),
        ("max_concurrent_calls", "0"),
        ("timezone", "Mars/Olympus"),
        ("cost_per_call_setup", "-1"),
        ("compliance_profile", "EU"),
        ("contact_email", "not-an-email"),
    ],
)
def test_edit_applies_the_api_rules(admin_client, account_a, field, value):
    data = form_data(admin_client.get(change_url(account_a)))
    data[field] = value
    response = admin_client.post(change_url(account_a), data)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    before = Account.objects.get(pk=account_a.pk)
    assert before.updated_at == account_a.updated_at


def test_operator_adds_an_account_with_an_initial_balance(admin_client, operator):
    data = form_data(admin_client.get(reverse("admin:accounts_account_add")))
    data.update(
        account_id="",
        account_name="Cobranzas Austral",
        contact_name="Pedro",
        contact_email="pedro@austral.cl",
        plan_type="credit_based",
        initial_credits="250",
    )
    response = admin_client.post(reverse("admin:accounts_account_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = Account.objects.get(account_id="cobranzas-austral")
    assert account.credits == Decimal("250")
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.reference, entry.created_by) == ("topup", "initial", operator)


def test_the_do_not_call_inline_is_editable(admin_client, account_a):
    data = form_data(admin_client.get(change_url(account_a)))
    data.update(
        {
            "do_not_call-TOTAL_FORMS": "1",
            "do_not_call-0-phone": "+56987654321",
            "do_not_call-0-rut": "",
            "do_not_call-0-reason": "pidió no ser llamado",
        }
    )
    response = admin_client.post(change_url(account_a), data)
    assert response.status_code == 302
    assert DoNotCall.objects.get(account=account_a).phone == "+56987654321"


# --- Actions ----------------------------------------------------------------------------------


def action(admin_client, name, accounts, **extra):
    data = {"action": name, ACTION_CHECKBOX_NAME: [a.pk for a in accounts], **extra}
    return admin_client.post(reverse(CHANGELIST), data)


def test_suspend_and_reactivate_actions(admin_client, account_a, account_b):
    response = action(admin_client, "suspend", [account_a, account_b])
    assert response.status_code == 302
    assert set(Account.objects.values_list("status", flat=True)) == {"suspended"}
    action(admin_client, "reactivate", [account_a])
    account_a.refresh_from_db()
    account_b.refresh_from_db()
    assert (account_a.status, account_b.status) == ("active", "suspended")


def test_topup_action_asks_then_writes_the_ledger(admin_client, operator, account_a, account_b):
    page = action(admin_client, "topup", [account_a, account_b])
    assert page.status_code == 200
    assert b'name="credits"' in page.content and b'name="reference"' in page.content
    assert not LedgerEntry.objects.exists()

    done = action(
        admin_client,
        "topup",
        [account_a, account_b],
        apply="1",
        credits="300",
        minutes="",
        reference="transfer 55",
    )
    assert done.status_code == 302
    for account in (account_a, account_b):
        account.refresh_from_db()
        assert account.credits == Decimal("300")
        entry = LedgerEntry.objects.get(account=account)
        assert (entry.kind, entry.unit, entry.amount) == ("topup", "credits", Decimal("300"))
        assert (entry.reference, entry.created_by) == ("transfer 55", operator)


@pytest.mark.parametrize(
    ("credits", "minutes", "field"),
    [("-10", "", "credits"), ("0", "", "credits"), ("", "", "minutes"), ("1.00001", "", "credits")],
)
def test_topup_action_validates(admin_client, account_a, credits, minutes, field):
    response = action(
        admin_client, "topup", [account_a], apply="1", credits=credits, minutes=minutes
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not LedgerEntry.objects.exists()


def test_actions_need_the_change_permission(client, account_a):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_account"))
    login(client, viewer)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    action(client, "topup", [account_a], apply="1", credits="10")
    action(client, "suspend", [account_a])
    account_a.refresh_from_db()
    assert account_a.status == "active"
    assert not LedgerEntry.objects.exists()


def staff_with(client, *codenames):
    user = UserFactory(username="cajero", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return login(client, user)


def test_topups_and_the_compliance_profile_need_their_own_permissions(client, account_a):
    """Changing an account is not topping it up nor choosing its legal rules (issue 13)."""
    Account.objects.filter(pk=account_a.pk).update(compliance_profile="CL")
    staff_with(client, "view_account", "change_account", "add_account")
    action(client, "topup", [account_a], apply="1", credits="1000000")
    assert not LedgerEntry.objects.exists()
    page = client.get(change_url(account_a))
    assert "compliance_profile" not in page.context["adminform"].form.fields
    data = form_data(page)
    data.update(compliance_profile="none", max_concurrent_calls="7")
    assert client.post(change_url(account_a), data).status_code == 302
    account_a.refresh_from_db()
    assert (account_a.compliance_profile, account_a.max_concurrent_calls) == ("CL", 7)

    add = reverse("admin:accounts_account_add")
    data = form_data(client.get(add))
    assert "initial_credits" not in data
    data.update(account_id="", account_name="Austral", contact_name="Pedro",
                contact_email="pedro@austral.cl", plan_type="credit_based",
                initial_credits="1000000", compliance_profile="none")
    assert client.post(add, data).status_code == 302
    created = Account.objects.get(account_id="austral")
    assert (created.credits, created.compliance_profile) == (Decimal("0"), "CL")
    assert not LedgerEntry.objects.exists()


def test_the_topup_permission_allows_the_topup_action(client, account_a):
    staff_with(client, "view_account", "topup_account")
    action(client, "topup", [account_a], apply="1", credits="10")
    account_a.refresh_from_db()
    assert account_a.credits == Decimal("10")
