"""The key-account API operations never answer with a server error, whatever the input (schemathesis)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.slow  # the whole API is also fuzzed by tests/web in the fast suite

MINE = ("/api/v1/groups", "/api/v1/sla-orders", "/api/v1/return-visits", "/api/v1/opportunities",
        "/api/v1/one-stop", "/api/v1/points")


def test_key_account_api_answers_without_server_errors(ent_app, ent_services, ent_people) -> None:  # type: ignore[no-untyped-def]
    _, token = ent_services.auth.create_token(None, ent_people["admin"], "schemathesis")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", ent_app)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [op.ok() for op in schema.get_all_operations() if op.ok().path.startswith(MINE)]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
