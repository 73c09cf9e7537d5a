"""Account services: validation shared with the API and the admin, and the ledger."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from accounts import services
from accounts.models import Account, LedgerEntry
from tests.factories import AccountFactory


def ledger_sum(account, unit):
    total = LedgerEntry.objects.filter(account=account, unit=unit).aggregate(t=Sum("amount"))["t"]
    return total or Decimal("0")


def assert_ledger_explains_balance(account):
    account.refresh_from_db()
    for unit in ("credits", "minutes"):
        assert ledger_sum(account, unit) == getattr(account, unit), unit
        running = Decimal("0")
        for entry in LedgerEntry.objects.filter(account=account, unit=unit).order_by("id"):
            running += entry.amount
            assert entry.balance_after == running >= 0


def create_fields(**overrides):
    fields = {
        "account_name": "Cobranzas Norte",
        "contact_name": "Ana",
        "contact_email": "ana@norte.cl",
        "plan_type": Account.Plan.CREDIT,
    }
    fields.update(overrides)
    return fields


# --- Create and update ------------------------------------------------------------------------


def test_create_generates_a_readable_unique_id(db):
    first = services.account_create(**create_fields())
    second = services.account_create(**create_fields())
    assert first.account_id == "cobranzas-norte"
    assert (
        second.account_id.startswith("cobranzas-norte-") and second.account_id != "cobranzas-norte"
    )


def test_create_records_the_initial_balance(db):
    account = services.account_create(
        account_id="norte",
        initial_credits=Decimal("500"),
        initial_minutes=Decimal("60"),
        **create_fields(),
    )
    assert (account.credits, account.minutes) == (Decimal("500"), Decimal("60"))
    assert set(LedgerEntry.objects.values_list("kind", "unit", "reference")) == {
        ("topup", "credits", "initial"),
        ("topup", "minutes", "initial"),
    }
    assert_ledger_explains_balance(account)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_concurrent_calls": 0}, "max_concurrent_calls"),
        ({"max_concurrent_calls": 51}, "max_concurrent_calls"),
        ({"timezone": "America/Springfield"}, "timezone"),
        ({"compliance_profile": "EU"}, "compliance_profile"),
        ({"cost_per_minute": Decimal("-1")}, "cost_per_minute"),
        ({"cost_per_call_setup": Decimal("-0.5")}, "cost_per_call_setup"),
        ({"contact_email": "nope"}, "contact_email"),
        ({"plan_type": "gold"}, "plan_type"),
    ],
)
def test_create_and_update_share_the_model_rules(db, overrides, field):
    with pytest.raises(ValidationError) as exc:
        services.account_create(**create_fields(**overrides))
    assert field in exc.value.message_dict
    assert not Account.objects.exists()

    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        services.account_update(account=account, **overrides)
    assert field in exc.value.message_dict


def test_update_saves_only_the_given_fields(db):
    account = AccountFactory(max_concurrent_calls=5)
    services.account_topup(account=account, credits=Decimal("10"))
    stale = Account.objects.get(pk=account.pk)
    stale.credits = Decimal("0")  # a stale balance must never be written back
    services.account_update(account=stale, max_concurrent_calls=50, timezone="Europe/Madrid")
    account.refresh_from_db()
    assert (account.max_concurrent_calls, account.timezone) == (50, "Europe/Madrid")
    assert account.credits == Decimal("10")


# --- Top-up -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credits", "minutes", "fields"),
    [
        (None, None, {"credits", "minutes"}),
        ("", "", {"credits", "minutes"}),
        (Decimal("0"), None, {"credits"}),
        (Decimal("-5"), None, {"credits"}),
        (None, Decimal("-0.0001"), {"minutes"}),
        (Decimal("0.00001"), None, {"credits"}),
        ("abc", None, {"credits"}),
        (Decimal("NaN"), None, {"credits"}),
        (Decimal("Infinity"), None, {"credits"}),
    ],
)
def test_topup_rules(db, credits, minutes, fields):
    account = AccountFactory()
    with pytest.raises(ValidationError) as exc:
        services.account_topup(account=account, credits=credits, minutes=minutes)
    assert set(exc.value.message_dict) == fields
    assert not LedgerEntry.objects.exists()


def test_topup_updates_the_callers_instance(db):
    account = AccountFactory()
    entries = services.account_topup(
        account=account, credits=Decimal("12.3456"), minutes=Decimal("1"), reference="r"
    )
    assert [e.unit for e in entries] == ["credits", "minutes"]
    assert (account.credits, account.minutes) == (Decimal("12.3456"), Decimal("1"))


# --- The ledger -------------------------------------------------------------------------------


def test_balance_equals_the_ledger_after_every_kind_of_change(db, operator):
    account = AccountFactory(cost_per_call_setup=Decimal("5"), cost_per_minute=Decimal("50"))
    services.account_topup(account=account, credits=Decimal("1000"), reference="f-1")
    hold = services.hold_for_call(account=account, max_call_duration=600)
    assert hold == services.Hold(unit="credits", amount=Decimal("505"))

    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        services.account_reserve(account=locked, hold=hold, reference="call-1")
    account.refresh_from_db()
    assert account.credits == Decimal("495")

    cost = services.call_cost(account=account, seconds=90, answered=True)
    assert cost == Decimal("80")
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        services.account_settle(
            account=locked, hold=hold, cost=cost, seconds=90, reference="call-1"
        )
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        services.account_reserve(account=locked, hold=hold, reference="call-2")
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        services.account_release(account=locked, hold=hold, reference="call-2")
    services.account_adjust(
        account=account, unit="credits", amount=Decimal("-20"), reason="goodwill", user=operator
    )
    services.account_topup(account=account, minutes=Decimal("30"))

    account.refresh_from_db()
    assert account.credits == Decimal("1000") - Decimal("80") - Decimal("20")
    assert account.minutes == Decimal("30")
    assert account.total_spent == Decimal("80")
    kinds = list(LedgerEntry.objects.filter(account=account).order_by("id").values_list("kind"))
    assert [k for (k,) in kinds] == [
        "topup",
        "reservation",
        "refund",
        "settlement",
        "reservation",
        "refund",
        "adjustment",
        "topup",
    ]
    assert_ledger_explains_balance(account)


def test_reservation_beyond_the_balance_is_refused(db):
    account = AccountFactory()
    services.account_topup(account=account, credits=Decimal("10"))
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        with pytest.raises(services.InsufficientBalance):
            services.account_reserve(
                account=locked,
                hold=services.Hold(unit="credits", amount=Decimal("10.0001")),
                reference="too-much",
            )
    account.refresh_from_db()
    assert account.credits == Decimal("10")
    assert LedgerEntry.objects.filter(kind="reservation").count() == 0


def test_adjustment_below_zero_is_refused(db):
    account = AccountFactory()
    services.account_topup(account=account, minutes=Decimal("5"))
    with pytest.raises(services.InsufficientBalance):
        services.account_adjust(account=account, unit="minutes", amount=-6, reason="x")
    assert_ledger_explains_balance(account)


def test_unlimited_plans_hold_nothing(db):
    account = AccountFactory(plan_type=Account.Plan.UNLIMITED)
    assert services.hold_for_call(account=account, max_call_duration=600) == services.NO_HOLD
    services.account_reserve(account=account, hold=services.NO_HOLD, reference="c")
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("field", ["credits", "minutes"])
def test_the_database_refuses_a_negative_balance(db, field):
    account = AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(**{field: Decimal("-0.0001")})


def test_the_database_refuses_limits_out_of_range(db):
    account = AccountFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(max_concurrent_calls=51)


# --- Concurrency ------------------------------------------------------------------------------

THREADS = 8
ROUNDS = 8
TOPUP = Decimal("10")
HOLD = services.Hold(unit="credits", amount=Decimal("15"))
COST = Decimal("7")


@pytest.mark.django_db(transaction=True)
def test_concurrent_topups_and_charges_lose_no_update():
    """Half the threads top up, half reserve and settle calls, all on one account at once.

    Each change runs in its own transaction holding the row lock, like the call engine. Some
    reservations may find the balance short: they are refused, never taken below zero.
    """
    account = AccountFactory(credits=Decimal("0"))
    services.account_topup(account=account, credits=Decimal("50"), reference="start")
    barrier = threading.Barrier(THREADS)
    settled, refused, errors = [], [], []
    lock = threading.Lock()

    def topups():
        for n in range(ROUNDS):
            services.account_topup(account=account, credits=TOPUP, reference=f"t{n}")

    def charges(worker):
        for n in range(ROUNDS):
            reference = f"call-{worker}-{n}"
            try:
                with transaction.atomic():
                    locked = Account.objects.select_for_update().get(pk=account.pk)
                    services.account_reserve(account=locked, hold=HOLD, reference=reference)
            except services.InsufficientBalance:
                with lock:
                    refused.append(reference)
                continue
            with transaction.atomic():
                locked = Account.objects.select_for_update().get(pk=account.pk)
                services.account_settle(
                    account=locked, hold=HOLD, cost=COST, seconds=60, reference=reference
                )
            with lock:
                settled.append(reference)

    def run(worker):
        try:
            barrier.wait(timeout=10)
            if worker % 2:
                charges(worker)
            else:
                topups()
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(settled) + len(refused) == THREADS // 2 * ROUNDS
    assert settled

    account.refresh_from_db()
    topped_up = Decimal("50") + TOPUP * ROUNDS * (THREADS // 2)
    assert account.credits == topped_up - COST * len(settled)
    assert account.total_spent == COST * len(settled)
    assert LedgerEntry.objects.filter(kind="settlement").count() == len(settled)
    assert LedgerEntry.objects.filter(kind="reservation").count() == len(settled)
    assert not LedgerEntry.objects.filter(balance_after__lt=0).exists()
    assert_ledger_explains_balance(account)


@pytest.mark.django_db
@pytest.mark.parametrize("plan, hold, cost, seconds", [
    ("credit_based", services.Hold(unit="credits", amount=Decimal("505.0000")), Decimal("80"), 90),
    ("credit_based", services.Hold(unit="credits", amount=Decimal("5.5000")), Decimal("80"), 90),
    ("credit_based", services.Hold(unit="credits", amount=Decimal("505.0000")), Decimal("0"), 0),
    ("minutes_based", services.Hold(unit="minutes", amount=Decimal("10.0000")), Decimal("5"), 61),
    ("unlimited", services.NO_HOLD, Decimal("12.3456"), 30),
    ("unlimited", services.NO_HOLD, Decimal("0"), 0),
])
def test_a_settle_in_one_statement_moves_and_records_what_a_locked_settle_does(
        plan, hold, cost, seconds):
    """account_settle_call (the engine's settle, the UPDATE taking the row lock itself) and
    account_settle on a locked account: the same balances, the same ledger entries."""
    results = []
    for one_statement in (False, True):
        account = AccountFactory(plan_type=plan, credits=Decimal("1000.1234"),
                                 minutes=Decimal("30"), total_spent=Decimal("7"))
        LedgerEntry.objects.filter(account=account).delete()
        with transaction.atomic():
            if one_statement:
                services.account_settle_call(account_pk=account.pk, hold=hold, cost=cost,
                                             seconds=seconds, reference="call-1")
            else:
                locked = Account.objects.select_for_update().get(pk=account.pk)
                services.account_settle(account=locked, hold=hold, cost=cost, seconds=seconds,
                                        reference="call-1")
        account.refresh_from_db()
        entries = list(LedgerEntry.objects.filter(account=account).order_by("id").values_list(
            "kind", "unit", "amount", "balance_after", "reason", "reference"))
        results.append(((account.credits, account.minutes, account.total_spent), entries))
    assert results[0] == results[1]


@pytest.mark.django_db
def test_a_settle_in_one_statement_of_an_unknown_account_fails():
    with pytest.raises(Account.DoesNotExist), transaction.atomic():
        services.account_settle_call(account_pk=10**9, hold=services.NO_HOLD,
                                     cost=Decimal("1"), seconds=0, reference="x")
