"""Fixtures of the retention-work tests: the store on SQLite and PostgreSQL, users, a planned warehouse month."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tenure.engines.store.unit_of_work import UnitOfWorkFactory
from tests.support.store import (
    postgres_engine_in_own_schema,
    rolled_back_units,
    sqlite_engine_at,
)


@pytest.fixture(scope="session")
def campaign_sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from sqlite_engine_at(tmp_path_factory.mktemp("campaign-store") / "store.db")


@pytest.fixture(scope="session")
def campaign_postgres_engine() -> Iterator[Engine]:
    """A schema of its own per test process, so parallel workers never collide."""
    yield from postgres_engine_in_own_schema("tenure_camp")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UnitOfWorkFactory]:
    """Units of work on one connection inside a transaction rolled back after the test."""
    yield from rolled_back_units(request.getfixturevalue(f"campaign_{request.param}_engine"))


# -- a home with a profiled month, the services and users ------------------------------------
MONTH = "2026-11"


@pytest.fixture(scope="module")
def plan_env(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A TENURE_HOME with one profiled month, its services, and two running campaigns (one staffed)."""
    import pyarrow as pa

    from tenure.bootstrap import build
    from tenure.config import Settings
    from tenure.services.campaigns import CampaignService

    from .campaign_builders import add_user, campaign_yaml, profiles

    home = tmp_path_factory.mktemp("plan-home")
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    svc = build(settings)
    prof = profiles(400)
    subs = prof["subscriber_id"].to_pylist()
    warnings = pa.table({
        "subscriber_id": subs[:200], "rule_id": ["R-arpu-drop"] * 200, "family": ["retention"] * 200,
        "severity": ["high"] * 200, "reason_en": ["ARPU fell 30%"] * 200, "reason_zh": ["ARPU 下降 30%"] * 200,
    })
    with svc.warehouse.write_month(MONTH, "output") as out:
        out.write("profiles", prof)
        out.write("warnings", warnings)
    customers = prof["customer_id"].to_pylist()
    manager = add_user(svc.uow, "retention_manager")
    am1 = add_user(svc.uow, "account_manager", customers=customers[:150])
    am2 = add_user(svc.uow, "account_manager", customers=customers[150:300])
    owner = add_user(svc.uow, "channel_owner")
    campaigns = CampaignService(svc.uow)
    ids = []
    for yaml_text in (
        campaign_yaml(name="Account manager visit", channels=["account_manager"], priority=9,
                      target_filter="churn_probability >= 0.3", strategy="tenure_reward", offer="tenure_gift"),
        campaign_yaml(name="Bill credit call", channels=["outbound_call", "sms"], priority=5),
    ):
        [c] = campaigns.import_yaml(manager, yaml_text)
        cid = c.campaign.campaign_id
        campaigns.submit(manager, cid)
        campaigns.approve(manager, cid)
        campaigns.start(manager, cid)
        ids.append(cid)
    env = {"home": home, "settings": settings, "services": svc, "profiles": prof, "manager": manager,
           "account_managers": [am1, am2], "owner": owner, "campaign_ids": ids, "month": MONTH}
    yield env
    svc.close()
