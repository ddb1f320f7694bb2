"""Property-based contract run: schemathesis generates valid and invalid requests for every
operation in the live app's spec and checks that none gets a 500, that every status code and
content type is documented, that every response matches its schema, and that invalid requests
are refused.

It is driven through schemathesis' Python API and hypothesis directly, because its pytest
plugin does not support pytest 9 yet. `make test` draws the same examples on every run; `make
explore` draws fresh ones from a printed seed, and more (TESSERA_CONTRACT_EXAMPLES, default 40
per operation).
"""

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.contract.conftest import LIVE_ADMIN_KEY

EXAMPLES_PER_OPERATION = int(os.environ.get("TESSERA_CONTRACT_EXAMPLES", "40"))
SHAPE_ERRORS = frozenset({"validation_error", "malformed_json"})


def schema_valid_requests_pass_shape_validation(ctx: Any, response: Any, case: Case[Any]) -> None:
    """A request the spec calls valid may still be refused for a documented business rule (say
    `invalid_campaign`: an amount with no currency), but never for its shape: that would mean
    the spec and the app disagree."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    if _has_integral_float(case.body):
        # JSON Schema counts 1318.0 as an integer; Tessera takes integers only as written
        # without a fraction (the README says so), which a schema cannot express.
        return
    if response.status_code in (400, 422):
        code = response.json().get("code")
        assert code not in SHAPE_ERRORS, f"schema-valid request refused as {code}: {response.text}"


def _has_integral_float(value: object) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_integral_float(v) for v in value)
    return False


class TestLiveContract:
    def test_every_operation_honours_its_contract(self, live_server: str) -> None:
        schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
        headers = {"Authorization": f"Bearer {LIVE_ADMIN_KEY}"}
        failures: dict[str, str] = {}
        operations = 0
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                failures[f"schema error {operations}"] = str(result.err())
                continue
            operation = result.ok()
            operations += 1
            strategy = st.one_of(
                operation.as_strategy(GenerationMode.POSITIVE),
                operation.as_strategy(GenerationMode.NEGATIVE),
            )

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                # As the loaded profile says (tests/conftest.py): derandomized, unless `make
                # explore` asked for fresh examples from its --hypothesis-seed.
                derandomize=settings().derandomize,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Case[Any]) -> None:
                # A query parameter with an empty name never leaves the HTTP client (it drops
                # it), so such a "negative" case arrives as a valid request: not a test of us.
                assume(not case.query or "" not in case.query)
                case.call_and_validate(
                    base_url=live_server,
                    headers=headers,
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[schema_valid_requests_pass_shape_validation],
                )

            try:
                check()
            except BaseException as exc:  # schemathesis raises a group of failures
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures[operation.label] = str(exc)[:2000]
        assert operations >= 13
        assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
