"""Programme KPIs, customer insight (客户洞察) and account-manager appraisal (绩效考核).

Every report is one document with the same shape, whatever its kind::

    {"kind", "month", "filters": {"region", "segment"}, "summary": {...},
     "tables": [{"name", "title", "columns": [{"key", "label", "fmt"}], "rows": [[...], ...]}],
     "notes": [...]}

The page draws its charts from the tables, the Excel export writes one sheet
per table and the CLI prints them: all three show the same numbers because
they read the same document.

The warehouse is read with DuckDB over the month's Parquet files; only the
aggregated rows come back to Python. Filters (region, segment, the regions a
channel owner is responsible for) are registered as small Arrow tables and
joined, so no user text is ever written into SQL.

Definitions (the documentation repeats them, docs/evaluation.md):

- *population* of a month: the subscribers of that month's snapshot, with
  their profile (segment, core flag, grade, credit) when the month has been
  run, limited by the filters; *active*: status other than ``churned``.
- *revenue*: ``monthly_usage.revenue`` of the population; *ARPU*: revenue per
  billed subscriber (one with a usage row).
- *bundled*: holds broadband or IPTV in a bundle that month (as in the
  snapshot retention's bundling rate).
- *locked in*: active and under a contract (``subscribers.contract_end_date``
  or an agreement of the subscriber, or a group agreement of its customer,
  ending after the month) or bundled.
- *arrears ageing*: consecutive months, counting back from the month, with
  ``arrears`` above zero (the last six months at most); a *repeat offender*
  was in arrears in at least three of the last six months.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import yaml

import tenure
from tenure.domain.errors import ConfigurationError, InputError, NotFound, PermissionDenied
from tenure.domain.grades import CARD_GRADES
from tenure.domain.model import month_add, month_range, parse_month
from tenure.engines.warehouse import Warehouse

KINDS = ("kpis", "revenue", "bundling", "agreements", "quality", "arrears", "lockin", "appraisal", "service")
"""Report kinds, in the order of the menu."""

INSIGHT_ROLES = ("administrator", "analyst", "retention_manager", "channel_owner")
"""Roles that read the programme KPIs and the insight reports (channel owners: their regions only)."""

APPRAISAL_ALL_ROLES = ("administrator", "retention_manager")
"""Roles that see every account manager's appraisal; an account manager sees only their own row."""

APPRAISAL_OWN_ROLES = ("account_manager", "community_manager")
"""Roles that see their own appraisal row only (a community manager's: their own portfolio and work orders)."""

TREND_MONTHS = 12
ARREARS_WINDOW = 6
REPEAT_OFFENDER_MONTHS = 3
TIMELY_DAYS = 7
SHIPPED_APPRAISAL = Path(tenure.__file__).parent / "config" / "appraisal.yaml"
COMBOS = ("mobile only", "mobile + broadband", "mobile + TV", "mobile + broadband + TV")
REMAINING = ("1-3", "4-6", "7-12", "13-24", "25+")
NONE_LABEL = "(none)"


# -- configuration --------------------------------------------------------------------
@dataclass(frozen=True)
class AppraisalConfig:
    """Weights of the combined appraisal score and the revenue-change scale."""

    weights: dict[str, float] = field(default_factory=lambda: {
        "kept_rate": 0.4, "revenue_change": 0.2, "contact_completion": 0.2, "return_visit_coverage": 0.2})
    revenue_change_cap: float = 0.2

    MEASURES = ("kept_rate", "revenue_change", "contact_completion", "return_visit_coverage")

    def score(self, measures: dict[str, float | None]) -> float | None:
        """100 × the weighted mean of the measures present, each on a 0-1 scale."""
        total = weight = 0.0
        for name in self.MEASURES:
            v = measures.get(name)
            if v is None:
                continue
            if name == "revenue_change":
                cap = self.revenue_change_cap
                v = min(max((v + cap) / (2 * cap), 0.0), 1.0)
            w = self.weights.get(name, 0.0)
            total += w * v
            weight += w
        return round(100 * total / weight, 2) if weight > 0 else None


def load_appraisal_config(home: Path | None) -> AppraisalConfig:
    """The shipped weights overlaid by ``<home>/config/appraisal.yaml``."""
    try:
        data = yaml.safe_load(SHIPPED_APPRAISAL.read_text(encoding="utf-8")) or {}
        user = Path(home) / "config" / "appraisal.yaml" if home is not None else None
        if user is not None and user.exists():
            extra = yaml.safe_load(user.read_text(encoding="utf-8")) or {}
            data = {**data, **extra, "weights": {**(data.get("weights") or {}), **(extra.get("weights") or {})}}
        weights = {str(k): float(v) for k, v in (data.get("weights") or {}).items()}
        cap = float(data.get("revenue_change_cap", 0.2))
    except (yaml.YAMLError, ValueError, TypeError, AttributeError) as exc:
        raise ConfigurationError(f"appraisal.yaml: {exc}") from exc
    unknown = set(weights) - set(AppraisalConfig.MEASURES)
    if unknown:
        raise ConfigurationError(f"appraisal.yaml: unknown measure(s) {sorted(unknown)}; "
                                 f"one of {list(AppraisalConfig.MEASURES)}")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ConfigurationError("appraisal.yaml: weights must be at least 0 and not all 0")
    if cap <= 0:
        raise ConfigurationError("appraisal.yaml: revenue_change_cap must be above 0")
    return AppraisalConfig(weights=weights, revenue_change_cap=cap)


# -- helpers --------------------------------------------------------------------------------
def _pq(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def _month(text: str) -> str:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _bounds(month: str) -> tuple[dt.date, dt.date]:
    y, m = int(month[:4]), int(month[5:7])
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return dt.date(y, m, 1), nxt - dt.timedelta(days=1)


def _rate(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if b else None


def col(key: str, label: str, fmt: str = "int") -> dict[str, str]:
    """A column of a report table; ``fmt`` is text, int, num, money or pct."""
    return {"key": key, "label": label, "fmt": fmt}


def tbl(name: str, title: str, columns: list[dict[str, str]], rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    return {"name": name, "title": title, "columns": columns,
            "rows": [[_plain(v) for v in r] for r in rows]}


def _plain(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, (int, float, str)):
        return v
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, dt.date):
        return v.isoformat()
    return float(v) if isinstance(v, (int, float)) else str(v)


def table_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """The table ``name`` of a report document."""
    for t in doc["tables"]:
        if t["name"] == name:
            return t
    raise KeyError(name)


def records(t: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of a report table as dictionaries keyed by column."""
    keys = [c["key"] for c in t["columns"]]
    return [dict(zip(keys, r, strict=True)) for r in t["rows"]]


def workbook(doc: dict[str, Any]) -> bytes:
    """The report as an Excel workbook: one sheet per table, a header row, numbers as numbers."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in doc["tables"]:
        name = t["title"][:31].replace("/", "-").replace(":", " ") or t["name"][:31]
        for ch in "[]*?\\":
            name = name.replace(ch, " ")
        base, i = name, 2
        while name in used:
            name = f"{base[:28]} {i}"
            i += 1
        used.add(name)
        ws = wb.create_sheet(name)
        ws.append([c["label"] for c in t["columns"]])
        for r in t["rows"]:
            ws.append(list(r))
        for j, c in enumerate(t["columns"], start=1):
            fmt = {"pct": "0.00%", "money": "#,##0.00", "num": "#,##0.00", "int": "#,##0"}.get(c["fmt"])
            if fmt:
                for cell in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell[0].number_format = fmt
    if not doc["tables"]:
        wb.create_sheet("empty").append(["no data"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass(frozen=True)
class Scope:
    """What a caller's report covers: a region, a segment and the regions they may see (None: all)."""

    region: str | None = None
    segment: str | None = None
    allowed_regions: tuple[str, ...] | None = None

    def regions(self) -> list[str] | None:
        if self.allowed_regions is None:
            return [self.region] if self.region else None
        if self.region:
            return [self.region] if self.region in self.allowed_regions else []
        return list(self.allowed_regions)


def scope_for(principal: Any, region: str | None = None, segment: str | None = None) -> Scope:
    """The scope a principal may read; raises PermissionDenied for roles without insight."""
    if principal.role not in INSIGHT_ROLES:
        raise PermissionDenied(f"{principal.name} ({principal.role}) may not read insight reports")
    allowed = tuple(principal.regions) if principal.scope == "regions" else None
    return Scope(region=region or None, segment=segment or None, allowed_regions=allowed)


# -- the service ----------------------------------------------------------------------------
class InsightService:
    """Programme KPIs, insight reports and the account-manager appraisal over the warehouse."""

    def __init__(self, warehouse: Warehouse, uow_factory: Callable[[], Any] | None = None, threads: int = 2,
                 memory_limit: str | None = None, appraisal: AppraisalConfig | None = None) -> None:
        self.warehouse = warehouse
        self.uow_factory = uow_factory
        self.threads = threads
        self.memory_limit = memory_limit
        self.appraisal_config = appraisal or AppraisalConfig()

    # -- plumbing ----------------------------------------------------------------------
    def _connect(self, scope: Scope) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect()
        con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = '{self.memory_limit.replace(chr(39), '')}'")
        regions = scope.regions()
        con.register("f_region", pa.table({"region": pa.array(regions or [], pa.string())}))
        con.register("f_segment", pa.table({"segment_id": pa.array([scope.segment] if scope.segment else [],
                                                                   pa.string())}))
        return con

    def _has(self, table: str, month: str, area: str = "input") -> bool:
        return self.warehouse.has(table, month, area)

    def _path(self, table: str, month: str, area: str = "input") -> str:
        return _pq(self.warehouse.path(table, month, area))

    def _pop(self, con: duckdb.DuckDBPyConnection, month: str, scope: Scope, name: str | None = None) -> str:
        """Create the view of the month's population under the scope; returns its name."""
        name = name or "pop_" + month.replace("-", "_")
        if not self._has("subscribers", month):
            raise NotFound(f"subscribers {month} is not loaded")
        has_prof = self._has("profiles", month, "output")
        if scope.segment and not has_prof:
            raise NotFound(f"no profiles for {month}: the segment filter needs the month to be run")
        prof = (f"(select subscriber_id, segment_id, is_core, card_grade, credit_rating, value_level "
                f"from {self._path('profiles', month, 'output')})" if has_prof else
                "(select null::varchar subscriber_id, null::varchar segment_id, null::boolean is_core, "
                "null::varchar card_grade, null::varchar credit_rating, null::bigint value_level where false)")
        where = ["true"]
        if scope.regions() is not None:
            where.append("s.region in (select region from f_region)")
        if scope.segment:
            where.append("p.segment_id in (select segment_id from f_segment)")
        con.execute(f"""
            create or replace temp view {name} as
            select s.*, p.segment_id, p.is_core, p.card_grade, p.credit_rating, p.value_level
            from {self._path('subscribers', month)} s left join {prof} p using (subscriber_id)
            where {' and '.join(where)}
        """)
        return name

    def _trend(self, month: str, *needs: tuple[str, str], forward: int = 0) -> list[str]:
        """Loaded months from eleven before ``month`` to ``forward`` after it that hold every table needed."""
        first = month_add(month, -(TREND_MONTHS - 1))
        return [m for m in month_range(first, month_add(month, forward))
                if all(self._has(t, m, a) for t, a in needs)]

    @staticmethod
    def _doc(kind: str, month: str, scope: Scope, summary: dict[str, Any], tables: list[dict[str, Any]],
             notes: list[str] | None = None) -> dict[str, Any]:
        return {"kind": kind, "month": month, "filters": {"region": scope.region, "segment": scope.segment},
                "summary": summary, "tables": tables, "notes": notes or []}

    # -- choices for the filters ---------------------------------------------------------
    def months(self) -> list[str]:
        """Months with a subscriber snapshot, newest first."""
        return list(reversed(self.warehouse.months("input", "subscribers")))

    def choices(self, month: str, scope: Scope) -> dict[str, list[str]]:
        """Regions and segments present in ``month`` (regions limited to the caller's)."""
        month = _month(month)
        out: dict[str, list[str]] = {"regions": [], "segments": []}
        if not self._has("subscribers", month):
            return out
        con = self._connect(Scope(allowed_regions=scope.allowed_regions))
        try:
            regions = [r[0] for r in con.execute(
                f"select distinct region from {self._path('subscribers', month)} where region is not null "
                "order by 1").fetchall()]
            if scope.allowed_regions is not None:
                regions = [r for r in regions if r in scope.allowed_regions]
            out["regions"] = regions
            if self._has("profiles", month, "output"):
                out["segments"] = [r[0] for r in con.execute(
                    f"select distinct segment_id from {self._path('profiles', month, 'output')} "
                    "where segment_id is not null order by 1").fetchall()]
        finally:
            con.close()
        return out

    def report(self, kind: str, month: str, scope: Scope, principal: Any = None) -> dict[str, Any]:
        """The report ``kind`` for ``month`` under ``scope``."""
        if kind not in KINDS:
            raise InputError(f"unknown report {kind!r}; one of {', '.join(KINDS)}")
        month = _month(month)
        if kind == "appraisal":
            return self.appraisal(month, scope, principal)
        return getattr(self, kind)(month, scope)

    # -- programme KPIs ------------------------------------------------------------------
    def kpis(self, month: str, scope: Scope) -> dict[str, Any]:
        """Snapshot retention of the month's core customers, bundling, satisfaction, core by grade."""
        month = _month(month)
        if not self._has("profiles", month, "output"):
            raise NotFound(f"no profiles for {month}: run tenure run-month {month} first")
        rank = "case {c} " + " ".join(f"when '{g}' then {i}" for i, g in enumerate(CARD_GRADES)) + " end"
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            con.execute(f"create temp table core as select subscriber_id, {rank.format(c='card_grade')} g0 "
                        f"from {pop} where is_core and status <> 'churned'")
            base = int(con.execute("select count(*) from core").fetchone()[0])  # type: ignore[index]
            retention: list[tuple[str, int, int, int, float | None, int | None, float | None]] = [
                (month, 0, base, base, 1.0 if base else None, base, 1.0 if base else None)]
            for h in range(1, TREND_MONTHS + 1):
                later = month_add(month, h)
                if not self._has("subscribers", later):
                    break
                has_prof = self._has("profiles", later, "output")
                prof = (f"(select subscriber_id, {rank.format(c='card_grade')} g1 "
                        f"from {self._path('profiles', later, 'output')})" if has_prof
                        else "(select null::varchar subscriber_id, null::int g1 where false)")
                kept, kept_grade = con.execute(f"""
                    select count(*) filter (where s.status is not null and s.status <> 'churned'),
                           count(*) filter (where s.status is not null and s.status <> 'churned' and p.g1 >= c.g0)
                    from core c left join {self._path('subscribers', later)} s using (subscriber_id)
                    left join {prof} p using (subscriber_id)
                """).fetchone()  # type: ignore[misc]
                retention.append((later, h, base, int(kept), _rate(kept, base),
                                  int(kept_grade) if has_prof else None,
                                  _rate(kept_grade, base) if has_prof else None))
            # The KPI trends run from a year before the snapshot to as far as it is followed.
            bundling = self._bundling_trend(con, month, scope, forward=TREND_MONTHS)
            satisfaction = []
            for m in self._trend(month, ("satisfaction_surveys", "input"), ("subscribers", "input"),
                                 forward=TREND_MONTHS):
                p = self._pop(con, m, Scope(region=scope.region, allowed_regions=scope.allowed_regions,
                                            segment=scope.segment if self._has("profiles", m, "output") else None))
                n, avg, top = con.execute(f"""
                    select count(*), avg(v.score), count(*) filter (where v.score >= 9)
                    from {self._path('satisfaction_surveys', m)} v join {p} using (subscriber_id)
                """).fetchone()  # type: ignore[misc]
                satisfaction.append((m, int(n), None if avg is None else round(float(avg), 4), _rate(top, n)))
            grades_rows = []
            for m in self._trend(month, ("profiles", "output"), ("subscribers", "input"), forward=TREND_MONTHS):
                p = self._pop(con, m, scope)
                counts = dict(con.execute(f"select card_grade, count(*) from {p} where is_core and "
                                          "status <> 'churned' group by 1").fetchall())
                grades_rows.append([m, *[int(counts.get(g, 0)) for g in CARD_GRADES],
                                    int(sum(counts.values()))])
        finally:
            con.close()
        notes = [] if satisfaction else ["no satisfaction survey loaded from a year before the month onwards"]
        return self._doc("kpis", month, scope, {
            "core_customers": base,
            "retention_next": retention[1][4] if len(retention) > 1 else None,
            "bundling_rate": next((r[3] for r in bundling if r[0] == month), None),
        }, [
            tbl("retention", "Snapshot retention", [
                col("month", "Month", "text"), col("horizon", "Months after"), col("base", "Core customers"),
                col("retained", "Still active"), col("retention_rate", "Retention", "pct"),
                col("kept_grade", "Same or higher grade"), col("kept_grade_rate", "Grade kept", "pct")],
                retention),
            tbl("bundling", "Bundling rate", [
                col("month", "Month", "text"), col("active", "Active"), col("bundled", "Bundled"),
                col("bundling_rate", "Bundling rate", "pct")], bundling),
            tbl("satisfaction", "Satisfaction", [
                col("month", "Month", "text"), col("answers", "Answers"), col("avg_score", "Average score", "num"),
                col("top_box", "Share 9-10", "pct")], satisfaction),
            tbl("core_grades", "Core customers by grade", [
                col("month", "Month", "text"), *[col(g, g) for g in CARD_GRADES], col("total", "Total")],
                grades_rows),
        ], notes)

    def _bundling_trend(self, con: duckdb.DuckDBPyConnection, month: str, scope: Scope,
                        forward: int = 0) -> list[tuple]:
        out = []
        for m in self._trend(month, ("subscribers", "input"), ("monthly_usage", "input"), forward=forward):
            if scope.segment and not self._has("profiles", m, "output"):
                continue
            p = self._pop(con, m, scope)
            active, bundled = con.execute(f"""
                select count(*), count(*) filter (where coalesce(u.bundle_broadband, false)
                                                  or coalesce(u.bundle_tv, false))
                from {p} s left join {self._path('monthly_usage', m)} u using (subscriber_id)
                where s.status <> 'churned'
            """).fetchone()  # type: ignore[misc]
            out.append((m, int(active), int(bundled), _rate(bundled, active)))
        return out

    # -- revenue ---------------------------------------------------------------------------
    def revenue(self, month: str, scope: Scope) -> dict[str, Any]:
        """Revenue by segment, plan and region, and its trend over the last twelve months."""
        month = _month(month)
        if not self._has("monthly_usage", month):
            raise NotFound(f"monthly_usage {month} is not loaded")
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            plans = (f"(select plan_id, name from {self._path('plans', month)})" if self._has("plans", month)
                     else "(select null::varchar plan_id, null::varchar name where false)")
            con.execute(f"""
                create temp table rev as
                select s.subscriber_id, s.region, s.plan_id, coalesce(s.segment_id, '{NONE_LABEL}') segment_id,
                       s.status <> 'churned' active, u.subscriber_id is not null billed,
                       coalesce(u.revenue, 0)::double revenue
                from {pop} s left join {self._path('monthly_usage', month)} u using (subscriber_id)
            """)
            active, billed, total = con.execute(
                "select count(*) filter (where active), count(*) filter (where billed), coalesce(sum(revenue), 0) "
                "from rev").fetchone()  # type: ignore[misc]
            total = round(float(total), 2)

            def by(key: str, join: str = "", label: str = "") -> list[tuple]:
                rows = con.execute(f"""
                    select {key}{label}, count(*) filter (where active), count(*) filter (where billed),
                           round(sum(revenue), 2)
                    from rev r {join} group by all order by 4 desc, 1
                """).fetchall()
                return [(*r[:-3], int(r[-3]), int(r[-2]), float(r[-1]), _rate(r[-1], r[-2]), _rate(r[-1], total))
                        for r in rows]

            seg = by("segment_id")
            plan = by("r.plan_id", f"left join {plans} pl on pl.plan_id = r.plan_id", ", coalesce(pl.name, '')")
            region = by("region")
            trend = []
            for m in self._trend(month, ("subscribers", "input"), ("monthly_usage", "input")):
                if scope.segment and not self._has("profiles", m, "output"):
                    continue
                p = self._pop(con, m, scope)
                a, b, t = con.execute(f"""
                    select count(*) filter (where s.status <> 'churned'), count(u.subscriber_id),
                           round(coalesce(sum(u.revenue), 0), 2)
                    from {p} s left join {self._path('monthly_usage', m)} u using (subscriber_id)
                """).fetchone()  # type: ignore[misc]
                trend.append((m, int(a), int(b), float(t), _rate(t, b)))
        finally:
            con.close()
        measures = [col("active", "Active"), col("billed", "Billed"), col("revenue", "Revenue", "money"),
                    col("arpu", "ARPU", "money"), col("share", "Share of revenue", "pct")]
        return self._doc("revenue", month, scope, {
            "revenue": total, "active": int(active), "billed": int(billed), "arpu": _rate(total, billed),
        }, [
            tbl("by_segment", "Revenue by segment", [col("segment", "Segment", "text"), *measures], seg),
            tbl("by_plan", "Revenue by plan", [col("plan_id", "Plan", "text"), col("plan_name", "Plan name", "text"),
                                               *measures], plan),
            tbl("by_region", "Revenue by region", [col("region", "Region", "text"), *measures], region),
            tbl("trend", "Revenue trend", [col("month", "Month", "text"), col("active", "Active"),
                                           col("billed", "Billed"), col("revenue", "Revenue", "money"),
                                           col("arpu", "ARPU", "money")], trend),
        ])

    # -- product combination and bundling -------------------------------------------------------
    def bundling(self, month: str, scope: Scope) -> dict[str, Any]:
        """Product combinations held, bundling penetration by region and segment, bundle plans, trend."""
        month = _month(month)
        if not self._has("monthly_usage", month):
            raise NotFound(f"monthly_usage {month} is not loaded")
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            plans = (f"(select plan_id, is_bundle from {self._path('plans', month)})" if self._has("plans", month)
                     else "(select null::varchar plan_id, null::boolean is_bundle where false)")
            con.execute(f"""
                create temp table b as
                select s.region, coalesce(s.segment_id, '{NONE_LABEL}') segment_id,
                       coalesce(u.bundle_broadband, false) bb, coalesce(u.bundle_tv, false) tv,
                       coalesce(pl.is_bundle, false) bundle_plan
                from {pop} s left join {self._path('monthly_usage', month)} u using (subscriber_id)
                left join {plans} pl on pl.plan_id = s.plan_id
                where s.status <> 'churned'
            """)
            active, bundled, plan_n = con.execute(
                "select count(*), count(*) filter (where bb or tv), count(*) filter (where bundle_plan) from b"
            ).fetchone()  # type: ignore[misc]
            combo = dict(con.execute("""
                select case when bb and tv then 3 when bb then 1 when tv then 2 else 0 end, count(*)
                from b group by 1""").fetchall())
            combos = [(COMBOS[i], int(combo.get(i, 0)), _rate(combo.get(i, 0), active)) for i in range(4)]

            def pen(key: str) -> list[tuple]:
                return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), _rate(r[2], r[1]))
                        for r in con.execute(f"""
                            select {key}, count(*), count(*) filter (where bb or tv), count(*) filter (where bb),
                                   count(*) filter (where tv)
                            from b group by 1 order by 1""").fetchall()]

            by_region, by_segment = pen("region"), pen("segment_id")
            trend = self._bundling_trend(con, month, scope)
        finally:
            con.close()
        pcols = [col("active", "Active"), col("bundled", "Bundled"), col("broadband", "Broadband"),
                 col("tv", "IPTV"), col("bundling_rate", "Penetration", "pct")]
        return self._doc("bundling", month, scope, {
            "active": int(active), "bundled": int(bundled), "bundling_rate": _rate(bundled, active),
            "bundle_plan": int(plan_n), "bundle_plan_share": _rate(plan_n, active),
        }, [
            tbl("combinations", "Product combinations", [col("combination", "Combination", "text"),
                                                         col("subscribers", "Subscribers"),
                                                         col("share", "Share", "pct")], combos),
            tbl("by_region", "Penetration by region", [col("region", "Region", "text"), *pcols], by_region),
            tbl("by_segment", "Penetration by segment", [col("segment", "Segment", "text"), *pcols], by_segment),
            tbl("trend", "Bundling rate trend", [col("month", "Month", "text"), col("active", "Active"),
                                                 col("bundled", "Bundled"),
                                                 col("bundling_rate", "Bundling rate", "pct")], trend),
        ])

    # -- agreements expiring ----------------------------------------------------------------------
    def agreements(self, month: str, scope: Scope) -> dict[str, Any]:
        """Agreements ending in the month and the eleven after it, by end month and kind, with value at stake."""
        month = _month(month)
        for t in ("agreements", "customers"):
            if not self._has(t, month):
                raise NotFound(f"{t} {month} is not loaded")
        if scope.segment and not self._has("profiles", month, "output"):
            raise NotFound(f"no profiles for {month}: the segment filter needs the month to be run")
        first, _ = _bounds(month)
        _, last = _bounds(month_add(month, 11))
        where = ["a.end_date between ?::date and ?::date"]
        if scope.regions() is not None:
            where.append("c.region in (select region from f_region)")
        if scope.segment:
            where.append(f"a.customer_id in (select customer_id from {self._path('profiles', month, 'output')} "
                         "where segment_id in (select segment_id from f_segment))")
        usage = (self._path("monthly_usage", month) if self._has("monthly_usage", month)
                 else "(select null::varchar subscriber_id, 0::double revenue where false)")
        con = self._connect(scope)
        try:
            con.execute(f"""
                create temp table exp as
                with sub_rev as (select subscriber_id, revenue from {usage}),
                     cust_rev as (select s.customer_id, sum(u.revenue) revenue
                                  from {self._path('subscribers', month)} s join sub_rev u using (subscriber_id)
                                  group by 1)
                select a.agreement_id, a.customer_id, a.kind, strftime(a.end_date::date, '%Y-%m') end_month,
                       a.value::double value,
                       coalesce(case when a.subscriber_id is not null then sr.revenue else cr.revenue end, 0)::double
                           monthly_revenue
                from {self._path('agreements', month)} a
                join {self._path('customers', month)} c using (customer_id)
                left join sub_rev sr on sr.subscriber_id = a.subscriber_id
                left join cust_rev cr on cr.customer_id = a.customer_id
                where {' and '.join(where)}
            """, [first, last])
            q = ("count(*), count(distinct customer_id), round(sum(value), 2), round(sum(monthly_revenue), 2)")
            by_month = {r[0]: r for r in con.execute(f"select end_month, {q} from exp group by 1").fetchall()}
            months = [month_add(month, i) for i in range(12)]
            rows = [(m, *(tuple(by_month[m][1:]) if m in by_month else (0, 0, 0.0, 0.0))) for m in months]
            rows = [(m, int(n), int(c), float(v or 0), float(r or 0)) for m, n, c, v, r in rows]
            kinds = [(k, int(n), int(c), float(v or 0), float(r or 0)) for k, n, c, v, r in con.execute(
                f"select kind, {q} from exp group by 1 order by 1").fetchall()]
            n, c, v, r = con.execute(f"select {q} from exp").fetchone()  # type: ignore[misc]
        finally:
            con.close()
        cols = [col("agreements", "Agreements"), col("customers", "Customers"),
                col("value", "Committed value", "money"), col("monthly_revenue", "Monthly revenue at stake", "money")]
        return self._doc("agreements", month, scope, {
            "agreements": int(n), "customers": int(c), "value": float(v or 0), "monthly_revenue": float(r or 0),
            "window": [month, month_add(month, 11)],
        }, [
            tbl("by_month", "Expiring by month", [col("month", "End month", "text"), *cols], rows),
            tbl("by_kind", "Expiring by kind", [col("kind", "Kind", "text"), *cols], kinds),
        ], [("monthly revenue at stake: the month's revenue of the agreement's subscriber, or of all the "
            "customer's subscribers for an agreement without one")])

    # -- customer quality ---------------------------------------------------------------------------
    def quality(self, month: str, scope: Scope) -> dict[str, Any]:
        """Core share, card-grade, credit and value-level mix of the active population; core share trend."""
        month = _month(month)
        if not self._has("profiles", month, "output"):
            raise NotFound(f"no profiles for {month}: run tenure run-month {month} first")
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            active, core = con.execute(f"select count(*), count(*) filter (where is_core) from {pop} "
                                       "where status <> 'churned'").fetchone()  # type: ignore[misc]

            def mix(key: str, order: Sequence[Any] | None = None) -> list[tuple]:
                got = {r[0]: (int(r[1]), int(r[2])) for r in con.execute(
                    f"select {key}, count(*), count(*) filter (where is_core) from {pop} "
                    "where status <> 'churned' group by 1").fetchall()}
                keys = list(order or []) + sorted((k for k in got if k not in (order or [])), key=str)
                return [(NONE_LABEL if k is None else k, got.get(k, (0, 0))[0], got.get(k, (0, 0))[1],
                         _rate(got.get(k, (0, 0))[0], active)) for k in keys]

            grades = mix("card_grade", CARD_GRADES)
            credit = mix("credit_rating")
            value = [(str(r[0]), *r[1:]) for r in mix("value_level")]
            trend = []
            for m in self._trend(month, ("profiles", "output"), ("subscribers", "input")):
                p = self._pop(con, m, scope)
                a, c = con.execute(f"select count(*), count(*) filter (where is_core) from {p} "
                                   "where status <> 'churned'").fetchone()  # type: ignore[misc]
                trend.append((m, int(a), int(c), _rate(c, a)))
        finally:
            con.close()
        mcols = [col("subscribers", "Subscribers"), col("core", "Core"), col("share", "Share", "pct")]
        return self._doc("quality", month, scope, {
            "active": int(active), "core": int(core), "core_share": _rate(core, active)}, [
            tbl("grades", "Card grade mix", [col("grade", "Card grade", "text"), *mcols], grades),
            tbl("credit", "Credit mix", [col("credit", "Credit rating", "text"), *mcols], credit),
            tbl("value", "Value level mix", [col("value_level", "Value level", "text"), *mcols], value),
            tbl("trend", "Core share trend", [col("month", "Month", "text"), col("active", "Active"),
                                              col("core", "Core"), col("core_share", "Core share", "pct")], trend),
        ])

    # -- arrears ---------------------------------------------------------------------------------------
    def arrears(self, month: str, scope: Scope) -> dict[str, Any]:
        """Arrears of the month by age (consecutive months overdue) and the repeat offenders."""
        month = _month(month)
        if not self._has("monthly_usage", month):
            raise NotFound(f"monthly_usage {month} is not loaded")
        window = [month]
        while len(window) < ARREARS_WINDOW and self._has("monthly_usage", month_add(window[0], -1)):
            window.insert(0, month_add(window[0], -1))
        k = len(window)
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            union = " union all ".join(
                f"select subscriber_id, {i} idx, arrears::double arrears from {self._path('monthly_usage', m)} "
                "where arrears > 0" for i, m in enumerate(window))
            con.execute(f"""
                create temp table pos as
                select a.subscriber_id, a.idx, a.arrears from ({union}) a
                join {pop} s using (subscriber_id)
            """)
            con.execute(f"""
                create temp table per_sub as
                with now as (select subscriber_id, arrears from pos where idx = {k - 1}),
                     grid as (select n.subscriber_id, i.idx, p.subscriber_id is not null positive
                              from now n cross join range({k}) i(idx)
                              left join pos p on p.subscriber_id = n.subscriber_id and p.idx = i.idx)
                select n.subscriber_id, any_value(n.arrears) arrears,
                       {k - 1} - coalesce(max(g.idx) filter (where not g.positive), -1) age
                from now n join grid g using (subscriber_id) group by 1
            """)
            buckets = {r[0]: r[1:] for r in con.execute("""
                select case when age >= 4 then '4-6' else age::varchar end, count(*), round(sum(arrears), 2)
                from per_sub group by 1""").fetchall()}
            labels = ("1", "2", "3", "4-6")
            n_now, amount = con.execute("select count(*), round(coalesce(sum(arrears), 0), 2) from per_sub"
                                        ).fetchone()  # type: ignore[misc]
            ageing = [(f"{b} month" + ("" if b == "1" else "s"), int(buckets.get(b, (0, 0))[0]),
                       float(buckets.get(b, (0, 0.0))[1] or 0), _rate(buckets.get(b, (0, 0))[0], n_now))
                      for b in labels]
            repeat_n = int(con.execute(f"""
                select count(*) from (select subscriber_id from pos group by 1
                                      having count(*) >= {REPEAT_OFFENDER_MONTHS})""").fetchone()[0])  # type: ignore[index]
            offenders = con.execute(f"""
                select p.subscriber_id, any_value(s.customer_id), any_value(s.region), count(*) n_months,
                       round(coalesce(max(p.arrears) filter (where p.idx = {k - 1}), 0), 2) cur
                from pos p join {pop} s using (subscriber_id)
                group by 1 having count(*) >= {REPEAT_OFFENDER_MONTHS}
                order by n_months desc, cur desc, 1 limit 50
            """).fetchall()
            trend = [(window[i], int(c), float(a or 0)) for i, c, a in con.execute(
                "select idx, count(*), round(sum(arrears), 2) from pos group by 1 order by 1").fetchall()]
        finally:
            con.close()
        return self._doc("arrears", month, scope, {
            "in_arrears": int(n_now), "amount": float(amount), "repeat_offenders": repeat_n,
            "window": [window[0], month]}, [
            tbl("ageing", "Arrears ageing", [col("age", "Months overdue", "text"), col("subscribers", "Subscribers"),
                                             col("amount", "Arrears", "money"), col("share", "Share", "pct")], ageing),
            tbl("offenders", "Repeat offenders", [col("subscriber_id", "Subscriber", "text"),
                                                  col("customer_id", "Customer", "text"),
                                                  col("region", "Region", "text"),
                                                  col("months", "Months in arrears"),
                                                  col("current", "Arrears this month", "money")], offenders),
            tbl("trend", "Arrears by month", [col("month", "Month", "text"), col("subscribers", "Subscribers"),
                                              col("amount", "Arrears", "money")], trend),
        ], [(f"ageing counts consecutive months in arrears over the last {k} loaded month(s); "
            f"a repeat offender was in arrears in at least {REPEAT_OFFENDER_MONTHS} of them (list: top 50)")])

    # -- lock-in ----------------------------------------------------------------------------------------
    def lockin(self, month: str, scope: Scope) -> dict[str, Any]:
        """Share of active subscribers under contract or in a bundle, and contract months remaining."""
        month = _month(month)
        if not self._has("monthly_usage", month):
            raise NotFound(f"monthly_usage {month} is not loaded")
        _, end = _bounds(month)
        agreements = (self._path("agreements", month) if self._has("agreements", month) else
                      "(select null::varchar subscriber_id, null::varchar customer_id, null::varchar kind, "
                      "null::date end_date where false)")
        con = self._connect(scope)
        try:
            pop = self._pop(con, month, scope)
            plans = (f"(select plan_id, is_bundle from {self._path('plans', month)})" if self._has("plans", month)
                     else "(select null::varchar plan_id, null::boolean is_bundle where false)")
            con.execute(f"""
                create temp table lk as
                with sa as (select subscriber_id, max(end_date::date) e from {agreements}
                            where subscriber_id is not null group by 1),
                     ca as (select customer_id, max(end_date::date) e from {agreements}
                            where subscriber_id is null group by 1),
                     base as (
                        select s.region, greatest(s.contract_end_date::date, sa.e, ca.e) lock_end,
                               coalesce(u.bundle_broadband, false) or coalesce(u.bundle_tv, false)
                                   or coalesce(pl.is_bundle, false) bundled
                        from {pop} s
                        left join {self._path('monthly_usage', month)} u using (subscriber_id)
                        left join {plans} pl on pl.plan_id = s.plan_id
                        left join sa on sa.subscriber_id = s.subscriber_id
                        left join ca on ca.customer_id = s.customer_id
                        where s.status <> 'churned')
                select region, bundled, coalesce(lock_end > ?::date, false) contract,
                       case when lock_end > ?::date then date_diff('month', ?::date, lock_end) end months_left
                from base
            """, [end, end, end])
            active = int(con.execute("select count(*) from lk").fetchone()[0])  # type: ignore[index]
            cats = dict(con.execute("""
                select case when contract and bundled then 'contract and bundle' when contract then 'contract only'
                            when bundled then 'bundle only' else 'not locked in' end, count(*)
                from lk group by 1""").fetchall())
            order = ("contract and bundle", "contract only", "bundle only", "not locked in")
            categories = [(c, int(cats.get(c, 0)), _rate(cats.get(c, 0), active)) for c in order]
            rem = dict(con.execute("""
                select case when months_left <= 3 then '1-3' when months_left <= 6 then '4-6'
                            when months_left <= 12 then '7-12' when months_left <= 24 then '13-24' else '25+' end,
                       count(*)
                from lk where contract group by 1""").fetchall())
            contract_n = sum(rem.values())
            remaining = [(b, int(rem.get(b, 0)), _rate(rem.get(b, 0), contract_n)) for b in REMAINING]
            by_region = [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), _rate(r[4], r[1])) for r in con.execute("""
                select region, count(*), count(*) filter (where contract), count(*) filter (where bundled),
                       count(*) filter (where contract or bundled)
                from lk group by 1 order by 1""").fetchall()]
        finally:
            con.close()
        locked = active - int(cats.get("not locked in", 0))
        return self._doc("lockin", month, scope, {
            "active": active, "locked": locked, "locked_share": _rate(locked, active),
            "under_contract": contract_n, "bundled": int(cats.get("contract and bundle", 0))
            + int(cats.get("bundle only", 0))}, [
            tbl("categories", "Lock-in", [col("category", "Lock-in", "text"), col("subscribers", "Subscribers"),
                                          col("share", "Share", "pct")], categories),
            tbl("remaining", "Contract months remaining", [col("months", "Months remaining", "text"),
                                                           col("subscribers", "Subscribers"),
                                                           col("share", "Share", "pct")], remaining),
            tbl("by_region", "Lock-in by region", [col("region", "Region", "text"), col("active", "Active"),
                                                   col("contract", "Under contract"), col("bundled", "Bundled"),
                                                   col("locked", "Locked in"),
                                                   col("locked_share", "Locked-in share", "pct")], by_region),
        ])

    # -- account-manager appraisal -------------------------------------------------------------------
    def appraisal(self, month: str, scope: Scope, principal: Any) -> dict[str, Any]:
        """Per account manager: kept-rate, revenue change, contact completion, return-visit coverage, score.

        An account manager gets only their own row (the other portfolios are never read);
        administrators and retention managers get every account manager.
        """
        month = _month(month)
        if principal is None:
            raise PermissionDenied("the appraisal needs a signed-in user")
        if principal.role in APPRAISAL_OWN_ROLES:
            only: int | None = int(principal.user_id)
        elif principal.role in APPRAISAL_ALL_ROLES:
            only = None
        else:
            raise PermissionDenied(f"{principal.name} ({principal.role}) may not read the appraisal")
        if self.uow_factory is None:
            raise NotFound("the appraisal needs the operational store")
        if not self._has("subscribers", month):
            raise NotFound(f"subscribers {month} is not loaded")
        from sqlalchemy import case, func, select

        from tenure.engines.store.campaign_models import WorkOrder
        from tenure.engines.store.enterprise_models import ReturnVisitTask
        from tenure.engines.store.models import PortfolioAssignment, User

        first, last = _bounds(month)
        with self.uow_factory() as uow:
            s = uow.session
            q = select(User.id, User.name, User.display_name).where(
                User.role == (principal.role if only is not None else "account_manager"))
            if only is not None:
                q = q.where(User.id == only)
            managers = [(int(i), n, d) for i, n, d in s.execute(q.order_by(User.name)).all()]
            ids = [m[0] for m in managers]
            port = s.execute(select(PortfolioAssignment.user_id, PortfolioAssignment.customer_id)
                             .where(PortfolioAssignment.user_id.in_(ids))).all() if ids else []
            orders = {int(u): (int(n), int(d or 0)) for u, n, d in s.execute(
                select(WorkOrder.assignee_id, func.count(), func.sum(case((WorkOrder.status == "done", 1), else_=0)))
                .where(WorkOrder.month == month, WorkOrder.assignee_id.in_(ids))
                .group_by(WorkOrder.assignee_id)).all()} if ids else {}
            customers = sorted({c for _, c in port})
            visits = s.execute(select(ReturnVisitTask.customer_id, ReturnVisitTask.status)
                               .where(ReturnVisitTask.due_on >= first, ReturnVisitTask.due_on <= last,
                                      ReturnVisitTask.status != "cancelled",
                                      ReturnVisitTask.customer_id.in_(customers))).all() if customers else []
        owners: dict[str, list[int]] = {}
        for u, c in port:
            owners.setdefault(c, []).append(int(u))
        rv: dict[int, list[int]] = {}
        for c, status in visits:
            for u in owners.get(c, []):
                done_total = rv.setdefault(u, [0, 0])
                done_total[1] += 1
                done_total[0] += int(status == "done")
        prev = month_add(month, -1)
        has_prev = self._has("subscribers", prev)
        con = self._connect(scope)
        try:
            con.register("port", pa.table({"user_id": pa.array([int(u) for u, _ in port], pa.int64()),
                                           "customer_id": pa.array([c for _, c in port], pa.string())}))
            pop = self._pop(con, month, scope)
            rev_now = self._portfolio_revenue(con, pop, month)
            kept: dict[int, tuple[int, int]] = {}
            rev_prev: dict[int, float] = {}
            if has_prev and (not scope.segment or self._has("profiles", prev, "output")):
                pop0 = self._pop(con, prev, scope)
                kept = {int(u): (int(b), int(k)) for u, b, k in con.execute(f"""
                    select p.user_id, count(*), count(*) filter (where s1.status is not null
                                                                  and s1.status <> 'churned')
                    from {pop0} s0 join port p on p.customer_id = s0.customer_id
                    left join {self._path('subscribers', month)} s1 on s1.subscriber_id = s0.subscriber_id
                    where s0.status <> 'churned' group by 1""").fetchall()}
                rev_prev = self._portfolio_revenue(con, pop0, prev)
        finally:
            con.close()
        rows = []
        cfg = self.appraisal_config
        for uid, name, display in managers:
            base, k = kept.get(uid, (0, 0))
            kept_rate = _rate(k, base)
            r0, r1 = rev_prev.get(uid), rev_now.get(uid)
            change = (r1 or 0.0) / r0 - 1 if r0 else None
            n_orders, done = orders.get(uid, (0, 0))
            v_done, v_total = rv.get(uid, [0, 0])
            measures = {"kept_rate": kept_rate, "revenue_change": change,
                        "contact_completion": _rate(done, n_orders), "return_visit_coverage": _rate(v_done, v_total)}
            rows.append((name, display or name, sum(1 for u, _c in port if u == uid), base, k, kept_rate,
                         r0, r1, change, n_orders, done, measures["contact_completion"], v_total, v_done,
                         measures["return_visit_coverage"], cfg.score(measures)))
        rows.sort(key=lambda r: (-(r[-1] if r[-1] is not None else -1), r[0]))
        notes = [] if has_prev else [f"subscribers {prev} is not loaded: kept-rate and revenue change need it"]
        return self._doc("appraisal", month, scope, {
            "account_managers": len(rows), "weights": dict(cfg.weights),
            "revenue_change_cap": cfg.revenue_change_cap}, [
            tbl("appraisal", "Account-manager appraisal", [
                col("account_manager", "Account manager", "text"), col("display_name", "Name", "text"),
                col("customers", "Customers"), col("base", f"Active {prev}"), col("kept", f"Still active {month}"),
                col("kept_rate", "Kept-rate", "pct"), col("revenue_prev", f"Revenue {prev}", "money"),
                col("revenue", f"Revenue {month}", "money"), col("revenue_change", "Revenue change", "pct"),
                col("work_orders", "Work orders"), col("done", "Done"),
                col("contact_completion", "Contact completion", "pct"), col("visits_due", "Return visits due"),
                col("visits_done", "Visits done"), col("return_visit_coverage", "Return-visit coverage", "pct"),
                col("score", "Score", "num")], rows),
        ], notes)

    def _portfolio_revenue(self, con: duckdb.DuckDBPyConnection, pop: str, month: str) -> dict[int, float]:
        if not self._has("monthly_usage", month):
            return {}
        return {int(u): float(r or 0) for u, r in con.execute(f"""
            select p.user_id, round(sum(u.revenue), 2)
            from {pop} s join port p on p.customer_id = s.customer_id
            join {self._path('monthly_usage', month)} u using (subscriber_id)
            group by 1""").fetchall()}

    # -- service products (care messages) ------------------------------------------------------
    def service(self, month: str, scope: Scope) -> dict[str, Any]:
        """Care contacts of the month against the warnings published at the end of the month before.

        Reach: warned subscribers with an outbound care contact in the month. Timeliness:
        days from the first of the month (the warnings are published at the previous
        month's end) to the first care contact. Kept and revenue: the warned subscribers
        reached against those not reached (not causal: who gets a care message is not random).
        Uptake: accepted among reached work-order outcomes of the month, from the store.
        """
        month = _month(month)
        prev = month_add(month, -1)
        for t, m, a in (("channel_contacts", month, "input"), ("warnings", prev, "output"),
                        ("subscribers", month, "input")):
            if not self._has(t, m, a):
                raise NotFound(f"{t} {m} is not available" + (": run the month first" if a == "output" else ""))
        first, _ = _bounds(month)
        usage = (self._path("monthly_usage", month) if self._has("monthly_usage", month)
                 else "(select null::varchar subscriber_id, 0::double revenue where false)")
        con = self._connect(scope)
        try:
            pop0 = self._pop(con, prev, scope) if self._has("subscribers", prev) else None
            if pop0 is None:
                raise NotFound(f"subscribers {prev} is not loaded")
            con.execute(f"""
                create temp table care as
                select subscriber_id, channel, contacted_at::timestamp contacted_at
                from {self._path('channel_contacts', month)} where purpose = 'care' and direction = 'outbound'
            """)
            con.execute(f"""
                create temp table warned as
                with w as (select distinct subscriber_id from {self._path('warnings', prev, 'output')}),
                     firsts as (select subscriber_id, min(contacted_at) first_at from care group by 1)
                select w.subscriber_id, f.first_at,
                       date_diff('day', ?::date, f.first_at::date) n_days,
                       s1.status is not null and s1.status <> 'churned' kept,
                       coalesce(u.revenue, 0)::double revenue
                from w join {pop0} s0 using (subscriber_id)
                left join firsts f using (subscriber_id)
                left join {self._path('subscribers', month)} s1 using (subscriber_id)
                left join {usage} u using (subscriber_id)
                where s0.status <> 'churned'
            """, [first])
            warned, reached, median, within = con.execute(f"""
                select count(*), count(first_at), median(n_days) filter (where first_at is not null),
                       count(*) filter (where n_days < {TIMELY_DAYS})
                from warned""").fetchone()  # type: ignore[misc]
            groups = {r[0]: r[1:] for r in con.execute("""
                select first_at is not null, count(*), count(*) filter (where kept), avg(revenue)
                from warned group by 1""").fetchall()}
            channels = [(c, int(n), int(s)) for c, n, s in con.execute("""
                select channel, count(*), count(distinct subscriber_id) from care group by 1 order by 1
            """).fetchall()]
            unwarned = int(con.execute("select count(distinct subscriber_id) from care where subscriber_id not in "
                                       "(select subscriber_id from warned)").fetchone()[0])  # type: ignore[index]
        finally:
            con.close()
        uptake, accepted, reached_wo = self._uptake(month)

        def arm(flag: bool, label: str) -> tuple:
            n, k, r = groups.get(flag, (0, 0, None))
            return (label, int(n), int(k), _rate(k, n), None if r is None else round(float(r), 2))

        arms = [arm(True, "care reached"), arm(False, "not reached")]
        kept_gap = (arms[0][3] - arms[1][3]) if arms[0][3] is not None and arms[1][3] is not None else None
        rev_gap = (arms[0][4] - arms[1][4]) if arms[0][4] is not None and arms[1][4] is not None else None
        notes = [("kept and revenue compare warned subscribers reached by care with those not reached: "
                 "not causal (who receives a care message is not random); a care campaign with a control "
                 "group is evaluated on the evaluation page"),
                 ("channel_contacts carry no response, so uptake comes from the work-order outcomes of the month "
                 "(all campaigns); reminder messages are not told apart from other care contacts in the data")]
        return self._doc("service", month, scope, {
            "warned": int(warned), "reached": int(reached), "reach": _rate(reached, warned),
            "median_days": None if median is None else float(median),
            "timely": int(within), "timely_share": _rate(within, reached), "timely_days": TIMELY_DAYS,
            "uptake": uptake, "accepted": accepted, "reached_work_orders": reached_wo,
            "kept_gap": kept_gap, "revenue_gap": rev_gap, "care_to_unwarned": unwarned}, [
            tbl("outcome", "Warned subscribers: care against none", [
                col("group", "Group", "text"), col("subscribers", "Subscribers"), col("kept", "Still active"),
                col("kept_rate", "Kept-rate", "pct"), col("revenue", "Average revenue", "money")], arms),
            tbl("channels", "Care contacts by channel", [col("channel", "Channel", "text"),
                                                         col("contacts", "Contacts"),
                                                         col("subscribers", "Subscribers")], channels),
        ], notes)

    def _uptake(self, month: str) -> tuple[float | None, int | None, int | None]:
        if self.uow_factory is None:
            return None, None, None
        from sqlalchemy import select

        from tenure.engines.store.campaign_models import WorkOrder, WorkOrderOutcome

        with self.uow_factory() as uow:
            rows = uow.session.execute(
                select(WorkOrderOutcome.work_order_id, WorkOrderOutcome.reached, WorkOrderOutcome.response)
                .join(WorkOrder, WorkOrder.id == WorkOrderOutcome.work_order_id)
                .where(WorkOrder.month == month)).all()
        reached = {w for w, r, _ in rows if r}
        accepted = {w for w, r, resp in rows if r and resp == "accepted"}
        return _rate(len(accepted), len(reached)), len(accepted), len(reached)


def insight_service(services: Any) -> InsightService:
    """The service wired from the application's services (web, API and CLI share it)."""
    s = services.settings
    return InsightService(services.warehouse, services.uow, threads=s.duckdb_threads,
                          memory_limit=s.duckdb_memory_limit, appraisal=load_appraisal_config(s.home))


def read_report(service: InsightService, principal: Any, kind: str, month: str, region: str | None = None,
                segment: str | None = None) -> dict[str, Any]:
    """One report for ``principal``: the checks every interface (page, API, export) goes through.

    The appraisal has its own rule (an account manager: their own row; administrators and
    retention managers: everyone); every other report needs an insight role, and a channel
    owner's reports are limited to their regions.
    """
    if kind == "appraisal":
        return service.report(kind, month, Scope(region=region or None, segment=segment or None), principal)
    return service.report(kind, month, scope_for(principal, region, segment))


def may_read(principal: Any, kind: str) -> bool:
    """Whether the menu offers ``kind`` to ``principal`` (the service checks again on read)."""
    if kind == "appraisal":
        return principal.role in (*APPRAISAL_ALL_ROLES, *APPRAISAL_OWN_ROLES)
    return principal.role in INSIGHT_ROLES
