"""The one place that wires settings, store, warehouse and engines into services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from tenure.config import Settings
from tenure.engines.store import make_engine, migrate
from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tenure.engines.store.warehouse_index import WarehouseIndex
from tenure.engines.warehouse import Warehouse
from tenure.services.auth import AuthService, password_hasher
from tenure.services.customers import CustomerService
from tenure.services.dashboard import DashboardService
from tenure.services.enterprise import KeyAccountServices, build_key_accounts
from tenure.services.rule_edits import RuleEditService
from tenure.services.users import UserService
from tenure.services.warning_profiles import open_manual_rows


@dataclass
class Services:
    settings: Settings
    engine: Engine
    uow: UnitOfWorkFactory
    warehouse: Warehouse
    index: WarehouseIndex
    auth: AuthService
    users: UserService
    customers: CustomerService
    dashboard: DashboardService
    rules: RuleEditService
    key_accounts: KeyAccountServices | None = None

    def close(self) -> None:
        self.index.close()
        self.engine.dispose()


def build(settings: Settings, bind: object | None = None, run_migrations: bool = True) -> Services:
    """Wire the services for ``settings``.

    ``bind`` overrides the store connection (tests pass a connection inside a
    transaction that they roll back). Migrations run unless told otherwise.
    """
    engine = make_engine(settings.store_url)
    if run_migrations and bind is None:
        migrate(engine)
    uow = UnitOfWorkFactory(bind if bind is not None else engine)
    warehouse = Warehouse(settings.warehouse_dir)
    index = WarehouseIndex(warehouse, settings.home / "cache", memory_limit=settings.duckdb_memory_limit,
                           threads=settings.duckdb_threads)
    auth = AuthService(
        uow, max_failures=settings.login_max_failures, lockout_seconds=settings.login_lockout_seconds,
        pii_roles=tuple(getattr(settings, "pii_roles", ["administrator"])),
        hasher=password_hasher(fast=settings.environment == "test"),
    )
    return Services(
        settings=settings,
        engine=engine,
        uow=uow,
        warehouse=warehouse,
        index=index,
        auth=auth,
        users=UserService(uow, auth, default_locale=settings.default_locale),
        customers=CustomerService(index),
        dashboard=DashboardService(warehouse, threads=settings.duckdb_threads,
                                   memory_limit=settings.duckdb_memory_limit,
                                   manual_warnings=lambda: open_manual_rows(uow)),
        rules=RuleEditService(settings, uow),
        key_accounts=build_key_accounts(settings.home, uow, warehouse),
    )
