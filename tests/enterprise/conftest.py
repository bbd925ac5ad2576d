"""Fixtures of the key-account tests: the store on SQLite and PostgreSQL, services on it, a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from tenure.domain.calendar import WorkingCalendar
from tenure.domain.grades_enterprise import EnterpriseConfig, load_enterprise_config
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tests.support.store import (
    postgres_engine_in_own_schema,
    rolled_back_units,
    sqlite_engine_at,
)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="session")
def ent_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("ent-store") / "store.db")


@pytest.fixture(scope="session")
def ent_postgres_engine() -> Iterator[Engine]:
    """A schema of its own per test process, so parallel workers never collide."""
    yield from postgres_engine_in_own_schema("tenure_ent")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ent_store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back after the test."""
    yield from rolled_back_units(request.getfixturevalue(f"ent_{request.param}_engine"))


@pytest.fixture(scope="session")
def ent_config() -> EnterpriseConfig:
    return load_enterprise_config(None)


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2024, 10, 8, 9, 0, tzinfo=UTC))


# -- the web application over a warehouse with groups --------------------------------------
@pytest.fixture(scope="module")
def ent_home(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from .ent_web_builders import build_group_warehouse

    home = tmp_path_factory.mktemp("ent-home")
    return home, build_group_warehouse(home / "warehouse")


@pytest.fixture(scope="module")
def ent_services(ent_home):  # type: ignore[no-untyped-def]
    from tenure.bootstrap import build

    from ..web.web_builders import make_settings

    svc = build(make_settings(ent_home[0]))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def ent_app(ent_services):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    return create_app(ent_services.settings, ent_services)


@pytest.fixture(scope="module")
def ent_people(ent_services, ent_home) -> dict:  # type: ignore[no-untyped-def]
    """A key-account manager with group G001 (its enterprise customer), another with G002, an administrator."""
    from ..web.web_builders import PASSWORD
    from .ent_builders import uid

    groups = ent_home[1]["groups"]
    names = {"mine": uid("kam_"), "other": uid("kam_"), "admin": uid("adm_")}
    ent_services.users.add(None, names["mine"], "account_manager", password=PASSWORD, locale="en")
    ent_services.users.assign(None, names["mine"], customers=[groups["G001"]])
    ent_services.users.add(None, names["other"], "account_manager", password=PASSWORD, locale="en")
    ent_services.users.assign(None, names["other"], customers=[groups["G002"]])
    ent_services.users.add(None, names["admin"], "administrator", password=PASSWORD, locale="en")
    return names | {"password": PASSWORD, "groups": groups}


@pytest.fixture
def ent_sign_in(ent_app):  # type: ignore[no-untyped-def]
    """A TestClient signed in through the login form; returns (client, csrf)."""
    from fastapi.testclient import TestClient

    from ..web.web_builders import PASSWORD, csrf_from

    clients = []

    def _sign_in(name: str):  # type: ignore[no-untyped-def]
        client = TestClient(ent_app)
        clients.append(client)
        token = csrf_from(client.get("/login").text)
        r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        return client, csrf_from(client.get("/search").text)

    yield _sign_in
    for c in clients:
        c.close()
