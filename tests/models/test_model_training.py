"""Labels, training and the registry commands."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from tenure.config import Settings
from tenure.domain.errors import NotFound
from tenure.domain.model import month_add
from tenure.engines.warehouse import Warehouse
from tenure.interfaces.cli.commands import models as model_commands
from tenure.ml.churn import ChurnModel
from tenure.services import models

from .model_builders import build_operator

runner = CliRunner()


@pytest.fixture
def operator(settings: Settings):
    return build_operator(settings.warehouse_dir)


def test_churn_labels_come_from_later_months_only(settings: Settings, operator) -> None:
    wh = Warehouse(settings.warehouse_dir)
    m = "2026-03"
    labels = set(models.churn_labels(wh, m, horizon=2).subscriber_id)
    later = [month_add(m, 1), month_add(m, 2)]
    expected = {s for x in later for s, t in operator.churns[x].items() if t in ("voluntary", "port_out")}
    # silent: no usage in both later months while still in the month's snapshot
    expected |= operator.silent[later[0]] & operator.silent[later[1]]
    expected -= {s for x in later for s, t in operator.churns[x].items() if t == "non_payment"}
    assert labels == expected
    assert not labels & set(operator.churns[m])  # leaving in M itself is not a label of M
    beyond = {s for s, t in operator.churns[month_add(m, 3)].items()}
    assert not (labels & beyond) - expected


def test_training_frame_is_point_in_time(settings: Settings, operator) -> None:
    frame = models.training_frame(settings, "churn", horizon=2, until="2026-08")
    months = sorted(frame[models.MONTH].unique())
    assert months[-1] == "2026-06"  # until minus horizon
    # every row's features come from its own snapshot month
    for m, rows in frame.groupby(models.MONTH):
        assert set(rows.month_index) == {operator.months.index(m)}
    assert (frame.status != "churned").all()
    assert "churn_type" not in models.model_feature_columns(frame)
    assert "subscriber_id" not in models.model_feature_columns(frame)


def test_training_needs_run_months(settings: Settings, operator) -> None:
    with pytest.raises(NotFound, match="run-month"):
        models.training_frame(settings, "churn", horizon=2, until="2026-02")


def test_downgrade_labels(settings: Settings, operator) -> None:
    wh = Warehouse(settings.warehouse_dir)
    import pyarrow.parquet as pq
    a = pq.read_table(wh.path("profiles", "2026-04", "output")).to_pandas().set_index("subscriber_id")
    b = pq.read_table(wh.path("profiles", "2026-05", "output")).to_pandas().set_index("subscriber_id")
    both = a.join(b, rsuffix="_n", how="inner")
    assert set(models.downgrade_labels(wh, "2026-04").subscriber_id) == set(both[both.value_level_n < both.value_level].index)


def _app() -> typer.Typer:
    app = typer.Typer()
    model_commands.register(app)
    return app


def test_train_registry_round_trip_and_promote(settings: Settings, operator) -> None:
    app = _app()
    r = runner.invoke(app, ["model", "train", "--target", "churn", "--horizon", "2", "--until", "2026-08",
                            "--snapshots", "4", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    card = doc["model"]
    assert card["version"] == "v0001"
    assert card["training_window"] == ["2026-03", "2026-06"]
    for k in ("roc_auc", "pr_auc", "top_decile_lift", "brier", "calibration"):
        assert k in card["metrics"]
    assert card["metrics"]["roc_auc"] > 0.7  # the builder's risk signs are learnable
    assert "complaints_3m" in card["features"] and card["data_fingerprint"] and card["libraries"]["lightgbm"]
    r2 = runner.invoke(app, ["model", "train", "--until", "2026-08", "--snapshots", "3", "--json"])
    assert r2.exit_code == 0, r2.output
    listed = json.loads(runner.invoke(app, ["model", "list", "--json"]).output)["models"]
    assert [m["id"] for m in listed] == ["churn/v0001", "churn/v0002"]
    assert not any(m["promoted"] for m in listed)
    assert models.promoted(settings, "churn") is None
    r = runner.invoke(app, ["model", "promote", "churn/v0001", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["promoted"]
    shown = json.loads(runner.invoke(app, ["model", "show", "churn", "--json"]).output)
    assert shown["id"] == "churn/v0001" and shown["promoted"]
    ident, fitted, reference = models.promoted(settings, "churn")
    assert ident == "churn/v0001" and hasattr(fitted, "contributions")
    assert "complaints_3m" in reference["features"] and "score" in reference
    cmp = json.loads(runner.invoke(app, ["model", "compare", "churn/v0001", "churn/v0002", "--json"]).output)
    assert cmp["training_window"] == {"a": ["2026-03", "2026-06"], "b": ["2026-04", "2026-06"]}
    assert cmp["same_data"] is False and "roc_auc" in cmp["metrics"]
    # readable output by default
    r = runner.invoke(app, ["model", "list"])
    assert r.exit_code == 0 and "v0002" in r.output.replace("\n", "")


def test_training_frame_samples_the_same_subscribers_of_every_month(settings: Settings, operator) -> None:
    full = models.training_frame(settings, "churn", horizon=2, until="2026-08", max_rows=0)
    assert full.attrs["sample_share"] == 1.0
    budget = len(full) // 4
    sampled = models.training_frame(settings, "churn", horizon=2, until="2026-08", max_rows=budget)
    share = sampled.attrs["sample_share"]
    assert 0 < share < 0.3
    assert 0 < len(sampled) <= budget
    # the same subscribers in every month (those still active), each month's rows a subset of the full frame
    kept = set(sampled.subscriber_id)
    for m, rows in full.groupby(models.MONTH):
        mine = sampled[sampled[models.MONTH] == m]
        assert set(mine.subscriber_id) == set(rows.subscriber_id) & kept
        assert len(mine) >= 1
    # labels computed among the sample equal the labels of the whole month
    both = sampled.merge(full[["subscriber_id", models.MONTH, models.LABEL]], on=["subscriber_id", models.MONTH],
                         suffixes=("", "_full"))
    assert len(both) == len(sampled)
    assert (both[models.LABEL] == both[f"{models.LABEL}_full"]).all()
    assert both[models.LABEL].sum() > 0
    # column types as in the unsampled frame, and the same sample on a second read
    assert (sampled.dtypes.drop([models.LABEL]) == full.dtypes.drop([models.LABEL])).all()
    again = models.training_frame(settings, "churn", horizon=2, until="2026-08", max_rows=budget)
    pd.testing.assert_frame_equal(again, sampled)


def test_downgrade_labels_among_a_sample(settings: Settings, operator) -> None:
    wh = Warehouse(settings.warehouse_dir)
    whole = models.downgrade_labels(wh, "2026-04")
    some = whole.subscriber_id.iloc[::2].tolist() + ["S99999"]
    among = models.downgrade_labels(wh, "2026-04", among=pa.array(some))
    assert set(among.subscriber_id) == set(whole.subscriber_id) & set(some)


def test_train_cli_with_a_row_budget_records_the_share(settings: Settings, operator) -> None:
    app = _app()
    r = runner.invoke(app, ["model", "train", "--until", "2026-08", "--snapshots", "4", "--max-rows", "1200",
                            "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert 0 < doc["sample_share"] < 1 and doc["rows"] <= 1200
    assert doc["model"]["metrics"]["sample_share"] == doc["sample_share"]
    assert sum(doc["rows_by_month"].values()) == doc["rows"]
    r = runner.invoke(app, ["model", "train", "--until", "2026-08", "--max-rows", "-1"])
    assert r.exit_code != 0


def test_default_model_follows_the_training_rows(settings: Settings) -> None:
    small = models.default_model(settings, models.LARGE_TRAINING_ROWS - 1)
    assert small.num_threads == 1 and small.learning_rate == ChurnModel().learning_rate
    large = models.default_model(settings, models.LARGE_TRAINING_ROWS)
    assert large.num_threads == settings.duckdb_threads
    assert large.learning_rate == models.LARGE_LEARNING_RATE > small.learning_rate
