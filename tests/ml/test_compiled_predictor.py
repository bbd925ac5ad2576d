"""The scoring matrix and the compiled predictor give LightGBM's probabilities and contributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tenure.ml import compiled
from tenure.ml.churn import ChurnModel

FAST = {"num_leaves": 15, "max_rounds": 120, "learning_rate": 0.1, "early_stopping_rounds": 30, "num_threads": 1}


def awkward_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Missing numbers, integers, a text category with blanks, a boolean flag, a rare category."""
    rng = np.random.default_rng(seed)
    spend_drop = rng.normal(size=n)
    spend_drop[rng.random(n) < 0.05] = np.nan
    complaints = rng.poisson(0.7, size=n)
    plan = rng.choice(["basic", "family", "premium", "legacy"], size=n, p=[0.5, 0.3, 0.19, 0.01]).astype(object)
    plan[rng.random(n) < 0.03] = None
    rising = rng.random(n) < 0.3
    zero_heavy = np.where(rng.random(n) < 0.4, 0.0, rng.exponential(size=n))
    logit = -2.5 + 1.3 * np.nan_to_num(spend_drop) + 0.6 * complaints + 0.8 * rising + 0.5 * (plan == "basic")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"spend_drop": spend_drop, "complaints": complaints, "plan": plan,
                      "complaints_rising": rising, "zero_heavy": zero_heavy})
    return X, y


def scoring_batch(n: int, seed: int) -> pa.RecordBatch:
    """Rows to score as they come from Parquet: nulls in integer and boolean columns, an unseen plan."""
    X, _ = awkward_table(n, seed)
    rng = np.random.default_rng(seed + 100)
    plan = X.plan.to_numpy(dtype=object)
    plan[rng.random(n) < 0.02] = "unseen"
    complaints = pa.array(X.complaints, pa.int64(), mask=rng.random(n) < 0.05)
    rising = pa.array(X.complaints_rising, pa.bool_(), mask=rng.random(n) < 0.05)
    return pa.record_batch({"subscriber_id": [f"S{i:05d}" for i in range(n)],
                            "spend_drop": X.spend_drop, "complaints": complaints, "plan": plan,
                            "complaints_rising": rising, "zero_heavy": X.zero_heavy})


@pytest.fixture(scope="module")
def model() -> ChurnModel:
    X, y = awkward_table(4000, seed=2)
    return ChurnModel(**FAST).fit(X, y)


@pytest.fixture(scope="module")
def batch() -> pa.RecordBatch:
    return scoring_batch(3000, seed=5)


def test_design_matrix_of_arrow_rows_gives_predict_proba_exactly(model: ChurnModel, batch: pa.RecordBatch) -> None:
    frame = batch.to_pandas()
    matrix = model.design_matrix(batch)
    assert matrix.dtype == np.float64 and matrix.flags.c_contiguous
    assert np.array_equal(matrix, model.design_matrix(frame), equal_nan=True)
    assert np.array_equal(model.probability(matrix), model.predict_proba(frame)[:, 1])
    names = list(model.feature_names_in_)
    assert np.array_equal(model.contribution_matrix(matrix[:200]),
                          model.contributions(frame.head(200)[names]).to_numpy())


def test_design_matrix_into_a_reused_buffer_equals_a_fresh_one(model: ChurnModel, batch: pa.RecordBatch) -> None:
    fresh = model.design_matrix(batch)
    buffer = np.full((len(batch) + 500, len(model.feature_names_in_)), 7.5)  # stale values from an earlier batch
    filled = model.design_matrix(batch, out=buffer)
    assert np.shares_memory(filled, buffer) and filled.shape == fresh.shape
    assert np.array_equal(filled, fresh, equal_nan=True)
    short = batch.slice(0, 1100)  # a short last batch: a block and a bit
    assert np.array_equal(model.design_matrix(short, out=buffer), fresh[:1100], equal_nan=True)
    for wrong in (np.empty((10, len(model.feature_names_in_))), np.empty((len(batch), 2)),
                  np.empty((len(batch), len(model.feature_names_in_)), dtype=np.float32),
                  np.empty((len(model.feature_names_in_), len(batch))).T):
        with pytest.raises(ValueError, match="C-contiguous float64"):
            model.design_matrix(batch, out=wrong)


def test_category_codes_equal_the_encoders(model: ChurnModel, batch: pa.RecordBatch) -> None:
    frame = batch.to_pandas()
    encoded = model.encoder_.transform(frame[list(model.feature_names_in_)])
    assert set(model.encoder_.categories_) == {"plan", "complaints_rising"}
    for col in model.encoder_.categories_:
        want = encoded[col].cat.codes.to_numpy(dtype=float)
        want[want < 0] = np.nan
        assert np.array_equal(model.encoder_.codes(col, batch.column(col)), want, equal_nan=True)
        assert np.array_equal(model.encoder_.codes(col, frame[col]), want, equal_nan=True)


def test_pooled_categories_map_unknown_text_to_other() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=400), "city": [f"c{i % 120}" for i in range(400)]})
    y = (X.x + rng.normal(size=400) > 1).astype(int)
    model = ChurnModel(**FAST, inner_splits=2).fit(X, y)
    assert "other" in model.encoder_.categories_["city"]
    rows = pa.record_batch({"x": [0.1, 0.2, 0.3], "city": ["c1", "somewhere", None]})
    assert np.array_equal(model.probability(model.design_matrix(rows)), model.predict_proba(rows.to_pandas())[:, 1])
    codes = model.encoder_.codes("city", rows.column("city"))
    assert codes[1] == model.encoder_.categories_["city"].index("other") and np.isnan(codes[2])


def test_compiled_probabilities_match_lightgbm(model: ChurnModel, batch: pa.RecordBatch, tmp_path: Path) -> None:
    assert compiled.available(), "lleaves and llvmlite are pinned dependencies (constraints.txt)"
    scorers = compiled.compile_model(model, tmp_path)
    assert scorers is not None and len(scorers) == len(model.boosters_) == model.inner_splits
    matrix = model.design_matrix(batch)
    raw = [score(matrix) for score in scorers]
    for got, want in zip(raw, model.raw_scores(matrix), strict=True):
        assert np.max(np.abs(got - want)) < 1e-12
    assert np.max(np.abs(model.probability(matrix, raw) - model.predict_proba(batch.to_pandas())[:, 1])) < 1e-12
    gap = compiled.agrees_with_lightgbm(model, scorers, matrix)
    assert gap is not None and gap < compiled.TOLERANCE


def durations(seconds_by_size: dict[int, float]):
    """A clock for ``CompiledMember.tune``: each timing of block size ``b`` lasts ``seconds_by_size[b]``."""
    now, sizes = [0.0], iter(list(compiled.BLOCK_SIZES) * compiled.TUNE_ROUNDS)
    started: list[bool] = [False]

    def clock() -> float:
        if started[0]:
            now[0] += seconds_by_size[next(sizes)]
        started[0] = not started[0]
        return now[0]

    return clock


@pytest.mark.parametrize("faster", compiled.BLOCK_SIZES)
def test_the_faster_block_size_is_kept_and_its_choice_cached(model: ChurnModel, batch: pa.RecordBatch,
                                                            tmp_path: Path, monkeypatch, faster: int) -> None:
    monkeypatch.setattr(compiled, "TUNE_ROWS", 1000)
    matrix = model.design_matrix(batch)
    members = compiled.compile_model(model, tmp_path)
    assert members is not None and all(m.block == compiled.BLOCK_SIZES[0] and not m.tuned for m in members)
    assert members[0].tune(matrix[:999]) is None and not members[0].tuned  # too few rows: not yet
    timings = {size: (1.0 if size == faster else 2.0) for size in compiled.BLOCK_SIZES}
    seconds = members[0].tune(matrix, clock=durations(timings))
    assert seconds == timings and members[0].block == faster and members[0].tuned
    assert members[0].tune(matrix) is None  # once only
    assert compiled.tune(members, matrix)  # the other members, timed for real
    assert all(m.tuned and m.block in compiled.BLOCK_SIZES for m in members)
    for got, want in zip([m(matrix) for m in members], model.raw_scores(matrix), strict=True):
        assert np.max(np.abs(got - want)) < 1e-12
    # Cached: one object file per member (the chosen size's) and the choice beside it.
    files = sorted(p.name for p in tmp_path.iterdir())
    assert sum(n.endswith(".o") for n in files) == len(members)
    assert sum(n.endswith(".block") for n in files) == len(members)
    again = compiled.compile_model(model, tmp_path)
    assert again is not None and [m.block for m in again] == [m.block for m in members]
    assert all(m.tuned for m in again) and sorted(p.name for p in tmp_path.iterdir()) == files
    assert compiled.tune(again, matrix)  # nothing left to time
    for a, b in zip(members, again, strict=True):
        assert np.array_equal(a(matrix), b(matrix))


def test_a_member_that_cannot_be_tuned_keeps_its_code(model: ChurnModel, batch: pa.RecordBatch,
                                                      tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(compiled, "TUNE_ROWS", 1000)
    members = compiled.compile_model(model, tmp_path)
    assert members is not None
    real_load = compiled.CompiledMember.code_at

    def refuse_others(self, size: int):
        if size != compiled.BLOCK_SIZES[0]:
            raise RuntimeError("LLVM failed")
        return real_load(self, size)

    monkeypatch.setattr(compiled.CompiledMember, "code_at", refuse_others)
    matrix = model.design_matrix(batch)
    assert compiled.tune(members, matrix)
    assert all(m.tuned and m.block == compiled.BLOCK_SIZES[0] for m in members)
    assert not any(p.name.endswith(".block") for p in tmp_path.iterdir())  # nothing cached: tried again next time
    for got, want in zip([m(matrix) for m in members], model.raw_scores(matrix), strict=True):
        assert np.max(np.abs(got - want)) < 1e-12


def test_compiled_code_is_cached_and_reloaded(model: ChurnModel, batch: pa.RecordBatch, tmp_path: Path) -> None:
    first = compiled.compile_model(model, tmp_path)
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert len(cached) == len(model.boosters_) and all(n.startswith("compiled-") for n in cached)
    again = compiled.compile_model(model, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == cached  # loaded, not written again
    assert first is not None and again is not None
    matrix = model.design_matrix(batch)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a(matrix), b(matrix))


def test_a_disagreeing_compiled_predictor_is_refused(model: ChurnModel, batch: pa.RecordBatch) -> None:
    matrix = model.design_matrix(batch)
    scorers = compiled.compile_model(model)
    assert scorers is not None
    off = [lambda m, s=s: s(m) + 1e-3 for s in scorers]
    assert compiled.agrees_with_lightgbm(model, off, matrix) is None


def test_linear_trees_are_left_to_lightgbm() -> None:
    X, y = awkward_table(1500, seed=3)
    X = X[["spend_drop", "zero_heavy"]]
    model = ChurnModel(**{**FAST, "linear_tree": True}, inner_splits=2).fit(X, y)
    assert compiled.compile_model(model) is None
