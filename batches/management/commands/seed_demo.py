"""Demo data for the embedded run: an operator, a client account with a user and token, and a
running campaign of 25 debtors against the Retell simulator. Idempotent, except the client's
API token: stored hashed, it cannot be shown again, so each run issues a new one (and revokes
the earlier)."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Account
from accounts.services import account_create, api_token_create
from batches.debtors.rut import rut_check_digit
from batches.models import Batch
from batches.services import batch_create

NAMES = [
    "María González", "José Muñoz", "Ana Rojas", "Juan Díaz", "Carmen Pérez", "Luis Soto",
    "Rosa Contreras", "Pedro Silva", "Isabel Martínez", "Jorge Sepúlveda", "Patricia Morales",
    "Carlos Rodríguez", "Claudia López", "Manuel Fuentes", "Verónica Hernández",
    "Francisco Torres", "Marcela Araya", "Ricardo Flores", "Paola Espinoza", "Sergio Valenzuela",
    "Andrea Castillo", "Héctor Tapia", "Daniela Reyes", "Cristián Gutiérrez", "Lorena Castro",
]


def _rut(number: int) -> str:
    return f"{number}-{rut_check_digit(str(number))}"


class Command(BaseCommand):
    help = "Create the demo operator, client account, token and a running demo campaign."

    def add_arguments(self, parser):
        parser.add_argument("--password", default="operador-demo-2025")

    @transaction.atomic
    def handle(self, *args, password, **options):
        users = get_user_model()
        operator, created = users.objects.get_or_create(
            username="operador", defaults={"is_staff": True, "is_superuser": True})
        if created:
            operator.set_password(password)
            operator.save()
        account = Account.objects.filter(account_id="demo").first()
        if account is None:
            account = account_create(
                account_id="demo", account_name="Cobranzas Demo SpA", contact_name="Ana Pérez",
                contact_email="ana@demo.cl", plan_type=Account.Plan.CREDIT,
                max_concurrent_calls=5, compliance_profile="none",
                initial_credits=Decimal("50000"), user=operator)
        client, created = users.objects.get_or_create(username="cliente-demo",
                                                      defaults={"account": account})
        if created:
            client.set_password(password)
            client.save()
        token = api_token_create(user=client, revoke_others=True)
        if not Batch.objects.filter(account=account).exists():
            contacts = [
                {"name": name, "rut": _rut(15_000_000 + n * 7919),
                 "phones": [f"+5699{n:07d}", f"+5698{n:07d}"], "email": None,
                 "debt_amount": str(50_000 + n * 12_500), "due_date": "2025-10-31",
                 "installments": n % 6 + 1, "company_name": "Retail Demo SpA",
                 "custom_fields": {"Sucursal": "Santiago Centro"}}
                for n, name in enumerate(NAMES, start=1)
            ]
            batch_create(account=account, user=operator, name="Campaña demo noviembre",
                         contacts=contacts, call_settings={"max_attempts": 3,
                                                           "retry_delay_hours": "0.02"})
        self.stdout.write(f"Demo ready: operator 'operador', client 'cliente-demo' "
                          f"(account 'demo'), client API token: {token}")
