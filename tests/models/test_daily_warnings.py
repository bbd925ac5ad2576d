"""Daily early warning on a small hand-built month."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pyarrow as pa
import typer
from typer.testing import CliRunner

from tenure.config import Settings
from tenure.engines.warehouse import Warehouse
from tenure.interfaces.cli.commands import models as model_commands
from tenure.services.daily import daily_warnings, run_day

DAY = dt.date(2026, 5, 20)


def _usage(sid: str, days: list[dt.date], **override) -> list[dict]:
    rows = []
    for d in days:
        row = {"date": d, "subscriber_id": sid, "revenue": 1.0, "mou": 30.0, "mou_offnet": 5.0, "data_mb": 100.0,
               "sms": 1, "recharge_amount": 0.0, "other_op_cs_calls": 0}
        for k, fn in override.items():
            row[k] = fn(d)
        rows.append(row)
    return rows


def build_day(settings: Settings) -> None:
    days = [dt.date(2026, 4, 1) + dt.timedelta(days=i) for i in range(61)]  # April and May
    up_to = [d for d in days if d <= DAY]
    rows = []
    rows += _usage("A", up_to, mou=lambda d: 2.0 if d == DAY else 30.0, data_mb=lambda d: 5.0 if d == DAY else 100.0)
    rows += _usage("B", up_to, recharge_amount=lambda d: 50.0 if (d.day % 5 == 0 and d <= DAY - dt.timedelta(days=15)) else 0.0)
    rows += _usage("C", up_to, other_op_cs_calls=lambda d: 1 if d == DAY else 0)
    rows += _usage("E", up_to)
    rows += _usage("F", up_to)
    rows += _usage("G", up_to)
    rows += _usage("H", up_to)
    rows += _usage("Q", [d for d in up_to if d < DAY], mou=lambda d: 1.0, data_mb=lambda d: 1.0)  # too little to judge
    usage = pd.DataFrame(rows)
    ts = lambda d, h=10: dt.datetime(d.year, d.month, d.day, h)
    complaints = pd.DataFrame({"complaint_id": ["c1", "c2"], "subscriber_id": ["F", "E"],
                               "created_at": [ts(DAY), ts(DAY - dt.timedelta(days=3))],
                               "category": ["network", "billing"], "severity": [2, 1],
                               "resolved_at": [None, None]})
    orders = pd.DataFrame({"order_id": ["o1", "o2", "o3"], "subscriber_id": ["G", "H", "E"],
                           "created_at": [ts(DAY, 9), ts(DAY - dt.timedelta(days=1)), ts(DAY, 11)],
                           "kind": ["port_out_inquiry", "cancellation", "plan_change"],
                           "from_plan": [None] * 3, "to_plan": [None] * 3, "closed_at": [None] * 3})
    wh = Warehouse(settings.warehouse_dir)
    for month in ("2026-04", "2026-05"):
        number = int(month[-2:])
        part = usage[[d.month == number for d in usage.date]]
        with wh.write_month(month, "input") as out:
            out.write("daily_usage", pa.Table.from_pandas(part, preserve_index=False))
            if month == "2026-05":
                out.write("complaints", pa.Table.from_pandas(complaints, preserve_index=False))
                out.write("service_orders", pa.Table.from_pandas(orders, preserve_index=False))
    with wh.write_month("2026-04", "output") as out:
        out.write("profiles", pa.table({"subscriber_id": ["C", "G", "A"], "is_core": [True, False, False]}))


def test_run_day_raises_the_right_warnings(settings: Settings) -> None:
    build_day(settings)
    doc = run_day(settings, DAY.isoformat())
    got = {(r["subscriber_id"], r["reason"]) for r in daily_warnings(settings, DAY)}
    assert got == {("A", "usage_drop"), ("B", "recharge_stopped"), ("C", "other_op_cs_calls"),
                   ("F", "complaint"), ("G", "port_out_inquiry")}
    assert doc["warnings"] == 5 and doc["core_subscribers"] == 1 and doc["profiles_month"] == "2026-04"
    stored = daily_warnings(settings, DAY)
    assert stored[0]["subscriber_id"] == "C" and stored[0]["is_core"]  # core customers first
    assert [r["priority"] for r in stored] == list(range(1, 6))
    assert all(r["day"] == DAY and r["reason_en"] and r["reason_zh"] for r in stored)
    # the port-out inquiry outranks the ordinary signals after the core customers
    assert stored[1]["reason"] == "port_out_inquiry"


def test_rerun_replaces_the_day_and_keeps_others(settings: Settings) -> None:
    build_day(settings)
    run_day(settings, DAY)
    other = DAY - dt.timedelta(days=1)
    run_day(settings, other)
    n_day = len(daily_warnings(settings, DAY))
    run_day(settings, DAY)
    assert len(daily_warnings(settings, DAY)) == n_day
    assert {r["day"] for r in daily_warnings(settings, other)} <= {other}


def test_run_day_cli(settings: Settings) -> None:
    build_day(settings)
    app = typer.Typer()
    model_commands.register(app)
    r = CliRunner().invoke(app, ["run-day", DAY.isoformat(), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["warnings"] == 5
    r = CliRunner().invoke(app, ["run-day", "2026-05-99"])
    assert r.exit_code != 0
