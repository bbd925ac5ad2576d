"""Fixtures of the web tests: the store on SQLite and PostgreSQL, a tiny warehouse, the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tenure.bootstrap import Services, build
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory

from .web_builders import PASSWORD, build_warehouse, csrf_from, make_settings, unique

POSTGRES_URL = os.environ.get("TENURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# -- the store, on both databases ------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A schema of its own per test process, so parallel workers never collide."""
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        if os.environ.get("TENURE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    schema = "tenure_test_" + uuid.uuid4().hex[:10]
    with admin.begin() as c:
        c.execute(text(f'create schema "{schema}"'))
    engine = make_engine(POSTGRES_URL, schema=schema)
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'drop schema "{schema}" cascade'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back after the test."""
    engine: Engine = request.getfixturevalue(f"{request.param}_engine")
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield UnitOfWorkFactory(connection)
    finally:
        outer.rollback()
        connection.close()


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
