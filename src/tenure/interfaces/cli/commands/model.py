"""CLI commands: model quality benchmarks (``tenure benchmark churn``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tenure.domain.errors import InputError
from tenure.interfaces.cli.output import console, progress, report, table
from tenure.services import model_benchmark

benchmark_app = typer.Typer(
    help="Measure models on real churn tables.", no_args_is_help=True
)

METRIC_NAMES = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (avg precision)",
    "top_decile_lift": "top-decile lift",
    "brier": "Brier score (lower is better)",
}
MODEL_NAMES = {"churn_model": "churn model (LightGBM)", "logistic_baseline": "logistic baseline"}


def _interval(s: dict[str, Any]) -> str:
    return f"{s['mean']:.3f} [{s['low']:.3f}, {s['high']:.3f}]"


def _render_evaluation(ev: dict[str, Any]) -> None:
    models = ev["models"]
    if ev["method"] == "cross_validation":
        title = (
            f"{ev['name']}: {ev['folds']}-fold CV, {ev['rows']:,} rows, "
            f"{ev['positives']:,} churners ({ev['positives'] / ev['rows']:.1%}), seed {ev['seed']}"
        )
    else:
        title = (
            f"{ev['name']}: {ev['rows']:,} training rows, {ev['test_rows']:,} held out "
            f"({ev['test_positives']:,} churners), seed {ev['seed']}"
        )
    rows = [
        [label, *(_interval(models[m]["summary"][metric]) for m in MODEL_NAMES)]
        for metric, label in METRIC_NAMES.items()
    ]
    console.print(table(title, ["metric", *MODEL_NAMES.values()], rows))
    console.print(f"  {ev['interval']}")
    cols = ev["columns"]
    console.print(
        f"  label {cols['label']!r} (churn = {cols['positive']!r}); "
        f"{len(cols['numeric'])} numeric, {len(cols['categorical'])} categorical features"
    )
    if cols["coerced_to_numeric"]:
        console.print(f"  text read as numbers: {', '.join(cols['coerced_to_numeric'])}")
    for ignored in cols["ignored"]:
        console.print(f"  ignored {ignored['column']!r}: {ignored['reason']}")
    calib = [
        [
            f"{r['bin_low']:.1f}-{r['bin_high']:.1f}",
            r["count"],
            "" if r["mean_predicted"] is None else f"{r['mean_predicted']:.3f}",
            "" if r["observed_rate"] is None else f"{r['observed_rate']:.3f}",
        ]
        for r in models["churn_model"]["calibration"]
    ]
    console.print(
        table(
            "churn model calibration (out of fold)" if ev["method"] == "cross_validation"
            else "churn model calibration (held-out rows)",
            ["probability", "customers", "mean predicted", "observed churn"],
            calib,
        )
    )


def _render(doc: dict[str, Any]) -> None:
    for ev in doc["evaluations"]:
        _render_evaluation(ev)
    env = doc["environment"]
    console.print(
        f"lightgbm {env['lightgbm']}, scikit-learn {env['scikit_learn']}, "
        f"{env['cpus']} CPUs, {doc['elapsed_seconds']} s"
    )


@benchmark_app.command("churn")
def churn(
    csv: Annotated[
        Path | None, typer.Option("--csv", help="One-row-per-customer CSV with a churn label.")
    ] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label column.")] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="Customer id column (never used as a feature).")
    ] = None,
    positive: Annotated[
        str | None, typer.Option("--positive", help="Label value meaning churn (e.g. Yes).")
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option("--drop", help="Column to leave out (repeatable).")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="Reference data set instead of --csv: ibm-telco or mlc-churn."),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, max=20)] = 5,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    threads: Annotated[
        int, typer.Option("--threads", min=1, help="LightGBM threads (same results for any count).")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Cross-validate the churn model against a logistic baseline on a churn table."""
    if (csv is None) == (dataset is None):
        raise InputError("give either --csv FILE --label COLUMN or --dataset NAME")
    with progress(enabled=not as_json) as bar:
        task = bar.add_task("folds", total=None)

        def advance(_: int) -> None:
            bar.advance(task)

        if dataset is not None:
            doc = model_benchmark.benchmark_dataset(dataset, folds=folds, seed=seed, threads=threads, on_fold=advance)
        else:
            if label is None:
                raise InputError("--label is required with --csv")
            assert csv is not None
            doc = model_benchmark.benchmark_csv(
                csv, label, id_column=id_column, positive=positive, drop=drop or (),
                folds=folds, seed=seed, threads=threads, on_fold=advance,
            )
    report(doc, as_json, _render)


def register(app: typer.Typer) -> None:
    """Add the model commands to ``app``."""
    app.add_typer(benchmark_app, name="benchmark")
