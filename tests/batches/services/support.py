"""Helpers of the batches services tests: debtors and a batch made from them."""

from pathlib import Path

from batches import services
from tests.factories import rut_with_dv

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"


def debtor(n: int, **extra) -> dict:
    rut = rut_with_dv(30_000_000 + n)
    return {
        "row": n + 2,
        "name": f"Deudor {n}",
        "rut": rut,
        "phones": [f"+5698765{n:04d}"],
        "email": None,
        "debt_amount": "1000.00",
        "due_date": "2025-05-01",
        "installments": None,
        "company_name": "Retail",
        "custom_fields": {},
        **extra,
    }


def make(account, user=None, contacts=None, name="Campaña", **options):
    return services.batch_create(
        account=account,
        user=user,
        name=name,
        contacts=contacts if contacts is not None else [debtor(1), debtor(2)],
        **options,
    )
