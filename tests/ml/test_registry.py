"""Model registry on synthetic frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.ml.churn import ChurnModel
from tenure.ml.registry import ModelRegistry, data_fingerprint

from .builders import imbalanced_table

FAST = {"num_leaves": 4, "max_rounds": 60, "learning_rate": 0.2, "early_stopping_rounds": 10, "num_threads": 1}


@pytest.fixture(scope="module")
def trained():
    X, y = imbalanced_table(800, seed=11)
    return X, y, ChurnModel(**FAST).fit(X, y)


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models")


def _register(registry: ModelRegistry, trained, **kw):
    X, _, model = trained
    return registry.register(
        "churn", model, metrics=kw.pop("metrics", {"roc_auc": 0.8}), features=list(X.columns),
        training=X, training_window=("2025-01", "2025-06"), **kw,
    )


def test_register_load_round_trip(registry: ModelRegistry, trained) -> None:
    X, _, model = trained
    card = _register(registry, trained)
    assert card.version == "v0001"
    assert card.rows == len(X) and card.features == list(X.columns)
    assert card.training_window == ["2025-01", "2025-06"]
    assert card.libraries["lightgbm"]
    assert card.params["num_leaves"] == 4
    loaded = registry.load("churn")
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    on_disk = json.loads((registry.root / "churn" / "v0001" / "card.json").read_text())
    assert on_disk["data_fingerprint"] == data_fingerprint(X)


def test_versions_promote_and_show(registry: ModelRegistry, trained) -> None:
    _register(registry, trained)
    _register(registry, trained, metrics={"roc_auc": 0.85})
    assert [c.version for c in registry.list()] == ["v0001", "v0002"]
    assert registry.show("churn").version == "v0002"  # newest while nothing is promoted
    registry.promote("churn", "v0001", by="analyst")
    assert registry.show("churn").version == "v0001"
    assert [c.promoted for c in registry.list("churn")] == [True, False]
    with pytest.raises(NotFound):
        registry.promote("churn", "v0009")
    with pytest.raises(NotFound):
        registry.show("downgrade")


def test_compare(registry: ModelRegistry, trained) -> None:
    X, y, _ = trained
    _register(registry, trained, metrics={"roc_auc": 0.80, "brier": 0.10})
    other = ChurnModel(**{**FAST, "num_leaves": 6}).fit(X.drop(columns=["noise"]), y)
    registry.register(
        "churn", other, metrics={"roc_auc": 0.83, "brier": 0.09},
        features=["spend_drop", "complaints", "plan"], training=X.drop(columns=["noise"]),
    )
    diff = registry.compare("churn", "v0001", "v0002")
    assert diff["metrics"]["roc_auc"]["change"] == pytest.approx(0.03)
    assert diff["features_removed"] == ["noise"] and diff["features_added"] == []
    assert diff["params_changed"]["num_leaves"] == {"a": 4, "b": 6}
    assert diff["same_data"] is False


def test_fingerprint_tracks_content() -> None:
    X, _ = imbalanced_table(100, seed=1)
    assert data_fingerprint(X) == data_fingerprint(X.copy())
    changed = X.copy()
    changed.loc[5, "complaints"] += 1
    assert data_fingerprint(changed) != data_fingerprint(X)
    assert data_fingerprint(X.rename(columns={"noise": "other"})) != data_fingerprint(X)


def test_tampered_model_file_is_refused(registry: ModelRegistry, trained) -> None:
    _register(registry, trained)
    path = registry.root / "churn" / "v0001" / "model.pkl"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(Conflict):
        registry.load("churn")


def test_bad_names_and_empty_registry(registry: ModelRegistry, trained) -> None:
    assert registry.list() == []
    with pytest.raises(InputError):
        _register_named(registry, trained, "../escape")
    assert not any(registry.root.parent.glob("escape*"))


def _register_named(registry: ModelRegistry, trained, name: str):
    X, _, model = trained
    return registry.register(name, model, metrics={}, features=list(X.columns), training=X)
