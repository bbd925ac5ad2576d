"""The operational store on SQLite and on PostgreSQL, for fixtures.

Each test folder keeps its own fixtures (and its own PostgreSQL schema, so
folders that commit real transactions never see each other's rows); the
bodies live here once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory

POSTGRES_URL = os.environ.get(
    "TENURE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def sqlite_engine_at(path: Path) -> Iterator[Engine]:
    """A migrated SQLite store in ``path``."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    yield engine
    engine.dispose()


def postgres_engine_in_own_schema(prefix: str) -> Iterator[Engine]:
    """A migrated PostgreSQL store in a schema of its own, dropped afterwards.

    Unreachable PostgreSQL skips, unless TENURE_REQUIRE_POSTGRES=1 (CI), where
    it fails: the store tests must never be skipped there.
    """
    try:
        admin = make_engine(POSTGRES_URL)
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no PostgreSQL here"
        if os.environ.get("TENURE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
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


def rolled_back_units(engine: Engine) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back afterwards."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield UnitOfWorkFactory(connection)
    finally:
        outer.rollback()
        connection.close()
