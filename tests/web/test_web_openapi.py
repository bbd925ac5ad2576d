"""Property-based checks of the JSON API from its OpenAPI document: no input makes it fail with a 5xx.

Each operation's cases come from schemathesis' strategy for it and are run by
Hypothesis directly (bounded to 20 examples per operation).
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


@pytest.fixture(scope="module")
def admin_token(services) -> str:  # type: ignore[no-untyped-def]
    services.users.add(None, "schema_admin", "administrator", password="schema-admin-pass")
    _, token = services.auth.create_token(None, "schema_admin", "schemathesis")
    return token


def test_api_answers_without_server_errors(app, admin_token) -> None:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {admin_token}"}
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        # Revoking tokens would revoke the one this test runs with.
        if operation.method.upper() == "DELETE" and operation.path.startswith("/api/v1/tokens"):
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()


def test_openapi_document_lists_the_operations(app) -> None:  # type: ignore[no-untyped-def]
    doc = TestClient(app).get("/api/v1/openapi.json").json()
    paths = set(doc["paths"])
    assert {"/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/dashboard", "/api/v1/users",
            "/api/v1/tokens", "/api/v1/audit", "/api/v1/rules", "/api/v1/rules/{rule_id}"} <= paths
    assert not any(p.startswith(("/customers", "/login")) for p in paths)
