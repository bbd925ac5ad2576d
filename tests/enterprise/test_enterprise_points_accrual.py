"""The monthly points job: spend at the month's best card grade, anniversaries, expiry; a rerun adds nothing."""

from __future__ import annotations

import json
from datetime import date

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from tenure.domain.errors import InputError
from tenure.engines.warehouse import Warehouse
from tenure.services.points import PointsService
from tenure.services.points_accrual import accrue_month, anniversary_years

from .ent_builders import uid

MONTH = "2024-09"


def _month(wh: Warehouse, customers: dict[str, str], subs: list[tuple[str, str, date, float, str | None]]) -> None:
    """subs: (subscriber, customer key, activation, revenue, card grade)."""
    with wh.write_month(MONTH) as w:
        w.write("subscribers", pa.Table.from_pylist([
            {"subscriber_id": s, "customer_id": customers[c], "activation_date": a} for s, c, a, _, _ in subs]))
        w.write("monthly_usage", pa.Table.from_pylist([
            {"month": MONTH, "subscriber_id": s, "revenue": r} for s, _, _, r, _ in subs]))
    with wh.write_month(MONTH, "output") as w:
        w.write("profiles", pa.Table.from_pylist([{"subscriber_id": s, "card_grade": g} for s, *_, g in subs]))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def own_store(request, tmp_path):  # type: ignore[no-untyped-def]
    """A store of this test's own: the job goes over every account in the store."""
    from tenure.engines.store.unit_of_work import UnitOfWorkFactory

    from ..support.store import postgres_engine_in_own_schema, sqlite_engine_at

    engines = (sqlite_engine_at(tmp_path / "store.db") if request.param == "sqlite"
               else postgres_engine_in_own_schema("points_job"))
    engine = next(engines)
    yield UnitOfWorkFactory(engine)
    engines.close()


@pytest.fixture
def scene(own_store, ent_config, clock, tmp_path):  # type: ignore[no-untyped-def]
    ent_store = own_store
    wh = Warehouse(tmp_path / "warehouse")
    cust = {k: uid("C") for k in "ABCD"}
    _month(wh, cust, [
        ("S1", "A", date(2020, 9, 5), 50.0, "silver"),   # A: 88.60 yuan, best grade gold, 4th anniversary
        ("S2", "A", date(2022, 1, 1), 38.6, "gold"),
        ("S3", "C", date(2023, 3, 1), 500.0, "diamond"),  # C holds no account: ignored
        ("S4", "D", date(2019, 2, 1), 10.0, None),        # D: no grade, not its anniversary month
    ])
    points = PointsService(ent_store, ent_config, clock=clock)  # clock: 8 October 2024
    acc = {k: points.open_account(None, cust[k]) for k in "ABD"}  # B has no usage this month
    points.earn(None, acc["D"], 70, on=date(2022, 6, 1), reference="welcome")  # usable to 31 Dec 2023
    return points, wh, acc


def test_the_month_is_accrued_once_at_the_best_grade_with_anniversaries_and_expiry(scene) -> None:
    points, wh, acc = scene
    doc = accrue_month(points, wh, MONTH)
    assert doc["posted_on"] == "2024-10-08" and doc["accounts"] == 3
    a = points.statement(None, acc["A"])
    assert a["card_grade"] == "gold"
    assert {e["reference"]: e["amount"] for e in a["entries"]} == {"spend 2024-09": 132, "tenure 2024": 400}
    d = points.statement(None, acc["D"])
    assert [(e["kind"], e["amount"]) for e in d["entries"]] == [("earn", 70), ("earn", 10), ("expire", -70)]
    assert d["balance"] == 10 and points.statement(None, acc["B"])["entries"] == []
    assert (doc["spend_accounts"], doc["spend_points"], doc["tenure_accounts"], doc["tenure_points"],
            doc["no_usage"], doc["expired_points"], doc["refused"]) == (2, 142, 1, 400, 1, 70, [])

    again = accrue_month(points, wh, MONTH)
    assert (again["spend_points"], again["tenure_points"], again["expired_points"]) == (0, 0, 0)
    assert again["already_accrued"] == 2
    for k in "ABD":
        points.check_ledger(acc[k])
    assert points.statement(None, acc["A"])["balance"] == 532


def test_a_month_not_loaded_is_refused_and_changes_nothing(scene) -> None:
    points, wh, acc = scene
    with pytest.raises(InputError, match="2024-08"):
        accrue_month(points, wh, "2024-08")
    assert points.statement(None, acc["A"])["entries"] == []


def test_anniversaries_count_full_years_in_the_activation_month() -> None:
    assert anniversary_years(date(2020, 9, 30), "2024-09") == 4
    assert anniversary_years(date(2020, 8, 30), "2024-09") == 0
    assert anniversary_years(date(2024, 9, 1), "2024-09") == 0  # activated this month: no bonus yet
    assert anniversary_years(None, "2024-09") == 0


def test_the_cli_job_on_a_tenure_home(tenure_home) -> None:  # type: ignore[no-untyped-def]
    from tenure.interfaces.cli.commands import key_accounts

    _month(Warehouse(tenure_home / "warehouse"), {"A": "CUST-A"}, [("S1", "A", date(2021, 9, 1), 100.0, "diamond")])
    app = typer.Typer()
    key_accounts.register(app)

    @app.callback()
    def _root() -> None:
        pass

    runner = CliRunner()
    from tenure.bootstrap import build
    from tenure.config import get_settings

    services = build(get_settings())
    try:
        from tenure.services.enterprise import build_key_accounts

        ka = build_key_accounts(services.settings.home, services.uow, services.warehouse)
        ka.points.open_account(None, "CUST-A")
    finally:
        services.close()
    first = runner.invoke(app, ["key-accounts", "points", "--month", MONTH, "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["spend_points"] == 200 and doc["tenure_points"] == 300
    rerun = json.loads(runner.invoke(app, ["key-accounts", "points", "--month", MONTH, "--json"]).output)
    assert rerun["spend_points"] == 0 and rerun["already_accrued"] == 1
    table = runner.invoke(app, ["key-accounts", "points", "--month", MONTH])
    assert table.exit_code == 0 and "Points 2024-09" in table.output
