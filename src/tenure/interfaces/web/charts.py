"""Plotly figures for the pages, rendered as a div; plotly.min.js is served by the app."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from markupsafe import Markup

PALETTE = ["#1f5f8b", "#e07b39", "#3a9d5d", "#c0392b", "#8e6bb8", "#7f8c8d", "#d4a017"]


def _layout(fig: go.Figure, title: str, height: int = 300) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 14}}, height=height, margin={"l": 50, "r": 20, "t": 40, "b": 40},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", colorway=PALETTE,
        font={"family": "system-ui, -apple-system, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif", "size": 12},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def render(fig: go.Figure, div_id: str) -> Markup:
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})
    return Markup(html)


def bar(div_id: str, title: str, x: Sequence, ys: dict[str, Sequence], stacked: bool = False) -> Markup:
    fig = go.Figure([go.Bar(name=name, x=list(x), y=list(y)) for name, y in ys.items()])
    if stacked:
        fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return render(_layout(fig, title), div_id)


def line(div_id: str, title: str, x: Sequence, ys: dict[str, Sequence], percent: bool = False) -> Markup:
    fig = go.Figure([go.Scatter(name=name, x=list(x), y=list(y), mode="lines+markers") for name, y in ys.items()])
    if percent:
        fig.update_yaxes(tickformat=".1%")
    fig.update_xaxes(type="category")
    return render(_layout(fig, title), div_id)


def pie(div_id: str, title: str, labels: Sequence, values: Sequence) -> Markup:
    fig = go.Figure([go.Pie(labels=list(labels), values=list(values), hole=0.45, sort=False)])
    return render(_layout(fig, title), div_id)


def heatmap(div_id: str, title: str, x: Sequence, y: Sequence, z: Sequence[Sequence], x_title: str,
            y_title: str) -> Markup:
    fig = go.Figure([go.Heatmap(x=list(x), y=list(y), z=[list(r) for r in z], colorscale="Blues",
                                texttemplate="%{z}")])
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title=y_title, type="category", autorange="reversed")
    return render(_layout(fig, title), div_id)


def calibration(div_id: str, title: str, predicted: Sequence, observed: Sequence, counts: Sequence,
                x_title: str, y_title: str, diagonal: str) -> Markup:
    """Observed rate against mean predicted probability per bin, with the perfect-calibration diagonal."""
    fig = go.Figure([
        go.Scatter(name=diagonal, x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#7f8c8d"}),
        go.Scatter(name=y_title, x=list(predicted), y=list(observed), mode="lines+markers",
                   text=[f"n={c}" for c in counts], marker={"size": [6 + min(14, (c or 0) ** 0.5 / 3) for c in counts]}),
    ])
    fig.update_xaxes(title=x_title, range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title=y_title, range=[0, 1], tickformat=".0%")
    return render(_layout(fig, title, height=340), div_id)


def gains(div_id: str, title: str, deciles: Sequence, lift: Sequence, cumulative: Sequence,
          lift_name: str, gain_name: str, x_title: str) -> Markup:
    """Lift per risk decile (bars) and the cumulative share of leavers caught (line, right axis)."""
    fig = go.Figure([
        go.Bar(name=lift_name, x=list(deciles), y=list(lift), yaxis="y"),
        go.Scatter(name=gain_name, x=list(deciles), y=list(cumulative), mode="lines+markers", yaxis="y2"),
    ])
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "range": [0, 1.05], "dtick": 0.25, "tickformat": ".0%"})
    fig.add_hline(y=1, line_dash="dot", line_color="#7f8c8d")
    fig.update_xaxes(title=x_title, type="category")
    return render(_layout(fig, title, height=340), div_id)


def psi(div_id: str, title: str, names: Sequence, values: Sequence, threshold: float, threshold_name: str,
        horizontal: bool = True) -> Markup:
    """Population stability index per feature (or per month) with the warning threshold marked."""
    colours = ["#c0392b" if (v or 0) > threshold else "#1f5f8b" for v in values]
    if horizontal:
        fig = go.Figure([go.Bar(x=list(values), y=list(names), orientation="h", marker_color=colours, name="PSI")])
        fig.add_vline(x=threshold, line_dash="dash", line_color="#c0392b", annotation_text=threshold_name)
        fig.update_yaxes(type="category", autorange="reversed")
        height = max(240, 22 * len(names) + 80)
    else:
        fig = go.Figure([go.Bar(x=list(names), y=list(values), marker_color=colours, name="PSI")])
        fig.add_hline(y=threshold, line_dash="dash", line_color="#c0392b", annotation_text=threshold_name)
        fig.update_xaxes(type="category")
        height = 300
    fig.update_layout(showlegend=False)
    return render(_layout(fig, title, height=height), div_id)


def intervals(div_id: str, title: str, x: Sequence, series: dict[str, tuple[Sequence, Sequence, Sequence]],
              percent: bool = False, zero_line: bool = True) -> Markup:
    """Point estimates with their confidence intervals as error bars: ``{name: (values, lows, highs)}``.

    A missing value (``None``) leaves its point out; a missing bound draws the point without a bar.
    """
    traces = []
    for name, (ys, lows, highs) in series.items():
        up = [None if y is None or h is None else h - y for y, h in zip(ys, highs, strict=True)]
        down = [None if y is None or lo is None else y - lo for y, lo in zip(ys, lows, strict=True)]
        bars = ({"error_y": {"type": "data", "symmetric": False, "array": up, "arrayminus": down}}
                if any(v is not None for v in up + down) else {})
        traces.append(go.Scatter(name=name, x=list(x), y=list(ys), mode="markers", marker={"size": 10}, **bars))
    fig = go.Figure(traces)
    if zero_line:
        fig.add_hline(y=0, line_dash="dot")
    if percent:
        fig.update_yaxes(tickformat=".1%")
    fig.update_xaxes(type="category")
    return render(_layout(fig, title), div_id)
