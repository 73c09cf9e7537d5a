"""factory_boy factories shared by every app's tests."""

import itertools
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import Account, User
from batches.debtors.rut import rut_check_digit
from batches.models import Batch, Job

_ruts = itertools.count(10_000_000)


def rut_with_dv(number: int) -> str:
    """A valid Chilean RUT for ``number``."""
    return f"{number}-{rut_check_digit(str(number))}"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    account_id = factory.Sequence(lambda n: f"acct-{n}")
    account_name = factory.Sequence(lambda n: f"Cobranzas {n}")
    contact_name = "Ana Pérez"
    contact_email = factory.Sequence(lambda n: f"ops{n}@example.cl")
    plan_type = Account.Plan.CREDIT
    credits = Decimal("0")
    compliance_profile = "none"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.cl")
    password = factory.django.Password("pass-12345")


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    account = factory.SubFactory(AccountFactory)
    batch_id = factory.Sequence(lambda n: f"batch-test-{n}")
    name = factory.Sequence(lambda n: f"Campaña {n}")
    status = Batch.Status.RUNNING
    call_settings = factory.LazyFunction(
        lambda: {
            "max_call_duration": 600,
            "ring_timeout": 60,
            "max_attempts": 3,
            "retry_delay_hours": "30",
            "allowed_hours": None,
            "days_of_week": None,
            "timezone": "America/Santiago",
            "priority": "normal",
        }
    )


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    batch = factory.SubFactory(BatchFactory)
    account = factory.SelfAttribute("batch.account")
    rut = factory.LazyFunction(lambda: rut_with_dv(next(_ruts)))
    deduplication_key = factory.LazyAttribute(
        lambda j: f"{j.account.account_id}::{j.rut}::{j.batch.batch_id}"
    )
    next_try_at = factory.LazyFunction(timezone.now)
    contact = factory.LazyAttribute(
        lambda j: {"name": "Juan Soto", "rut": j.rut, "phones": ["+56912345671"],
                   "email": None, "next_phone_index": 0}
    )
    payload = factory.LazyFunction(
        lambda: {"debt_amount": "150000.00", "due_date": "2025-03-01",
                 "company_name": "Retail SpA", "additional_info": {}}
    )
