"""Evaluation pages: a campaign's effect against its control group with intervals, snapshot retention,
and the breakdowns by segment, channel, executor and strategy (each with interval charts and Excel)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import Markup
from starlette.background import BackgroundTask

from tenure.domain.errors import InputError, TenureError
from tenure.domain.model import parse_month
from tenure.interfaces.api.deps import ServicesDep
from tenure.interfaces.api.evaluation import (
    breakdown_scope,
    breakdown_service,
    check_evaluation_reader,
    evaluation_service,
)
from tenure.interfaces.web import charts
from tenure.interfaces.web.i18n import Formatter
from tenure.interfaces.web.pages import PageUser, locale_of, render

router = APIRouter(include_in_schema=False)


def _effect_chart(doc: dict[str, Any], metric: str, title: str, percent: bool) -> Markup | None:
    """Difference treated − control per horizon with its 95% interval as error bars."""
    points = [(h["month"], m) for h in doc["horizons"] for m in h["metrics"]
              if m["metric"] == metric and m["difference"] is not None and m["ci_low"] is not None]
    if not points:
        return None
    x = [f"+{i + 1} {month}" for i, (month, _) in enumerate(points)]
    y = [m["difference"] for _, m in points]
    fig = go.Figure([go.Scatter(
        x=x, y=y, mode="markers", marker={"size": 10}, name=metric,
        error_y={"type": "data", "symmetric": False,
                 "array": [m["ci_high"] - m["difference"] for _, m in points],
                 "arrayminus": [m["difference"] - m["ci_low"] for _, m in points]},
    )])
    fig.add_hline(y=0, line_dash="dot")
    fig.update_xaxes(type="category")
    if percent:
        fig.update_yaxes(tickformat=".1%")
    fig.update_layout(title={"text": title, "font": {"size": 14}}, height=300, showlegend=False,
                      margin={"l": 50, "r": 20, "t": 40, "b": 40},
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
    return charts.render(fig, f"effect-{metric}")


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation(request: Request, user: PageUser, services: ServicesDep, month: str | None = None,
               campaign: str | None = None) -> HTMLResponse:
    check_evaluation_reader(user)
    svc = evaluation_service(services)
    months = svc.planned_months()
    month = month if month in months else (months[0] if months else None)
    campaigns = svc.planned_campaigns(month) if month else []
    campaign = campaign if campaign in campaigns else (campaigns[0] if campaigns else None)
    effect, snapshot, error, chart_churn, chart_arpu = None, None, None, None, None
    if month and campaign:
        try:
            effect = svc.campaign_effect(campaign, month)
            chart_churn = _effect_chart(effect, "churn_rate", "Churn rate: treated − control (95% CI)", True)
            chart_arpu = _effect_chart(effect, "arpu_change", "ARPU change: treated − control (95% CI)", False)
        except TenureError as exc:
            error = str(exc)
    if month:
        try:
            snapshot = svc.snapshot_retention(month)
        except TenureError:
            snapshot = None
    return render(request, "evaluation.html", user, months=months, month=month, campaigns=campaigns,
                  campaign=campaign, effect=effect, error=error, snapshot=snapshot,
                  chart_churn=chart_churn, chart_arpu=chart_arpu)


# -- breakdowns: segments, channels, executors, strategies -------------------------------------------
Kind = Literal["segments", "channels", "executors", "strategies"]
TABS = (("", "Campaign effect"), ("segments", "Segments"), ("channels", "Channels"), ("executors", "Executors"),
        ("strategies", "Strategy optimisation"))


def _month_arg(month: str | None) -> str | None:
    if not month:
        return None
    try:
        return parse_month(month)
    except (InputError, ValueError):
        raise InputError(f"month must look like 2026-01, got {month!r}") from None


def _breakdown_charts(doc: dict[str, Any], _: Any) -> list[Markup]:
    rows = doc["rows"]
    kind = doc["kind"]

    def series(items: list[dict[str, Any]]) -> tuple[list, list, list]:
        return ([m.get("difference") for m in items], [m.get("ci_low") for m in items],
                [m.get("ci_high") for m in items])

    out: list[Markup] = []
    if kind == "segments" and rows:
        x = [r["segment_id"] for r in rows]
        for metric, label, title, pct in (
                ("churn_rate", "Churn rate", "Churn rate: treated − control (95% CI)", True),
                ("downgrade_rate", "Downgrade rate", "Downgrade rate: treated − control (95% CI)", True),
                ("satisfaction", "Satisfaction", "Satisfaction: treated − control (95% CI)", False)):
            items = [next((m for m in r["metrics"] if m["metric"] == metric), {}) for r in rows]
            if any(m.get("difference") is not None for m in items):
                out.append(charts.intervals(f"breakdown-{metric}", _(title), x, {_(label): series(items)}, pct))
    elif kind == "channels" and rows:
        x = [r["channel"] for r in rows]
        out.append(charts.intervals("breakdown-kept", _("Kept-rate: treated − standardised control (95% CI)"), x,
                                    {_("Kept-rate"): series([r["kept"] for r in rows])}, True))
        out.append(charts.intervals("breakdown-acceptance", _("Acceptance rate of those reached (95% CI)"), x,
                                    {_("Acceptance rate"): ([r["acceptance_rate"] for r in rows],
                                                            [r["acceptance_ci_low"] for r in rows],
                                                            [r["acceptance_ci_high"] for r in rows])},
                                    True, zero_line=False))
    elif kind == "executors" and rows:
        x = [r["executor"] for r in rows]
        kept = [r["kept"] for r in rows]
        raw = [k.get("raw_difference") for k in kept]
        out.append(charts.intervals("breakdown-kept", _("Kept-rate against the control (95% CI)"), x,
                                    {_("same segment mix"): series(kept),
                                     _("raw (whole control)"): (raw, [None] * len(raw), [None] * len(raw))}, True))
        out.append(charts.intervals("breakdown-rates", _("Contact and success rates (95% CI)"), x, {
            _("Contact rate"): ([r["contact_rate"] for r in rows], [r["contact_ci_low"] for r in rows],
                                [r["contact_ci_high"] for r in rows]),
            _("Success rate"): ([r["success_rate"] for r in rows], [r["success_ci_low"] for r in rows],
                                [r["success_ci_high"] for r in rows])}, True, zero_line=False))
    elif kind == "strategies":
        itt = [r for r in rows if r["channel"] is None]
        if itt:
            x = [f"{r['segment_id']} · {r['strategy']}" for r in itt]
            out.append(charts.intervals("breakdown-per-yuan", _("Customers kept per yuan (95% CI)"), x,
                                        {_("Customers kept per yuan"): ([r["kept_per_yuan"] for r in itt],
                                                              [r["per_yuan_ci_low"] for r in itt],
                                                              [r["per_yuan_ci_high"] for r in itt])}))
    return out


def _xlsx_href(kind: str, month: str | None, horizon: int) -> str:
    q = f"horizon={horizon}" + (f"&month={month}" if month else "")
    return f"/evaluation/{kind}.xlsx?{q}"


@router.get("/evaluation/{kind}.xlsx")
def breakdown_xlsx(kind: Kind, user: PageUser, services: ServicesDep, month: str | None = None,
                   horizon: int = 1) -> FileResponse:
    from tenure.services.evaluation_breakdown import write_xlsx

    scope = breakdown_scope(user, kind)
    month = _month_arg(month)
    doc = breakdown_service(services).breakdown(kind, month, horizon, assignee_id=scope)
    tmp = Path(tempfile.mkdtemp(prefix="tenure-eval-")) / f"evaluation-{kind}-{month or 'all'}.xlsx"
    write_xlsx(doc, tmp)

    def _cleanup() -> None:
        tmp.unlink(missing_ok=True)
        tmp.parent.rmdir()

    return FileResponse(tmp, filename=tmp.name, background=BackgroundTask(_cleanup),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@router.get("/evaluation/{kind}", response_class=HTMLResponse)
def breakdown_page(request: Request, kind: Kind, user: PageUser, services: ServicesDep, month: str | None = None,
                   horizon: int = 1) -> HTMLResponse:
    scope = breakdown_scope(user, kind)
    svc = breakdown_service(services)
    months = svc.planned_months()
    month = _month_arg(month)
    if kind != "strategies" and month not in months:
        month = months[0] if months else None
    horizon = horizon if horizon in (1, 2, 3) else 1
    doc, error, figures = None, None, []
    if month or kind == "strategies":
        try:
            doc = svc.breakdown(kind, month, horizon, assignee_id=scope)
            figures = _breakdown_charts(doc, Formatter(locale_of(request, user)).gettext)
        except TenureError as exc:
            error = str(exc)
    return render(request, "evaluation_breakdown.html", user, kind=kind, tabs=TABS, months=months, month=month,
                  horizon=horizon, doc=doc, error=error, figures=figures, own_row_only=scope is not None,
                  xlsx=_xlsx_href(kind, month, horizon))

