"""`tenure benchmark churn` on a slice of the real IBM Telco table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tenure.interfaces.cli.main import app

runner = CliRunner()

EVALUATION_KEYS = {
    "name", "source", "columns", "method", "folds", "seed", "rows", "positives", "interval", "models",
}
SUMMARY_KEYS = {"roc_auc", "pr_auc", "top_decile_lift", "brier"}


@pytest.mark.slow
def test_json_on_1500_ibm_rows(ibm_slice: Path, tenure_home: Path) -> None:
    result = runner.invoke(
        app,
        ["benchmark", "churn", "--csv", str(ibm_slice), "--label", "Churn", "--id", "customerID",
         "--positive", "Yes", "--folds", "3", "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"dataset", "evaluations", "model_params", "environment", "elapsed_seconds"}
    (ev,) = doc["evaluations"]
    assert set(ev) == EVALUATION_KEYS
    assert ev["method"] == "cross_validation" and ev["folds"] == 3 and ev["rows"] == 1500
    assert ev["columns"]["coerced_to_numeric"] == ["TotalCharges"]
    assert {"column": "customerID", "reason": "id column"} in ev["columns"]["ignored"]
    for name in ("churn_model", "logistic_baseline"):
        model = ev["models"][name]
        assert set(model["summary"]) == SUMMARY_KEYS
        assert len(model["folds"]) == 3
        assert sum(r["count"] for r in model["calibration"]) == 1500
        auc = model["summary"]["roc_auc"]
        assert auc["low"] <= auc["mean"] <= auc["high"]
    auc = ev["models"]["churn_model"]["summary"]["roc_auc"]["mean"]
    assert auc > 0.78
    assert ev["models"]["churn_model"]["summary"]["top_decile_lift"]["mean"] > 1.8
    assert doc["environment"]["lightgbm"]


def test_readable_output_and_text_id_detection(ibm_slice: Path, tmp_path: Path, tenure_home: Path) -> None:
    small = tmp_path / "small.csv"
    pd.read_csv(ibm_slice, dtype=str, keep_default_na=False).head(600).to_csv(small, index=False)
    result = runner.invoke(app, ["benchmark", "churn", "--csv", str(small), "--label", "Churn", "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.stdout and "logistic baseline" in result.stdout
    assert "ignored 'customerID': identifier-like text" in result.stdout
    assert "TotalCharges" in result.stdout


def test_usage_errors(tmp_path: Path, tenure_home: Path) -> None:
    neither = runner.invoke(app, ["benchmark", "churn"])
    assert neither.exit_code == 2
    missing = runner.invoke(app, ["benchmark", "churn", "--csv", str(tmp_path / "no.csv"), "--label", "x"])
    assert missing.exit_code == 7
    unknown = runner.invoke(app, ["benchmark", "churn", "--dataset", "nope"])
    assert unknown.exit_code == 2
    assert "ibm-telco" in unknown.output


@pytest.mark.slow
def test_dataset_shortcuts_read_the_shared_data_override(
    ibm_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenure_home: Path
) -> None:
    real = ibm_csv.parents[1]
    fake = tmp_path / "shared"
    for rel, rows in [
        ("ibm-telco-churn/Telco-Customer-Churn.csv", 500),
        ("mlc-churn/churn-bigml-80.csv", 500),
        ("mlc-churn/churn-bigml-20.csv", 250),
        ("mlc-churn/mlc_churn.csv", 500),
    ]:
        if not (real / rel).is_file():
            pytest.skip(f"reference data not present: {rel}")
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        pd.read_csv(real / rel, dtype=str, keep_default_na=False).head(rows).to_csv(fake / rel, index=False)
    monkeypatch.setenv("TENURE_SHARED_DATA", str(fake))

    ibm = runner.invoke(app, ["benchmark", "churn", "--dataset", "ibm-telco", "--folds", "2", "--json"])
    assert ibm.exit_code == 0, ibm.output
    (ev,) = json.loads(ibm.stdout)["evaluations"]
    assert ev["rows"] == 500 and ev["source"]["path"].startswith(str(fake))

    mlc = runner.invoke(app, ["benchmark", "churn", "--dataset", "mlc-churn", "--folds", "2", "--json"])
    assert mlc.exit_code == 0, mlc.output
    held, cv = json.loads(mlc.stdout)["evaluations"]
    assert held["method"] == "holdout" and held["rows"] == 500 and held["test_rows"] == 250
    assert set(held["models"]["churn_model"]["summary"]) == SUMMARY_KEYS
    assert cv["method"] == "cross_validation" and cv["rows"] == 500
    assert {"column": "mlc_split", "reason": "dropped on request"} in cv["columns"]["ignored"]
    assert held["models"]["churn_model"]["summary"]["roc_auc"]["mean"] > 0.75
