"""Use case: measure the churn model on a real churn table, next to a logistic baseline.

``benchmark_csv`` takes any one-row-per-customer CSV; ``benchmark_dataset``
runs the public reference sets kept under the shared data folder
(``<repo>/../shared/data``, or ``$TENURE_SHARED_DATA``).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tenure.domain.errors import InputError, NotFound
from tenure.ml import benchmark
from tenure.ml.churn import ChurnModel
from tenure.ml.registry import library_versions
from tenure.ml.tabular import load_table

FoldCallback = Callable[[int], None]


@dataclass(frozen=True)
class TableSpec:
    """Where a reference table lives (relative to the shared data folder) and how to read it."""

    path: str
    label: str
    positive: str
    id_column: str | None = None
    drop: tuple[str, ...] = ()


IBM_TELCO = TableSpec(
    "ibm-telco-churn/Telco-Customer-Churn.csv", "Churn", "Yes", id_column="customerID"
)
# mlc_split records the original MLC++ train/test membership; it is not a customer attribute
MLC_ALL = TableSpec("mlc-churn/mlc_churn.csv", "churn", "yes", drop=("mlc_split",))
MLC_TRAIN = TableSpec("mlc-churn/churn-bigml-80.csv", "Churn", "True")
MLC_TEST = TableSpec("mlc-churn/churn-bigml-20.csv", "Churn", "True")

DATASETS = ("ibm-telco", "mlc-churn")


def shared_data_dir() -> Path:
    """``$TENURE_SHARED_DATA`` if set, else ``shared/data`` beside the repository."""
    override = os.environ.get("TENURE_SHARED_DATA")
    if override:
        return Path(override)
    repo = Path(__file__).resolve().parents[3]
    return repo.parent / "shared" / "data"


def read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise NotFound(f"no such CSV file: {path}")
    try:
        return pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} as CSV: {exc}") from exc


def environment() -> dict[str, Any]:
    """Library versions and machine, recorded with every result."""
    import scipy

    return {
        **library_versions(),
        "scipy": scipy.__version__,
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "cpus": os.cpu_count(),
    }


def _document(
    dataset: str, evaluations: list[dict[str, Any]], started: float, threads: int
) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "evaluations": evaluations,
        "model_params": ChurnModel(num_threads=threads).get_params(),
        "environment": environment(),
        "elapsed_seconds": round(time.perf_counter() - started, 1),
    }


def _cv_evaluation(
    name: str,
    frame: pd.DataFrame,
    source: Path,
    label: str,
    *,
    id_column: str | None,
    positive: str | None,
    drop: Sequence[str],
    folds: int,
    seed: int,
    threads: int,
    on_fold: FoldCallback | None,
) -> dict[str, Any]:
    X, y, plan, blank = load_table(frame, label, id_column=id_column, positive=positive, drop=drop)
    result = benchmark.cross_validate(
        X, y, plan, folds=folds, seed=seed, params={"num_threads": threads}, on_fold=on_fold
    )
    return {
        "name": name,
        "source": {"path": str(source), "rows_read": len(frame), "rows_blank_label": blank},
        "columns": plan.as_dict(),
        **result,
    }


def benchmark_csv(
    path: Path,
    label: str,
    *,
    id_column: str | None = None,
    positive: str | None = None,
    drop: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    threads: int = 1,
    on_fold: FoldCallback | None = None,
) -> dict[str, Any]:
    """Stratified k-fold comparison of the churn model and the baseline on one CSV."""
    started = time.perf_counter()
    frame = read_csv(path)
    evaluation = _cv_evaluation(
        "cross_validation", frame, path, label, id_column=id_column, positive=positive,
        drop=drop, folds=folds, seed=seed, threads=threads, on_fold=on_fold,
    )
    return _document(str(path), [evaluation], started, threads)


def benchmark_dataset(
    name: str,
    *,
    folds: int = 5,
    seed: int = 0,
    threads: int = 1,
    on_fold: FoldCallback | None = None,
) -> dict[str, Any]:
    """A reference data set: ``ibm-telco`` (k-fold) or ``mlc-churn`` (80/20 held out + k-fold)."""
    started = time.perf_counter()
    root = shared_data_dir()
    if name == "ibm-telco":
        path = root / IBM_TELCO.path
        evaluation = _cv_evaluation(
            "cross_validation", read_csv(path), path, IBM_TELCO.label,
            id_column=IBM_TELCO.id_column, positive=IBM_TELCO.positive, drop=IBM_TELCO.drop,
            folds=folds, seed=seed, threads=threads, on_fold=on_fold,
        )
        return _document(name, [evaluation], started, threads)
    if name == "mlc-churn":
        train_path, test_path = root / MLC_TRAIN.path, root / MLC_TEST.path
        train, test = read_csv(train_path), read_csv(test_path)
        X, y, plan, blank = load_table(train, MLC_TRAIN.label, positive=MLC_TRAIN.positive)
        Xt, yt, _, _ = load_table(test, MLC_TEST.label, positive=MLC_TEST.positive)
        Xt = benchmark.align_columns(X, Xt, plan.features)
        held = {
            "name": "holdout_bigml_80_20",
            "source": {
                "path": str(train_path), "test_path": str(test_path),
                "rows_read": len(train), "test_rows_read": len(test), "rows_blank_label": blank,
            },
            "columns": plan.as_dict(),
            **benchmark.holdout(X, y, Xt, yt, plan, seed=seed, params={"num_threads": threads}),
        }
        all_path = root / MLC_ALL.path
        cv = _cv_evaluation(
            "cross_validation", read_csv(all_path), all_path, MLC_ALL.label,
            id_column=MLC_ALL.id_column, positive=MLC_ALL.positive, drop=MLC_ALL.drop,
            folds=folds, seed=seed, threads=threads, on_fold=on_fold,
        )
        return _document(name, [held, cv], started, threads)
    raise InputError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
