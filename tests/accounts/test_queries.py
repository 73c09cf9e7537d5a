"""accounts.queries: the written-out balance change and do-not-call lookup do what the ORM
does."""

from decimal import Decimal

import pytest
from django.db.models import F, Q

from accounts.models import Account, DoNotCall
from accounts.queries import account_columns
from accounts.selectors import suppressed_for
from accounts.services import _add_to_balances
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

BALANCES = {"credits": Decimal("1234.5000"), "minutes": Decimal("10.2500"),
            "total_spent": Decimal("3.0000")}


def test_adding_to_balances_writes_what_an_f_expression_writes():
    written, orm = AccountFactory(**BALANCES), AccountFactory(**BALANCES)
    deltas = {"credits": Decimal("-12.3456"), "total_spent": Decimal("12.3456")}
    _add_to_balances(written.pk, deltas)
    Account.objects.filter(pk=orm.pk).update(**{
        name: F(name) + value for name, value in deltas.items()})
    got = Account.objects.filter(pk__in=[written.pk, orm.pk]).order_by("pk").values(*BALANCES)
    assert got[0] == got[1] == {"credits": Decimal("1222.1544"), "minutes": Decimal("10.2500"),
                                "total_spent": Decimal("15.3456")}


def test_account_columns_read_what_the_orm_reads():
    account = AccountFactory(**BALANCES)
    locked = account_columns(("credits", "minutes")).get(account.pk)
    assert locked.get_deferred_fields() == {
        f.attname for f in Account._meta.concrete_fields} - {"id", "credits", "minutes"}
    assert (locked.credits, locked.minutes) == (BALANCES["credits"], BALANCES["minutes"])
    everything = account_columns(()).get(account.pk)
    expected = Account.objects.get(pk=account.pk)
    assert {f.attname: getattr(everything, f.attname) for f in Account._meta.concrete_fields} \
        == {f.attname: getattr(expected, f.attname) for f in Account._meta.concrete_fields}


@pytest.mark.parametrize("rut, phones", [
    ("11111111-1", ["+56911111111", "+56922222222", "+56933333333"]),
    ("", ["+56922222222"]),
    ("22222222-2", []),
    ("", []),
])
def test_do_not_call_lookup_finds_what_the_orm_finds(rut, phones):
    account, other = AccountFactory(), AccountFactory()
    DoNotCall.objects.create(account=account, rut="11111111-1")
    DoNotCall.objects.create(account=account, phone="+56922222222")
    DoNotCall.objects.create(account=account, phone="+56933333333", rut="33333333-3")
    DoNotCall.objects.create(account=other, phone="+56911111111")
    rut_blocked, blocked = suppressed_for(account_id=account.pk, rut=rut, phones=phones)
    listed = DoNotCall.objects.filter(account=account).filter(
        (Q(rut=rut) if rut else Q(pk__in=[])) | Q(phone__in=phones))
    assert rut_blocked == listed.filter(rut=rut).exclude(rut="").exists()
    assert blocked == {phone for phone in listed.values_list("phone", flat=True) if phone}
