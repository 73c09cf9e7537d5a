"""What the web app's account screens read beyond the basic API (issue 17): the list's search
and the ledger's entries, both with the API's tenant isolation."""

from decimal import Decimal

from accounts.services import account_topup
from tests.factories import AccountFactory

LIST = "/api/v1/accounts"


def ledger(account_id, **query):
    return f"/api/v1/accounts/{account_id}/ledger", query


def test_search_by_name_or_id_any_case(api_operator, account_a, account_b):
    AccountFactory(account_id="retail-sur", account_name="Retail del Sur")
    names = lambda text: [  # noqa: E731
        a["account_id"] for a in api_operator.get(LIST, {"search": text}).json()["results"]
    ]
    assert names("cobranzas") == ["acct-a", "acct-b"]
    assert names("ACCT-B") == ["acct-b"]
    assert names("sur") == ["retail-sur"]
    assert names("nada") == []
    assert names("  ") == ["acct-a", "acct-b", "retail-sur"]  # blank: every account, by name


def test_a_search_too_long_is_refused_naming_the_field(api_operator):
    response = api_operator.get("/api/v1/accounts?search=" + "x" * 101)
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def test_a_client_searches_only_its_own_account(api_a, account_a, account_b):
    assert api_a.get(LIST, {"search": "cobranzas"}).json()["count"] == 1
    assert api_a.get(LIST, {"search": "acct-b"}).json()["count"] == 0


def test_ledger_newest_first_paginated(api_operator, api_a, account_a):
    for amount, reference in (("1000", "f-1"), ("250.5", "f-2"), ("75", "f-3")):
        account_topup(account=account_a, credits=Decimal(amount), reference=reference)
    url, query = ledger("acct-a", page_size=2)
    body = api_a.get(url, query).json()
    assert body["count"] == 3 and body["next"]
    assert [(e["reference"], e["amount"], e["balance_after"]) for e in body["results"]] == [
        ("f-3", 75.0, 1325.5),
        ("f-2", 250.5, 1250.5),
    ]
    assert set(body["results"][0]) == {
        "id", "kind", "unit", "amount", "balance_after", "reason", "reference", "created_at"
    }
    assert api_operator.get(url, {"page": 2, "page_size": 2}).json()["results"][0]["reference"] == (
        "f-1"
    )


def test_ledger_of_another_clients_account_is_404(api_a, api_b, anon_api, account_a, account_b):
    assert api_b.get("/api/v1/accounts/acct-a/ledger").status_code == 404
    assert api_a.get("/api/v1/accounts/ghost/ledger").status_code == 404
    assert anon_api.get("/api/v1/accounts/acct-a/ledger").status_code in (401, 403)


def test_schema_documents_search_and_a_paginated_ledger(api_operator):
    schema = api_operator.get("/api/schema/", {"format": "json"}).json()
    params = {p["name"] for p in schema["paths"]["/api/v1/accounts"]["get"]["parameters"]}
    assert {"search", "page", "page_size"} <= params
    op = schema["paths"]["/api/v1/accounts/{account_id}/ledger"]["get"]
    assert {"page", "page_size"} <= {p["name"] for p in op["parameters"]}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/PaginatedLedgerEntryList")
