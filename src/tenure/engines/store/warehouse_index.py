"""A read model of the warehouse for the web application.

The customer 360 must answer in milliseconds at millions of subscribers, but
the warehouse keeps one Parquet file per table and month, in load order. So
the latest month's snapshot, twelve months of usage and the monthly cycle's
output are copied once into a DuckDB file under ``<home>/cache``, every table
sorted by ``customer_id``: DuckDB's per-row-group min/max (zone maps) then
skip everything but the few row groups that hold one customer. The copy is
rebuilt when a month is loaded or run again (the warehouse versions are the
cache key) and published with an atomic rename, like the warehouse itself.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from tenure.domain.model import month_add
from tenure.engines.warehouse import Warehouse

HISTORY_MONTHS = 12
# Part of the cache key: bump it when _build changes what it writes.
READ_MODEL_FORMAT = 6
USAGE_COLUMNS = (
    "revenue", "mou", "mou_onnet", "mou_offnet", "data_mb", "sms", "recharge_amount", "arrears",
    "other_op_cs_calls", "other_op_ip_spend",
)


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@dataclass
class ReadModel:
    """One built read model: its connection and what it holds."""

    con: duckdb.DuckDBPyConnection
    key: str
    month: str
    output_month: str | None
    tables: dict[str, list[str]] = field(default_factory=dict)


class View:
    """A cursor on one read model; ``has`` and the months describe that same model."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, model: ReadModel) -> None:
        self.cursor = cursor
        self.model = model
        self.month = model.month
        self.output_month = model.output_month

    def execute(self, sql: str, params: list | None = None) -> Any:
        return self.cursor.execute(sql, params or [])

    def has(self, table: str) -> bool:
        return table in self.model.tables


class WarehouseIndex:
    """Lazily built, customer-sorted DuckDB copy of what the pages read."""

    def __init__(self, warehouse: Warehouse, cache_dir: Path, memory_limit: str = "2GB", threads: int = 2,
                 check_every_seconds: float = 2.0) -> None:
        self.warehouse = warehouse
        self.cache_dir = Path(cache_dir)
        self.memory_limit = memory_limit
        self.threads = threads
        self.check_every = check_every_seconds
        self._lock = threading.Lock()
        self._model: ReadModel | None = None
        # The model replaced last: requests that started on it may still be reading.
        self._retired: ReadModel | None = None
        self._checked_at = 0.0

    # -- public --------------------------------------------------------------
    @contextmanager
    def cursor(self) -> Iterator[View | None]:
        """A view on the current read model, or None when the warehouse has no month yet."""
        model = self._ensure()
        if model is None:
            yield None
            return
        cur = model.con.cursor()
        try:
            yield View(cur, model)
        finally:
            cur.close()

    @property
    def month(self) -> str | None:
        return self._model.month if self._model else None

    @property
    def output_month(self) -> str | None:
        return self._model.output_month if self._model else None

    def refresh(self) -> None:
        """Force a check of the warehouse versions on the next access."""
        self._checked_at = 0.0

    def close(self) -> None:
        with self._lock:
            for m in (self._model, self._retired):
                if m is not None:
                    m.con.close()
            self._model = self._retired = None

    # -- building --------------------------------------------------------------
    def _signature(self) -> tuple[str | None, str | None, str]:
        months = self.warehouse.months("input", "subscribers")
        if not months:
            return None, None, ""
        month = months[-1]
        window = [month_add(month, -i) for i in range(HISTORY_MONTHS)]
        out_months = self.warehouse.months("output", "profiles")
        out_month = out_months[-1] if out_months else None
        parts = [f"format:{READ_MODEL_FORMAT}"]
        parts += [f"i:{m}:{self.warehouse.version(m, 'input')}" for m in window]
        parts += [f"o:{m}:{self.warehouse.version(m, 'output')}" for m in out_months[-HISTORY_MONTHS:]]
        return month, out_month, hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def _ensure(self) -> ReadModel | None:
        model = self._model
        if model is not None and time.monotonic() - self._checked_at < self.check_every:
            return model
        with self._lock:
            model = self._model
            if model is not None and time.monotonic() - self._checked_at < self.check_every:
                return model
            month, out_month, key = self._signature()
            self._checked_at = time.monotonic()
            if month is None:
                return None
            if model is not None and model.key == key:
                return model
            path = self.cache_dir / f"web-{key}.duckdb"
            if not path.exists():
                self._build(path, month, out_month)
            con = duckdb.connect(str(path), read_only=True, config={"threads": self.threads,
                                                                    "memory_limit": self.memory_limit})
            tables = {
                t: [r[0] for r in con.execute(
                    "select column_name from information_schema.columns where table_name = ? order by ordinal_position",
                    [t]).fetchall()]
                for (t,) in con.execute("select table_name from information_schema.tables").fetchall()
            }
            if self._retired is not None:
                self._retired.con.close()
            self._retired = model
            self._model = ReadModel(con, key, month, out_month, tables)
            self._remove_stale(keep=[path] + ([self.cache_dir / f"web-{model.key}.duckdb"] if model else []))
            return self._model

    def _remove_stale(self, keep: list[Path]) -> None:
        for p in self.cache_dir.glob("web-*.duckdb*"):
            if not any(p.name.startswith(k.name) for k in keep):
                try:
                    p.unlink()
                except OSError:
                    pass

    def _build(self, path: Path, month: str, out_month: str | None) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        wh = self.warehouse
        con = duckdb.connect(str(tmp), config={"threads": self.threads, "memory_limit": self.memory_limit,
                                               "preserve_insertion_order": True})
        try:
            subs = wh.path("subscribers", month)
            con.execute(f"create table subscribers as select * from read_parquet({_q(subs)}) order by customer_id")
            if wh.has("customers", month):
                con.execute(f"create table customers as select * from read_parquet({_q(wh.path('customers', month))})"
                            " order by customer_id")
            if wh.has("plans", month):
                con.execute(f"create table plans as select * from read_parquet({_q(wh.path('plans', month))})")
            # Subscriber -> customer over the whole window, so usage of numbers that left still finds its customer.
            window = [month_add(month, -i) for i in range(HISTORY_MONTHS)]
            sub_paths = wh.paths("subscribers", window)
            owner = (f"(select distinct subscriber_id, customer_id from read_parquet([{', '.join(map(_q, sub_paths))}]))")
            con.execute(f"create temp table owner as select * from {owner}")
            self._fact(con, "monthly_usage", "usage", window,
                       "u.month, u.subscriber_id, " + ", ".join(f"u.{c}" for c in USAGE_COLUMNS))
            self._fact(con, "complaints", "complaints", window, "u.*")
            self._fact(con, "service_orders", "service_orders", window, "u.*")
            if wh.has("group_members", month) and wh.has("enterprise_groups", month):
                con.execute(
                    f"""create table group_membership as
                    select o.customer_id, m.subscriber_id, m.group_id, m.role, m.title, g.name as group_name,
                           g.group_class, g.industry, g.customer_id as group_customer_id
                    from read_parquet({_q(wh.path('group_members', month))}) m
                    join read_parquet({_q(wh.path('enterprise_groups', month))}) g using (group_id)
                    join owner o on o.subscriber_id = m.subscriber_id
                    order by o.customer_id"""
                )
            if wh.has("agreements", month):
                con.execute(f"create table agreements as select * from read_parquet({_q(wh.path('agreements', month))})"
                            " order by customer_id")
            if out_month is not None:
                prof = wh.path("profiles", out_month, "output")
                con.execute(f"create table profiles as select * from read_parquet({_q(prof)}) order by customer_id")
                hist_months = [m for m in wh.months("output", "profiles") if m >= month_add(out_month, -HISTORY_MONTHS + 1)]
                parts = [
                    f"select '{m}' as month, subscriber_id, customer_id, stage from read_parquet({_q(wh.path('profiles', m, 'output'))})"
                    for m in hist_months
                ]
                con.execute(f"create table stage_history as {' union all '.join(parts)} order by customer_id, month")
                if wh.has("warnings", out_month, "output"):
                    con.execute(
                        f"""create table warnings as
                        select p.customer_id, w.* from read_parquet({_q(wh.path('warnings', out_month, 'output'))}) w
                        join (select distinct subscriber_id, customer_id from profiles) p using (subscriber_id)
                        order by p.customer_id"""
                    )
            # Why the churn model thinks a customer may leave (only customers acted on have reasons).
            if out_month is not None and wh.has("reasons", out_month, "output"):
                con.execute(
                    f"""create table churn_reasons as
                    select p.customer_id, r.* from read_parquet({_q(wh.path('reasons', out_month, 'output'))}) r
                    join (select distinct subscriber_id, customer_id from profiles) p using (subscriber_id)
                    order by p.customer_id"""
                )
            # The latest retention plan: each considered subscriber's decision (selected, held out,
            # capped, over capacity, ...), so the 360 page says what the plan does with this customer.
            decision_months = wh.months("output", "decisions")
            if decision_months:
                dm = decision_months[-1]
                con.execute(
                    f"""create table decisions as
                    select '{dm}' as month, d.* from read_parquet({_q(wh.path('decisions', dm, 'output'))}) d
                    order by d.customer_id"""
                )
            # Sorted tables let zone maps skip row groups; an ART index on customer_id makes a
            # customer's rows a point lookup (a few times faster again at a million subscribers).
            tables = [t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()]
            for t in tables:
                cols = [c for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_name = ?", [t]).fetchall()]
                if "customer_id" in cols and t != "plans":
                    con.execute(f"create index ix_{t}_customer_id on {t}(customer_id)")
            # Numbers sorted by themselves: a prefix becomes a range that zone maps narrow to a row group.
            con.execute("create table numbers as select msisdn, customer_id, region from subscribers order by msisdn")
            con.execute("create table _meta as select ? as month, ? as output_month", [month, out_month])
            con.execute("checkpoint")
        except BaseException:
            con.close()
            tmp.unlink(missing_ok=True)
            raise
        con.close()
        os.replace(tmp, path)

    def _fact(self, con: duckdb.DuckDBPyConnection, source: str, name: str, window: list[str], select: str) -> None:
        paths = self.warehouse.paths(source, window)
        if not paths:
            return
        con.execute(
            f"""create table {name} as
            select o.customer_id, {select}
            from read_parquet([{', '.join(map(_q, paths))}], union_by_name = true) u
            join owner o on o.subscriber_id = u.subscriber_id
            order by o.customer_id"""
        )
