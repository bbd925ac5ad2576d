"""CLI commands: train and manage the early-warning models (``tenure model ...``)
and the daily early warning (``tenure run-day``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table
from tenure.services import models

model_app = typer.Typer(help="Train, list, promote and compare early-warning models.", no_args_is_help=True)

METRICS = ("roc_auc", "pr_auc", "top_decile_lift", "brier")


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _render_card(doc: dict[str, Any]) -> None:
    m = doc["metrics"]
    console.print(f"[bold]{doc['id']}[/bold]{' (promoted)' if doc.get('promoted') else ''}  created {doc['created_at']}")
    console.print(f"  target {m.get('target')}, horizon {m.get('horizon')} months, "
                  f"training window {doc['training_window']}, {doc['rows']:,} rows, validated on {m.get('validation_month')}")
    console.print(table("metrics (out of time)", ["metric", "value"],
                        [[k, _fmt(m.get(k))] for k in (*METRICS, "base_rate")]))
    calib = [[f"{r['bin_low']:.1f}-{r['bin_high']:.1f}", r["count"], _fmt(r["mean_predicted"]), _fmt(r["observed_rate"])]
             for r in m.get("calibration", [])]
    if calib:
        console.print(table("calibration", ["probability", "customers", "mean predicted", "observed"], calib))
    console.print(f"  {len(doc['features'])} features; data fingerprint {doc['data_fingerprint'][:16]}…")
    console.print("  " + ", ".join(f"{k} {v}" for k, v in doc["libraries"].items()))


def _render_train(doc: dict[str, Any]) -> None:
    _render_card({"id": models.model_id(doc["model"]["name"], doc["model"]["version"]), **doc["model"]})
    console.print(f"  {doc['positives']:,} positive rows; rows by month: {doc['rows_by_month']}")
    if doc["sample_share"] < 1.0:
        console.print(f"  sampled {doc['sample_share']:.2%} of subscribers (--max-rows)")


def _render_list(doc: dict[str, Any]) -> None:
    rows = [[r["id"], "yes" if r["promoted"] else "", r["created_at"], "–".join(r["training_window"] or []),
             f"{r['rows']:,}", *(_fmt(r[k]) for k in METRICS)] for r in doc["models"]]
    console.print(table("models", ["id", "promoted", "created", "window", "rows", *METRICS], rows))


def _render_compare(doc: dict[str, Any]) -> None:
    rows = [[k, _fmt(v["a"]), _fmt(v["b"]), f"{v['change']:+.3f}"] for k, v in doc["metrics"].items()]
    console.print(table(f"{doc['name']} {doc['a']} → {doc['b']}", ["metric", doc["a"], doc["b"], "change"], rows))
    console.print(f"  features added {doc['features_added']}, removed {doc['features_removed']}; "
                  f"same data: {doc['same_data']}; windows {doc['training_window']}")
    for k, v in doc["params_changed"].items():
        console.print(f"  parameter {k}: {v['a']} → {v['b']}")


AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@model_app.command("train")
def train(
    target: Annotated[str, typer.Option("--target", help="churn or downgrade.")] = "churn",
    horizon: Annotated[int, typer.Option("--horizon", min=1, max=12, help="Months ahead the label looks.")] = 2,
    until: Annotated[str, typer.Option("--until", help="Last loaded month usable for labels (YYYY-MM).")] = "",
    snapshots: Annotated[int, typer.Option("--snapshots", min=2, max=24, help="Monthly snapshots to learn from.")] = models.SNAPSHOTS,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0,
        help="Snapshot rows to learn from at most, all months together; beyond it the same share of "
             "subscribers is sampled from every month. 0: no limit.")] = models.TRAINING_ROWS,
    as_json: AsJson = False,
) -> None:
    """Train on the monthly feature snapshots up to UNTIL - HORIZON and register a new version."""
    if not until:
        raise typer.BadParameter("--until YYYY-MM is required")
    with console.status("training", spinner="dots") if not as_json else _null():
        doc = models.train(get_settings(), target, horizon, until, snapshots, max_rows=max_rows)
    report(doc, as_json, _render_train)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


@model_app.command("list")
def list_(name: Annotated[str | None, typer.Argument(help="churn or downgrade (default: all).")] = None,
          as_json: AsJson = False) -> None:
    """Every registered model version."""
    report({"models": models.list_models(get_settings(), name)}, as_json, _render_list)


@model_app.command("show")
def show(ident: Annotated[str, typer.Argument(help="NAME/vNNNN, or NAME for the promoted one.")],
         as_json: AsJson = False) -> None:
    """One version's card: metrics, calibration, features, window, fingerprint, libraries."""
    report(models.show_model(get_settings(), ident), as_json, _render_card)


@model_app.command("promote")
def promote(ident: Annotated[str, typer.Argument(help="NAME/vNNNN.")],
            as_json: AsJson = False) -> None:
    """Make this version the one `tenure run-month` scores with."""
    report(models.promote_model(get_settings(), ident), as_json,
           lambda d: console.print(f"{d['id']} promoted: run-month now scores with it"))


@model_app.command("compare")
def compare(a: Annotated[str, typer.Argument(help="NAME/vNNNN")], b: Annotated[str, typer.Argument(help="NAME/vNNNN")],
            as_json: AsJson = False) -> None:
    """What changed between two versions: metrics, features, parameters, data."""
    report(models.compare_models(get_settings(), a, b), as_json, _render_compare)


def _render_day(doc: dict[str, Any]) -> None:
    console.print(f"[bold]{doc['day']}[/bold]: {doc['warnings']:,} warnings for {doc['subscribers']:,} subscribers "
                  f"({doc['core_subscribers']:,} core); core customers from profiles of {doc['profiles_month'] or 'no month'}")
    console.print(table("reasons", ["reason", "warnings"], [[k, f"{v:,}"] for k, v in doc["reasons"].items()]))
    reason = f"reason_{get_settings().cli_language}"
    rows = [[r["priority"], r["subscriber_id"], "yes" if r["is_core"] else "", r[reason], r["detail"], r["family"]]
            for r in doc["top"]]
    console.print(table("first in line", ["#", "subscriber", "core", "reason", "detail", "family"], rows))


def run_day_command(
    day: Annotated[str, typer.Argument(help="The day to check (YYYY-MM-DD); its month must be loaded.")],
    engine: Annotated[str | None, typer.Option("--engine", help="duckdb or spark.")] = None,
    as_json: AsJson = False,
) -> None:
    """Daily early warning: each subscriber's day against their own recent baseline, plus the day's events."""
    from tenure.services.daily import run_day

    report(run_day(get_settings(), day, engine=engine), as_json, _render_day)


def register(app: typer.Typer) -> None:
    """Add ``model`` (train/list/show/promote/compare) and ``run-day`` to ``app``."""
    app.add_typer(model_app, name="model")
    app.command("run-day")(run_day_command)
