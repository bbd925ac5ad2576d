"""Evaluation page: a campaign's effect against its control group with intervals, and snapshot retention."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from tenure.domain.errors import TenureError
from tenure.interfaces.api.deps import ServicesDep
from tenure.interfaces.api.evaluation import check_evaluation_reader, evaluation_service
from tenure.interfaces.web import charts
from tenure.interfaces.web.pages import PageUser, render

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
