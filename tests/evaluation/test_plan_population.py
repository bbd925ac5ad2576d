"""Who a monthly plan considers: the subscribers still on the network at the month's end."""

from __future__ import annotations

import duckdb
import pytest

from tenure.engines.warehouse import Warehouse

from .response_builders import PLAN_MONTHS, ResponseRun

pytestmark = pytest.mark.slow


def _one(sql: str) -> int:
    return int(duckdb.sql(sql).fetchall()[0][0])


def test_no_decision_goes_to_a_subscriber_who_left_during_the_month(response_run: ResponseRun) -> None:
    wh = Warehouse(response_run.settings.warehouse_dir)
    for month in PLAN_MONTHS:
        profiles = str(wh.path("profiles", month, "output"))
        decisions = str(wh.path("decisions", month, "output"))
        gone = _one(f"select count(*) from read_parquet('{profiles}') where status = 'churned'")
        assert gone > 0, month  # the month has leavers who could have been planned
        planned_gone = _one(f"select count(*) from read_parquet('{decisions}') d join read_parquet('{profiles}') p "
                            f"using (subscriber_id) where p.status = 'churned'")
        assert planned_gone == 0, month
        considered = _one(f"select count(distinct subscriber_id) from read_parquet('{decisions}')")
        staying = _one(f"select count(*) from read_parquet('{profiles}') where status <> 'churned'")
        assert 0 < considered <= staying
