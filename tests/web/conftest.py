"""Fixtures of the web tests: the store on SQLite and PostgreSQL, a tiny warehouse, the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tenure.bootstrap import Services, build
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tests.support.store import (
    postgres_engine_in_own_schema,
    rolled_back_units,
    sqlite_engine_at,
)

from .web_builders import PASSWORD, build_warehouse, csrf_from, make_settings, unique


# -- the store, on both databases ------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("store-store") / "store.db")


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A schema of its own per test process, so parallel workers never collide."""
    yield from postgres_engine_in_own_schema("tenure_test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back after the test."""
    yield from rolled_back_units(request.getfixturevalue(f"{request.param}_engine"))


# -- a tiny warehouse and the app -------------------------------------------------------
@pytest.fixture(scope="module")
def web_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    home = tmp_path_factory.mktemp("web-home")
    ids = build_warehouse(home / "warehouse")
    return home, ids


@pytest.fixture(scope="module")
def services(web_home: tuple[Path, dict]) -> Iterator[Services]:
    home, _ = web_home
    svc = build(make_settings(home, login_max_failures=3, login_lockout_seconds=600))
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def app(services: Services):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    return create_app(services.settings, services)


@pytest.fixture(scope="module")
def warehouse_ids(web_home: tuple[Path, dict]) -> dict:
    return web_home[1]


@pytest.fixture
def make_user(services: Services):  # type: ignore[no-untyped-def]
    """Create a user with a unique name: ``make_user(role, customers=[...], regions=[...])``."""

    def _make(role: str, customers: list[str] | None = None, regions: list[str] | None = None,
              locale: str = "en") -> str:
        name = unique(role.split("_")[0][:8] + "_")
        services.users.add(None, name, role, password=PASSWORD, locale=locale)
        if customers or regions:
            services.users.assign(None, name, customers=customers, regions=regions)
        return name

    return _make


@pytest.fixture
def sign_in(app):  # type: ignore[no-untyped-def]
    """A TestClient signed in as ``name`` through the login form; returns (client, csrf)."""
    from fastapi.testclient import TestClient

    clients = []

    def _sign_in(name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
        client = TestClient(app)
        clients.append(client)
        token = csrf_from(client.get("/login").text)
        r = client.post("/login", data={"name": name, "password": password, "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
        return client, csrf_from(client.get("/search").text)

    yield _sign_in
    for c in clients:
        c.close()
