"""Daily early warning: each subscriber's day against their own recent baseline.

For day D (its month must be loaded with ``daily_usage``; the month before is
used too when D is early in its month) every subscriber is compared with
themselves over the ``baseline_days`` before D:

- ``usage_drop``: minutes and data on D both below ``1 - drop_share`` of the
  subscriber's daily average (for subscribers with real baseline usage);
- ``recharge_stopped``: topped up on at least ``min_recharge_days`` days of
  the baseline but not in the ``recharge_quiet_days`` up to D;
- ``other_op_cs_calls``: called another operator's customer service on D;

plus the events of D: a ``complaint``, a ``port_out_inquiry`` or a
``cancellation`` order. Core customers (``is_core`` in the latest monthly
profiles) come first. Everything is set-based (one grouped pass over the
window's daily rows, joins on ``subscriber_id``), so it scales with the
engine rather than with a Python loop.

Results go to the ``daily_warnings`` table of D's month in the warehouse
output area; a rerun of D replaces D's rows and keeps the other days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.domain.errors import InputError, NotFound
from tenure.domain.model import month_add
from tenure.engines.compute import connect
from tenure.engines.warehouse import Warehouse


@dataclass(frozen=True)
class DailyConfig:
    baseline_days: int = 28
    drop_share: float = 0.7
    min_baseline_mou: float = 5.0
    min_baseline_data_mb: float = 20.0
    min_recharge_days: int = 2
    recharge_quiet_days: int = 10


REASONS: dict[str, tuple[str, str, str, int]] = {
    # code: (English, Chinese, family, severity 1 = most urgent)
    "cancellation": ("cancellation order placed today", "今日提交销户/退订工单", "marketing_care", 1),
    "port_out_inquiry": ("asked about porting the number out today", "今日咨询携号转网", "marketing_care", 1),
    "complaint": ("complained today", "今日投诉", "service_care", 2),
    "other_op_cs_calls": ("called another operator's customer service today", "今日拨打他网客服", "service_care", 2),
    "usage_drop": ("usage today far below their own recent average", "今日用量远低于近期日均", "service_care", 3),
    "recharge_stopped": ("regular top-ups have stopped", "规律充值已中断", "marketing_care", 3),
}

SCHEMA = pa.schema([
    ("day", pa.date32()),
    ("subscriber_id", pa.string()),
    ("reason", pa.string()),
    ("reason_en", pa.string()),
    ("reason_zh", pa.string()),
    ("family", pa.string()),
    ("severity", pa.int64()),
    ("is_core", pa.bool_()),
    ("priority", pa.int64()),
    ("detail", pa.string()),
])


def _parse_day(day: str | dt.date) -> dt.date:
    if isinstance(day, dt.date):
        return day
    try:
        return dt.date.fromisoformat(day)
    except ValueError as exc:
        raise InputError(f"day must be YYYY-MM-DD, got {day!r}") from exc


def daily_signals(usage: ir.Table, day: dt.date, cfg: DailyConfig) -> ir.Table:
    """Per subscriber, the reasons raised by their usage of ``day`` against their baseline.

    Columns: subscriber_id, reason, detail (text with the figures).
    """
    start = day - dt.timedelta(days=cfg.baseline_days)
    quiet_from = day - dt.timedelta(days=cfg.recharge_quiet_days - 1)
    u = usage.filter((usage.date >= start) & (usage.date <= day))
    today = u.date == day
    base = ~today
    n_days = float(cfg.baseline_days)
    agg = u.group_by(u.subscriber_id).aggregate(
        base_mou=(base.ifelse(u.mou.fill_null(0), 0.0)).sum() / n_days,
        base_data=(base.ifelse(u.data_mb.fill_null(0), 0.0)).sum() / n_days,
        day_mou=(today.ifelse(u.mou.fill_null(0), 0.0)).sum(),
        day_data=(today.ifelse(u.data_mb.fill_null(0), 0.0)).sum(),
        day_cs=(today.ifelse(u.other_op_cs_calls.fill_null(0), 0)).sum(),
        recharge_days=((base & (u.date < quiet_from) & (u.recharge_amount.fill_null(0) > 0)).cast("int64")).sum(),
        recent_recharges=(((u.date >= quiet_from) & (u.recharge_amount.fill_null(0) > 0)).cast("int64")).sum(),
    )
    keep = 1 - cfg.drop_share
    drop = (
        (agg.base_mou >= cfg.min_baseline_mou)
        & (agg.base_data >= cfg.min_baseline_data_mb)
        & (agg.day_mou < agg.base_mou * keep)
        & (agg.day_data < agg.base_data * keep)
    )
    stopped = (agg.recharge_days >= cfg.min_recharge_days) & (agg.recent_recharges == 0)
    cs = agg.day_cs > 0
    parts = [
        agg.filter(drop).select(
            "subscriber_id", reason=ibis.literal("usage_drop"),
            detail=ibis.literal("minutes ") + agg.day_mou.round(0).cast("string") + ibis.literal(" vs ")
            + agg.base_mou.round(0).cast("string") + ibis.literal(" a day; data ")
            + agg.day_data.round(0).cast("string") + ibis.literal(" MB vs ")
            + agg.base_data.round(0).cast("string") + ibis.literal(" MB"),
        ),
        agg.filter(stopped).select(
            "subscriber_id", reason=ibis.literal("recharge_stopped"),
            detail=agg.recharge_days.cast("string") + ibis.literal(f" top-up days before, none in {cfg.recharge_quiet_days} days"),
        ),
        agg.filter(cs).select(
            "subscriber_id", reason=ibis.literal("other_op_cs_calls"),
            detail=agg.day_cs.cast("string") + ibis.literal(" calls"),
        ),
    ]
    return ibis.union(*parts)


def daily_events(complaints: ir.Table | None, orders: ir.Table | None, day: dt.date) -> ir.Table | None:
    """Complaints, port-out inquiries and cancellation orders created on ``day``."""
    parts = []
    if complaints is not None:
        c = complaints.filter(complaints.created_at.date() == day)
        parts.append(c.select("subscriber_id", reason=ibis.literal("complaint"),
                              detail=c.category.fill_null("other")))
    if orders is not None:
        o = orders.filter((orders.created_at.date() == day) & orders.kind.isin(["port_out_inquiry", "cancellation"]))
        parts.append(o.select("subscriber_id", reason=o.kind, detail=o.order_id))
    if not parts:
        return None
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def run_day(settings: Settings, day: str | dt.date, engine: str | None = None,
            config: DailyConfig | None = None) -> dict[str, Any]:
    """Raise the daily warnings of ``day`` and store them; returns a summary."""
    d = _parse_day(day)
    cfg = config or DailyConfig()
    month = f"{d.year:04d}-{d.month:02d}"
    wh = Warehouse(settings.warehouse_dir)
    if not wh.has("daily_usage", month):
        raise NotFound(f"no daily_usage for {month}: load that month first")
    months = [month]
    if (d - dt.timedelta(days=cfg.baseline_days)).month != d.month and wh.has("daily_usage", month_add(month, -1)):
        months.insert(0, month_add(month, -1))
    eng = connect(settings, engine)
    try:
        usage = eng.read_parquet(wh.paths("daily_usage", months), "daily_usage")
        signals = daily_signals(usage, d, cfg)
        events = daily_events(
            eng.read_parquet([wh.path("complaints", month)], "complaints") if wh.has("complaints", month) else None,
            eng.read_parquet([wh.path("service_orders", month)], "service_orders")
            if wh.has("service_orders", month) else None,
            d,
        )
        allw = signals if events is None else ibis.union(signals, events.select("subscriber_id", "reason", "detail"))
        raw = eng.to_arrow(allw.distinct(on=["subscriber_id", "reason"]) if hasattr(allw, "distinct") else allw)
    finally:
        eng.close()
    core = _core_ids(wh, month)
    table = _finish(raw, d, core)
    _store(wh, month, d, table)
    counts = pc.value_counts(table.column("reason")).to_pylist() if table.num_rows else []
    return {
        "day": d.isoformat(),
        "warnings": table.num_rows,
        "subscribers": len(set(table.column("subscriber_id").to_pylist())),
        "core_subscribers": len(set(pc.filter(table.column("subscriber_id"), table.column("is_core")).to_pylist()))
        if table.num_rows else 0,
        "reasons": {r["values"]: int(r["counts"]) for r in sorted(counts, key=lambda r: r["values"])},
        "profiles_month": core[1],
        "top": table.slice(0, 20).to_pylist(),
    }


def _core_ids(wh: Warehouse, month: str) -> tuple[set[str], str | None]:
    """Core subscribers from the newest monthly profiles at or before ``month``."""
    for m in (month, month_add(month, -1), month_add(month, -2)):
        if wh.has("profiles", m, "output"):
            p = pq.read_table(wh.path("profiles", m, "output"), columns=["subscriber_id", "is_core"])
            return set(pc.filter(p.column("subscriber_id"), pc.fill_null(p.column("is_core"), False)).to_pylist()), m
    return set(), None


def _finish(raw: pa.Table, day: dt.date, core: tuple[set[str], str | None]) -> pa.Table:
    import pandas as pd

    df = raw.to_pandas()
    if df.empty:
        return SCHEMA.empty_table()
    df = df.drop_duplicates(["subscriber_id", "reason"])
    meta = pd.DataFrame.from_dict(REASONS, orient="index", columns=["reason_en", "reason_zh", "family", "severity"])
    df = df.join(meta, on="reason")
    df["is_core"] = df.subscriber_id.isin(core[0])
    df["day"] = day
    # core customers first, then the most urgent reason, then subscribers with several reasons
    df["n"] = df.groupby("subscriber_id").reason.transform("size")
    df = df.sort_values(["is_core", "severity", "n", "subscriber_id"], ascending=[False, True, False, True])
    df["priority"] = range(1, len(df) + 1)
    return pa.Table.from_pandas(df[[f.name for f in SCHEMA]], schema=SCHEMA, preserve_index=False)


def _store(wh: Warehouse, month: str, day: dt.date, table: pa.Table) -> None:
    if wh.has("daily_warnings", month, "output"):
        old = pq.read_table(wh.path("daily_warnings", month, "output"))
        old = old.filter(pc.not_equal(old.column("day"), pa.scalar(day, pa.date32())))
        table = pa.concat_tables([old.cast(SCHEMA), table])
    # Keep the month's run summary (drift, scoring) that tenure run-month recorded with the version.
    meta = ({k: v for k, v in wh.metadata(month, "output").items() if k not in ("version", "tables")}
            if wh.version(month, "output") else {})
    with wh.write_month(month, "output", meta=meta) as out:
        out.write("daily_warnings", table)


def daily_warnings(settings: Settings, day: str | dt.date) -> list[dict[str, Any]]:
    """The stored warnings of ``day``, in priority order."""
    d = _parse_day(day)
    wh = Warehouse(settings.warehouse_dir)
    month = f"{d.year:04d}-{d.month:02d}"
    if not wh.has("daily_warnings", month, "output"):
        return []
    t = pq.read_table(wh.path("daily_warnings", month, "output"))
    return t.filter(pc.equal(t.column("day"), pa.scalar(d, pa.date32()))).to_pylist()
