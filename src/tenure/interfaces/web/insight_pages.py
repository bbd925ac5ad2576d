"""Insight pages: programme KPIs, customer insight reports and the account-manager appraisal.

Each report is one page with filters (month, region, segment), its charts, its
tables and an Excel download of exactly the tables shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from tenure.domain.errors import NotFound, PermissionDenied, TenureError
from tenure.domain.model import MONTH_RE
from tenure.interfaces.api.deps import ServicesDep
from tenure.interfaces.api.insight import XLSX
from tenure.interfaces.web import charts
from tenure.interfaces.web.pages import PageUser, render
from tenure.services.insight import (
    INSIGHT_ROLES,
    KINDS,
    Scope,
    insight_service,
    may_read,
    read_report,
    records,
    table_of,
    workbook,
)

router = APIRouter(include_in_schema=False)

Filter = Annotated[str | None, Query(max_length=64)]

TITLES = {
    "kpis": "Programme KPIs", "revenue": "Revenue analysis", "bundling": "Product combination and bundling",
    "agreements": "Agreements expiring", "quality": "Customer quality", "arrears": "Arrears",
    "lockin": "Lock-in", "appraisal": "Account-manager appraisal", "service": "Care messages",
}
DESCRIPTIONS = {
    "kpis": "Snapshot retention of the core customers, bundling rate, satisfaction and core customers by grade.",
    "revenue": "Revenue by segment, plan and region, and its trend.",
    "bundling": "Products held together and bundling penetration by region and segment.",
    "agreements": "Agreements ending in the next twelve months with the value at stake.",
    "quality": "Core share, card grade, credit and value mix.",
    "arrears": "Arrears by months overdue and the repeat offenders.",
    "lockin": "Share under contract or in a bundle and the contract months remaining.",
    "appraisal": "Per account manager: kept-rate, revenue change, contact completion, return visits, score.",
    "service": "Care contacts after a warning: reach, timeliness, uptake and customers kept.",
}
SUMMARY = {  # key, label, format
    "kpis": [("core_customers", "Core customers", "int"), ("bundling_rate", "Bundling rate", "pct")],
    "revenue": [("revenue", "Revenue", "money"), ("active", "Active", "int"), ("arpu", "ARPU", "money")],
    "bundling": [("active", "Active", "int"), ("bundling_rate", "Bundling rate", "pct"),
                 ("bundle_plan_share", "On a bundle plan", "pct")],
    "agreements": [("agreements", "Agreements", "int"), ("value", "Committed value", "money"),
                   ("monthly_revenue", "Monthly revenue at stake", "money")],
    "quality": [("active", "Active", "int"), ("core", "Core", "int"), ("core_share", "Core share", "pct")],
    "arrears": [("in_arrears", "In arrears", "int"), ("amount", "Arrears", "money"),
                ("repeat_offenders", "Repeat offenders", "int")],
    "lockin": [("active", "Active", "int"), ("locked_share", "Locked-in share", "pct"),
               ("under_contract", "Under contract", "int")],
    "appraisal": [("account_managers", "Account managers", "int")],
    "service": [("warned", "Warned", "int"), ("reach", "Reach", "pct"), ("median_days", "Median days", "num"),
                ("timely_share", "Within 7 days", "pct"), ("uptake", "Uptake", "pct"),
                ("kept_gap", "Kept-rate gap (not causal)", "pct")],
}
# table, chart kind, x column, y columns, title, percent axis
CHARTS: dict[str, list[tuple[str, str, str, tuple[str, ...], str, bool]]] = {
    "kpis": [("retention", "line", "month", ("retention_rate", "kept_grade_rate"), "Snapshot retention", True),
             ("bundling", "line", "month", ("bundling_rate",), "Bundling rate", True),
             ("satisfaction", "line", "month", ("avg_score",), "Average satisfaction", False),
             ("core_grades", "stack", "month", ("silver", "gold", "diamond", "none"), "Core customers by grade",
              False)],
    "revenue": [("trend", "line", "month", ("revenue",), "Revenue trend", False),
                ("by_segment", "bar", "segment", ("revenue",), "Revenue by segment", False),
                ("by_region", "bar", "region", ("revenue",), "Revenue by region", False),
                ("by_plan", "bar", "plan_name", ("revenue",), "Revenue by plan", False)],
    "bundling": [("combinations", "pie", "combination", ("subscribers",), "Product combinations", False),
                 ("by_region", "bar", "region", ("bundling_rate",), "Penetration by region", True),
                 ("by_segment", "bar", "segment", ("bundling_rate",), "Penetration by segment", True),
                 ("trend", "line", "month", ("bundling_rate",), "Bundling rate trend", True)],
    "agreements": [("by_month", "bar", "month", ("value",), "Committed value by end month", False),
                   ("by_month", "bar", "month", ("agreements",), "Agreements by end month", False)],
    "quality": [("grades", "pie", "grade", ("subscribers",), "Card grade mix", False),
                ("credit", "bar", "credit", ("subscribers",), "Credit mix", False),
                ("trend", "line", "month", ("core_share",), "Core share trend", True)],
    "arrears": [("ageing", "bar", "age", ("subscribers",), "Subscribers by months overdue", False),
                ("trend", "line", "month", ("amount",), "Arrears by month", False)],
    "lockin": [("categories", "pie", "category", ("subscribers",), "Lock-in", False),
               ("remaining", "bar", "months", ("subscribers",), "Contract months remaining", False)],
    "appraisal": [("appraisal", "bar", "account_manager", ("score",), "Score", False)],
    "service": [("outcome", "bar", "group", ("kept_rate",), "Kept-rate of warned subscribers", True),
                ("channels", "bar", "channel", ("contacts",), "Care contacts by channel", False)],
}


def _charts(kind: str, doc: dict[str, Any], gettext: Any) -> list[Markup]:
    out = []
    for i, (name, how, x, ys, title, percent) in enumerate(CHARTS.get(kind, [])):
        rows = records(table_of(doc, name))
        if not rows:
            continue
        labels = {c["key"]: c["label"] for c in table_of(doc, name)["columns"]}
        xs = [r[x] for r in rows]
        series: dict[str, Sequence[Any]] = {str(gettext(labels.get(y, y))): [r.get(y) for r in rows]
                                            for y in ys if y in labels}
        div = f"insight-{kind}-{i}"
        if how == "pie":
            out.append(charts.pie(div, gettext(title), xs, next(iter(series.values()))))
        elif how == "line":
            out.append(charts.line(div, gettext(title), xs, series, percent=percent))
        else:
            out.append(charts.bar(div, gettext(title), xs, series, stacked=how == "stack"))
    return out


def _kinds_for(user: Any) -> list[str]:
    return [k for k in KINDS if may_read(user, k)]


@router.get("/insight", response_class=HTMLResponse)
def insight_index(request: Request, user: PageUser) -> HTMLResponse:
    kinds = _kinds_for(user)
    if not kinds:
        raise PermissionDenied(f"{user.name} ({user.role}) may not read insight reports")
    return render(request, "insight_index.html", user, kinds=kinds, titles=TITLES, descriptions=DESCRIPTIONS)


def _month_of(services: Any, month: str | None) -> tuple[list[str], str | None]:
    months = insight_service(services).months()
    if month and MONTH_RE.match(month) and month in months:
        return months, month
    return months, months[0] if months else None


@router.get("/insight/{kind}/xlsx")
def insight_xlsx(kind: str, user: PageUser, services: ServicesDep, month: Filter = None, region: Filter = None,
                 segment: Filter = None) -> Response:
    _, month = _month_of(services, month)
    if month is None:
        raise NotFound("no month is loaded")
    doc = read_report(insight_service(services), user, kind, month, region, segment)
    return Response(workbook(doc), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="insight-{kind}-{month}.xlsx"'})


@router.get("/insight/{kind}", response_class=HTMLResponse)
def insight_report(request: Request, kind: str, user: PageUser, services: ServicesDep, month: Filter = None,
                   region: Filter = None, segment: Filter = None) -> HTMLResponse:
    if kind not in KINDS:
        raise NotFound(f"no insight report {kind!r}")
    if not may_read(user, kind):
        raise PermissionDenied(f"{user.name} ({user.role}) may not read the {kind} report")
    svc = insight_service(services)
    months, month = _month_of(services, month)
    region, segment = region or None, segment or None
    choices: dict[str, list[str]] = {"regions": [], "segments": []}
    doc, error, figures = None, None, []
    if month:
        allowed = tuple(user.regions) if user.scope == "regions" else None
        choices = svc.choices(month, Scope(allowed_regions=allowed))
        try:
            doc = read_report(svc, user, kind, month, region, segment)
            figures = _charts(kind, doc, _gettext(request, user))
        except PermissionDenied:
            raise
        except TenureError as exc:
            error = str(exc)
    query = urlencode([(k, v) for k, v in (("month", month), ("region", region), ("segment", segment)) if v])
    return render(request, "insight_report.html", user, kind=kind, kinds=_kinds_for(user), titles=TITLES,
                  months=months, month=month, region=region, segment=segment, choices=choices, doc=doc,
                  error=error, figures=figures, summary=SUMMARY.get(kind, []), query=query,
                  insight_roles=INSIGHT_ROLES)


def _gettext(request: Request, user: Any) -> Any:
    from tenure.interfaces.web.i18n import Formatter
    from tenure.interfaces.web.pages import locale_of

    return Formatter(locale_of(request, user)).gettext
