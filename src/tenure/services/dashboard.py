"""The dashboard: subscribers, churn and ARPU from the input tables; grades, stages
and warnings from the monthly cycle's output when it has run.

Figures are computed with DuckDB straight from the month's Parquet files and
kept in memory per (month, region, warehouse versions), so a reload or a new
run of the month is picked up and a page view does not rescan the month.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import duckdb

from tenure.domain.errors import NotFound
from tenure.domain.model import month_add, parse_month
from tenure.domain.roles import Permission
from tenure.engines.warehouse import Warehouse
from tenure.services.auth import Principal

ARPU_BINS = (0, 10, 30, 50, 80, 120, 200)
CHURN_MONTHS = 12
STAGES = ("A", "B", "C", "D", "E")


def _one(con: duckdb.DuckDBPyConnection, sql: str, args: list) -> tuple:
    row = con.execute(sql, args).fetchone()
    assert row is not None  # aggregates without GROUP BY always return one row
    return row


def _q(path: Any) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class DashboardService:
    def __init__(self, warehouse: Warehouse, threads: int = 2, memory_limit: str = "2GB",
                 manual_warnings: Callable[[], list[tuple[str, str, int]]] | None = None) -> None:
        self.warehouse = warehouse
        self.manual_warnings = manual_warnings
        """Open manual warnings as (customer id, family, severity) (services/warning_profiles.py)."""
        self.threads = threads
        self.memory_limit = memory_limit
        self._cache: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    def months(self) -> list[str]:
        return self.warehouse.months("input", "subscribers")

    def overview(self, principal: Principal, month: str | None = None, region: str | None = None) -> dict:
        """Headline figures for one month (default: the latest loaded), optionally one region."""
        principal.require(Permission.VIEW_DASHBOARD)
        months = self.months()
        if not months:
            return {"month": None, "months": [], "regions": [], "region": region, "empty": True}
        month = parse_month(month) if month else months[-1]
        if month not in months:
            raise NotFound(f"month {month} is not loaded")
        region = region or None
        wh = self.warehouse
        key = (month, region, tuple((m, wh.version(m)) for m in months[-CHURN_MONTHS:]),
               wh.version(month, "output"))
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            hit = self._compute(month, region, months)
            with self._lock:
                self._cache[key] = hit
                while len(self._cache) > 64:
                    self._cache.popitem(last=False)
        return self._with_manual(hit, month, region)

    def _with_manual(self, doc: dict, month: str, region: str | None) -> dict:
        """``doc`` with the open manual warnings counted in (read from the store at every view; the
        figures are kept per (month, region, output version, open warnings))."""
        if self.manual_warnings is None or not doc.get("output"):
            return doc
        rows = tuple(self.manual_warnings())
        if not rows:
            return doc
        key = ("manual", month, region, self.warehouse.version(month, "output"), rows)
        with self._lock:
            figures = self._cache.get(key)
        if figures is None:
            figures = self._manual_figures(month, region, list(rows), doc["output"])
            with self._lock:
                self._cache[key] = figures
                while len(self._cache) > 64:
                    self._cache.popitem(last=False)
        return {**doc, "output": {**doc["output"], **figures}}

    def _manual_figures(self, month: str, region: str | None, rows: list[tuple[str, str, int]], output: dict) -> dict:
        """Manual warnings of customers in the month's profiles (and the region): their own counts, and
        ``warnings_by_family`` / ``warned_subscribers`` with them added (a subscriber counts once)."""
        import pyarrow as pa

        wh = self.warehouse
        prof = _q(wh.path("profiles", month, "output"))
        rfilter, rargs = ("region = ?", [region]) if region else ("true", [])
        con = duckdb.connect(config={"threads": self.threads, "memory_limit": self.memory_limit})
        try:
            con.register("open_manual", pa.table({
                "customer_id": pa.array([r[0] for r in rows], pa.string()),
                "family": pa.array([r[1] for r in rows], pa.string()),
                "severity": pa.array([r[2] for r in rows], pa.int64())}))
            scoped = (f"(select distinct customer_id::varchar as customer_id from read_parquet({prof}) "
                      f"where {rfilter})")
            mine = con.execute(f"select family, severity, customer_id from open_manual join {scoped} "
                               "using (customer_id)", rargs).fetchall()
            manual_subs = (f"select m.family, p.subscriber_id::varchar as subscriber_id from open_manual m join "
                           f"(select subscriber_id, customer_id::varchar as customer_id from read_parquet({prof}) "
                           f"where {rfilter}) p using (customer_id)")
            parts, args = [manual_subs], list(rargs)
            if wh.has("warnings", month, "output"):
                w = _q(wh.path("warnings", month, "output"))
                scope = (f"join (select subscriber_id from read_parquet({prof}) where {rfilter}) using (subscriber_id)"
                         if rargs else "")
                parts.append(f"select family, subscriber_id::varchar from read_parquet({w}) {scope}")
                args += rargs
            union = " union all ".join(parts)
            per_family = dict(con.execute(
                f"select family, count(distinct subscriber_id) from ({union}) group by 1", args).fetchall())
            warned = int(_one(con, f"select count(distinct subscriber_id) from ({union})", args)[0])
        finally:
            con.close()
        manual_n: dict[str, int] = {}
        for family, _sev, _cid in mine:
            manual_n[family] = manual_n.get(family, 0) + 1
        by_family = {r["family"]: {**r, "manual": 0} for r in output.get("warnings_by_family", [])}
        for family, n in manual_n.items():
            r = by_family.setdefault(family, {"family": family, "n": 0, "subscribers": 0, "manual": 0})
            r["n"] += n
            r["manual"] = n
        for r in by_family.values():
            r["subscribers"] = int(per_family.get(r["family"], r["subscribers"]))
        return {
            "warnings_by_family": sorted(by_family.values(), key=lambda r: (-r["n"], r["family"])),
            "warned_subscribers": warned,
            "manual_warnings": {
                "open": len(mine), "customers": len({c for _, _, c in mine}),
                "by_severity": [{"severity": s, "n": sum(1 for _, v, _ in mine if v == s)}
                                for s in sorted({v for _, v, _ in mine})],
            },
        }

    # -- computing -------------------------------------------------------------
    def _compute(self, month: str, region: str | None, months: list[str]) -> dict:
        wh = self.warehouse
        con = duckdb.connect(config={"threads": self.threads, "memory_limit": self.memory_limit})
        try:
            rfilter = "region = ?" if region else "true"
            rargs = [region] if region else []
            subs = _q(wh.path("subscribers", month))
            regions = [r for (r,) in con.execute(
                f"select distinct region from read_parquet({subs}) order by region").fetchall()]
            by_region = [{"region": r, "status": s, "n": n} for r, s, n in con.execute(
                f"select region, status, count(*) from read_parquet({subs}) where {rfilter} "
                "group by all order by region, status", rargs).fetchall()]
            totals = {s: 0 for s in ("active", "suspended", "churned")}
            for row in by_region:
                totals[row["status"]] = totals.get(row["status"], 0) + row["n"]
            churn = []
            for m in [x for x in months if x <= month][-CHURN_MONTHS:]:
                p = _q(wh.path("subscribers", m))
                start, end = f"{m}-01", f"{month_add(m, 1)}-01"
                churned, base = _one(
                    con,
                    f"""select count(*) filter (where status = 'churned' and churn_date >= ?::date and churn_date < ?::date),
                               count(*) filter (where status <> 'churned' or churn_date >= ?::date)
                        from read_parquet({p}) where {rfilter}""", [start, end, start, *rargs])
                churn.append({"month": m, "churned": int(churned), "base": int(base),
                              "rate": round(churned / base, 4) if base else None})
            arpu = None
            if wh.has("monthly_usage", month):
                u = _q(wh.path("monthly_usage", month))
                cases = " ".join(f"when revenue < {hi} then '{lo}-{hi}'" for lo, hi in pairwise(ARPU_BINS))
                rows = con.execute(
                    f"""select case {cases} else '{ARPU_BINS[-1]}+' end as bin, count(*), min(revenue)
                        from read_parquet({u}) u join (select subscriber_id from read_parquet({subs}) where {rfilter})
                        using (subscriber_id) group by 1 order by 3""", rargs).fetchall()
                mean = _one(
                    con,
                    f"""select avg(revenue), count(*) from read_parquet({u}) u
                        join (select subscriber_id from read_parquet({subs}) where {rfilter}) using (subscriber_id)""",
                    rargs)
                arpu = {"bins": [{"bin": b, "n": int(n)} for b, n, _ in rows],
                        "mean": round(float(mean[0]), 2) if mean[0] is not None else None}
            doc: dict[str, Any] = {
                "month": month, "months": months, "regions": regions, "region": region, "empty": False,
                "subscribers": {"total": sum(totals.values()), "by_status": totals, "by_region": by_region},
                "churn": churn, "arpu": arpu, "output": None,
            }
            if wh.has("profiles", month, "output"):
                doc["output"] = self._output(con, month, rfilter, rargs)
            return doc
        finally:
            con.close()

    def _output(self, con: duckdb.DuckDBPyConnection, month: str, rfilter: str, rargs: list) -> dict:
        wh = self.warehouse
        prof = _q(wh.path("profiles", month, "output"))
        cols = {c for (c,) in con.execute(f"select name from parquet_schema({prof})").fetchall()}
        out: dict[str, Any] = {}
        if {"is_core", "card_grade"} <= cols:
            out["core_by_grade"] = [{"grade": g or "none", "core": int(c), "all": int(n)} for g, c, n in con.execute(
                f"""select coalesce(card_grade, 'none'), count(*) filter (where is_core), count(*)
                    from read_parquet({prof}) where {rfilter} group by 1 order by 1""", rargs).fetchall()]
            out["core_total"] = sum(r["core"] for r in out["core_by_grade"])
        if "stage" in cols:
            out["stages"] = [{"stage": s, "n": int(n)} for s, n in con.execute(
                f"select stage, count(*) from read_parquet({prof}) where {rfilter} group by 1 order by 1",
                rargs).fetchall()]
        if {"stage", "previous_stage"} <= cols:
            out["transitions"] = [{"previous": p, "stage": s, "n": int(n)} for p, s, n in con.execute(
                f"""select coalesce(previous_stage, '-'), stage, count(*) from read_parquet({prof})
                    where {rfilter} group by 1, 2 order by 1, 2""", rargs).fetchall()]
        if wh.has("warnings", month, "output"):
            w = _q(wh.path("warnings", month, "output"))
            scope = (f"join (select subscriber_id from read_parquet({prof}) where {rfilter}) using (subscriber_id)"
                     if rargs else "")
            out["warnings_by_family"] = [{"family": f, "n": int(n), "subscribers": int(s)} for f, n, s in con.execute(
                f"""select family, count(*), count(distinct subscriber_id) from read_parquet({w}) {scope}
                    group by 1 order by 2 desc""", rargs).fetchall()]
            out["top_rules"] = [{"rule_id": r, "family": f, "n": int(n)} for r, f, n in con.execute(
                f"""select rule_id, any_value(family), count(*) from read_parquet({w}) {scope}
                    group by 1 order by 3 desc, 1 limit 10""", rargs).fetchall()]
            out["warned_subscribers"] = int(_one(
                con, f"select count(distinct subscriber_id) from read_parquet({w}) {scope}", rargs)[0])
        # Model drift of the month's run (services/scoring.py): PSI of the score and of each feature.
        drift = wh.metadata(month, "output").get("run_summary", {}).get("drift")
        if drift:
            out["drift"] = drift
        return out
