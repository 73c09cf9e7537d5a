"""schemathesis against the project's own OpenAPI schema (/api/schema/), authenticated as an
operator, through the WSGI application: no 5xx, and every response (status code, content type,
body) is what the schema documents.

Bounded and repeatable: a fixed number of examples per operation, derandomized Hypothesis, no
example database, and an overall time budget. Each operation with a path parameter is run
twice: with generated ids (the 404 paths) and with the id of a real account or campaign (the
validation paths behind them).
"""

from __future__ import annotations

import time
from collections import Counter
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from batches.models import Batch
from tests.factories import AccountFactory, BatchFactory, JobFactory, UserFactory

pytestmark = [pytest.mark.reliability, pytest.mark.django_db(transaction=True)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Invalid data (negative mode): refused with a 4xx, never a 5xx.
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]
EXAMPLES = 12
NEGATIVE_EXAMPLES = 6
REAL_ID_EXAMPLES = 8
TIME_BUDGET_SECONDS = 100


# Deviations found by this test and reported (docs/reliability.md, "Findings"), tolerated here
# by name so that anything new fails the build: none left.
def known_deviation(response, case) -> str | None:
    return None


deviations: Counter = Counter()


def run_operation(operation, *, headers: dict, examples: int, failures: list,
                  mode: GenerationMode = GenerationMode.POSITIVE, **fixed) -> int:
    calls = 0
    checks = CHECKS if mode == GenerationMode.POSITIVE else NEGATIVE_CHECKS

    @hypothesis_settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(mode, **fixed))
    def check(case):
        nonlocal calls
        calls += 1
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, FailureGroup) as exc:
            known = known_deviation(response, case)
            if known:
                deviations[known] += 1
                return
            failures.append(f"{operation.label} {response.status_code}: "
                            f"{' '.join(str(exc).split())[:300]} -- {case.formatted_path} "
                            f"{case.query} body={str(case.body)[:1500]}")
        # Anything Batch.objects could not store would have been a 5xx above; a fuzzed PATCH
        # may pause or cancel the real campaign, which is fine.

    try:
        check()
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters)
        assert mode == GenerationMode.NEGATIVE
    return calls


def test_api_conforms_to_its_schema_under_fuzzing():
    from callcenter.wsgi import application

    operator = UserFactory(is_staff=True, is_superuser=True)
    headers = {"Authorization": f"Token {account_services.api_token_create(user=operator)}"}
    account = AccountFactory(account_id="fuzz-account")
    account_services.account_topup(account=account, credits=Decimal("1000"), reference="t")
    batch = BatchFactory(account=account, batch_id="fuzz-batch")
    JobFactory(batch=batch)
    real_ids = {"account_id": account.account_id, "batch_id": batch.batch_id}

    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application,
                                            headers=headers)
    failures: list[str] = []
    operations = calls = 0
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        calls += run_operation(operation, headers=headers, examples=EXAMPLES, failures=failures)
        if len(operation.body):  # invalid bodies: wrong types, missing fields, extra ones
            calls += run_operation(operation, headers=headers, examples=NEGATIVE_EXAMPLES,
                                   failures=failures, mode=GenerationMode.NEGATIVE)
        names = {p.name for p in operation.path_parameters}
        if names & set(real_ids):
            fixed = {"path_parameters": {k: v for k, v in real_ids.items() if k in names}}
            calls += run_operation(operation, headers=headers, examples=REAL_ID_EXAMPLES,
                                   failures=failures, **fixed)
        assert time.monotonic() - started < TIME_BUDGET_SECONDS, "over the time budget"
    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {operations} operations, {calls} requests in {elapsed:.1f} s, "
          f"{len(failures)} failures, known deviations {dict(deviations)}")
    assert operations >= 15
    assert not failures, "\n".join(failures[:20])
    assert Batch.objects.filter(batch_id="fuzz-batch").exists()
