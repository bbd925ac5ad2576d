"""CLI command: ``tenure model calibration MODEL_ID --month M`` (held-out calibration and lift)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tenure.config import get_settings
from tenure.interfaces.cli.output import console, report, table
from tenure.services import model_report


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * v:.1f}%"


def _verdict(within: bool | None) -> str:
    return "no bin large enough to judge" if within is None else ("yes" if within else "NO")


def _render(doc: dict[str, Any]) -> None:
    console.print(f"[bold]{doc['model_id']}[/bold] on {doc['month']} (held out; training window "
                  f"{'–'.join(doc['training_window'] or [])}; labels read up to {doc['labels_until']})", highlight=False)
    console.print(f"  {doc['rows']:,} customers, {doc['positives']:,} positive ({_pct(doc['base_rate'])}); "
                  f"mean predicted {_pct(doc['mean_predicted'])}; ROC AUC {doc['metrics']['roc_auc']:.3f}, "
                  f"Brier {doc['metrics']['brier']:.4f}", highlight=False)
    if doc.get("sample_share", 1.0) < 1.0:
        console.print(f"  measured on a stable sample of {_pct(doc['sample_share'])} of the month's subscribers "
                      "(--max-rows)", highlight=False)
    rows = [[f"{r['bin_low']:.1f}-{r['bin_high']:.1f}", f"{r['count']:,}", _pct(r["mean_predicted"]),
             _pct(r["observed_rate"]), "" if r["gap"] is None else f"{100 * r['gap']:+.1f}",
             "" if r["standard_error"] is None else f"{100 * r['standard_error']:.1f}"]
            for r in doc["calibration"]]
    console.print(table("calibration", ["probability", "customers", "mean predicted", "observed", "gap (points)",
                                        "std. error (points)"], rows))
    gap = doc["max_gap"]
    console.print(f"  max gap {_pct(gap)} (bin {doc['max_gap_bin']}, bins of {doc['min_bin']}+ customers; "
                  f"all bins {_pct(doc['max_gap_all_bins'])}); count-weighted mean gap {_pct(doc['mean_gap'])}; "
                  f"within {_pct(doc['tolerance'])} or 2 standard errors: {_verdict(doc['within_tolerance'])}",
                  highlight=False)
    d = [[r["decile"], f"{r['count']:,}", r["positives"], _pct(r["rate"]),
          "" if r["lift"] is None else f"{r['lift']:.2f}", _pct(r["cumulative_gain"])] for r in doc["deciles"]]
    console.print(table("lift and gains by risk decile", ["decile", "customers", "positive", "rate", "lift",
                                                          "leavers caught (cum.)"], d))


def calibration(
    ident: Annotated[str, typer.Argument(help="NAME/vNNNN, or NAME for the promoted one.")],
    month: Annotated[str, typer.Option("--month", help="A month after the training window (YYYY-MM) whose "
                                                         "next HORIZON months are loaded.")],
    bins: Annotated[int, typer.Option("--bins", min=2, max=50, help="Equal-width probability bins.")] = 10,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Subscribers to score at most; a larger month is measured on a stable sample "
                                  "of them. 0: every subscriber.")] = model_report.REPORT_ROWS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Held-out calibration (bins, mean predicted, observed, gap) and lift by decile; stored for the model page."""
    report(model_report.heldout_report(get_settings(), ident, month, bins=bins, max_rows=max_rows), as_json,
           _render)


def register(app: typer.Typer) -> None:
    """Add ``calibration`` to the ``model`` group (registered by commands/models.py)."""
    from tenure.interfaces.cli.commands.models import model_app

    model_app.command("calibration")(calibration)
