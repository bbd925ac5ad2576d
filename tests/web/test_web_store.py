"""The operational store on SQLite and PostgreSQL: migrations, repositories, unit of work, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from tenure.domain.errors import Conflict, InputError
from tenure.engines.store.database import current_heads, script_heads
from tenure.services import audit
from tenure.services.auth import AuthService, password_hasher
from tenure.services.users import UserService

from .web_builders import unique


def _users(store) -> UserService:  # type: ignore[no-untyped-def]
    return UserService(store, AuthService(store, hasher=password_hasher(fast=True)))


def test_migrations_create_every_table(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    tables = set(inspect(sqlite_engine).get_table_names())
    assert {"users", "api_tokens", "portfolio_assignments", "region_assignments", "audit_log",
            "rule_versions", "alembic_version"} <= tables
    assert script_heads() and current_heads(sqlite_engine) == script_heads()


@pytest.mark.postgres
def test_migrations_on_postgres(postgres_engine) -> None:  # type: ignore[no-untyped-def]
    assert current_heads(postgres_engine) == script_heads()


def test_user_is_stored_with_audit_entry(store) -> None:  # type: ignore[no-untyped-def]
    users = _users(store)
    name = unique("u")
    users.add(None, name, "analyst", password="a-long-password")
    with store() as uow:
        user = uow.users.by_name(name)
        assert user is not None and user.role == "analyst" and user.password_hash.startswith("$argon2")
        entries = uow.audit.list(object_type="user", object_id=name)
        assert [e.action for e in entries] == ["user.create"]
        assert entries[0].before is None and entries[0].after["role"] == "analyst"


def test_leaving_a_unit_of_work_without_commit_rolls_back(store) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from tenure.engines.store.models import User

    name = unique("u")
    with store() as uow:
        uow.users.add(User(name=name, display_name=name, role="viewer", locale="en", active=True,
                           failed_logins=0, created_at=datetime.now(UTC)))
        audit.record(uow, "tester", "user.create", "user", name, None, {"name": name})
    with store() as uow:
        assert uow.users.by_name(name) is None
        assert not uow.audit.list(object_id=name)


def test_duplicate_user_is_a_conflict(store) -> None:  # type: ignore[no-untyped-def]
    users = _users(store)
    name = unique("u")
    users.add(None, name, "viewer")
    with pytest.raises(Conflict):
        users.add(None, name, "viewer")


def test_unknown_role_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError):
        _users(store).add(None, unique("u"), "superuser")


def test_assignments_record_before_and_after(store) -> None:  # type: ignore[no-untyped-def]
    users = _users(store)
    name = unique("am")
    users.add(None, name, "account_manager")
    users.assign(None, name, customers=["C1", "C2"])
    view = users.assign(None, name, customers=["C1"], remove=True)
    assert view.customers == ("C2",)
    with store() as uow:
        removal = uow.audit.list(object_id=name)[0]
        assert removal.action == "assignment.remove"
        assert removal.before["customers"] == ["C1", "C2"] and removal.after["customers"] == ["C2"]


def test_last_administrator_cannot_be_demoted(store) -> None:  # type: ignore[no-untyped-def]
    users = _users(store)
    with store() as uow:
        admins = [u for u in uow.users.list() if u.role == "administrator" and u.active]
    name = unique("adm")
    users.add(None, name, "administrator")
    if not admins:
        with pytest.raises(Conflict):
            users.update(None, name, role="viewer")
    other = unique("adm")
    users.add(None, other, "administrator")
    assert users.update(None, name, role="viewer").role == "viewer"


def test_rule_versions_are_numbered_per_rule(store) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from tenure.engines.store.models import RuleVersion

    rule = unique("rule_")
    with store() as uow:
        for v in (1, 2, 3):
            uow.rule_versions.add(RuleVersion(rule_id=rule, version=v, expression=f"arpu > {v}", changed_by="a",
                                              changed_at=datetime.now(UTC), comment=""))
        uow.commit()
    with store() as uow:
        assert [v.version for v in uow.rule_versions.versions(rule)] == [3, 2, 1]
        assert uow.rule_versions.latest(rule).expression == "arpu > 3"
