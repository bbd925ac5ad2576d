"""Scoring: probabilities, deciles, reasons with families; PSI against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tenure.config import Settings
from tenure.engines.warehouse import Warehouse
from tenure.ml import compiled, drift
from tenure.ml.reasons import (
    FAMILIES,
    MARKETING,
    PHRASES,
    SERVICE,
    describe,
    phrase_for,
    value_text,
)
from tenure.services import models, scoring

from .model_builders import build_operator


def test_psi_matches_hand_computation() -> None:
    expected = [0.25, 0.25, 0.5]
    actual = [0.5, 0.25, 0.25]
    hand = (0.5 - 0.25) * math.log(0.5 / 0.25) + 0 + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert drift.psi(expected, actual) == pytest.approx(hand)
    assert drift.psi(expected, expected) == 0.0


def test_psi_against_reference_bins() -> None:
    ref = drift.reference_bins(np.arange(100.0), bins=4)  # quartiles 24.75 / 49.5 / 74.25
    current = np.array([10.0] * 50 + [90.0] * 50)  # half in the first, half in the last quartile
    e = [0.25, 0.25, 0.25, 0.25]
    a = [0.5, 0.0, 0.0, 0.5]
    hand = sum((max(x, drift.EPSILON) - y) * math.log(max(x, drift.EPSILON) / y) for x, y in zip(a, e))
    # the missing bin is empty on both sides: its term is 0
    assert drift.psi_against(ref, current) == pytest.approx(hand)
    with_missing = np.append(current, [np.nan] * 10)
    assert drift.psi_against(ref, with_missing) > drift.psi_against(ref, current)


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=300))
def test_deciles_are_one_to_ten_and_follow_the_score(p: list[float]) -> None:
    arr = np.array(p)
    keys = np.array([f"k{i:04d}" for i in range(len(p))])
    d = scoring.risk_deciles(arr, keys)
    assert d.min() >= 1 and d.max() <= 10
    if len(p) >= 10:
        assert set(d) == set(range(1, 11))
    order = np.lexsort((keys, arr))
    assert (np.diff(d[order]) >= 0).all()  # higher score never in a lower decile


def test_reason_phrases_and_families() -> None:
    r = describe("offnet_share_change", 0.45)
    assert r["reason_en"] == "off-net minutes share up 45 points over 3 months"
    assert r["family"] == MARKETING
    r = describe("mou_pct_change", -0.45)
    assert r["reason_en"].startswith("minutes of use down 45%") and "下降45%" in r["reason_zh"]
    assert describe("complaints_3m", 3)["family"] == SERVICE
    assert describe("contract_months_left", 1)["reason_zh"] == "合约1个月后到期"
    assert phrase_for("faults_m2").family == SERVICE and phrase_for("arpu_m1").family == MARKETING
    for name, ph in PHRASES.items():
        assert ph.family in FAMILIES, name
        assert ph.en and ph.zh, name
    assert describe("inbound_share_wap", 0.25)["reason_en"] == "25% of their own contacts through WAP"
    assert describe("contacts_store_6m", 4.0)["reason_zh"] == "近六月通过营业厅接触4次"
    assert describe("is_bundle", True)["reason_zh"] == "融合业务（宽带/电视）：是"


@pytest.fixture
def trained(settings: Settings):
    op = build_operator(settings.warehouse_dir)
    models.train(settings, "churn", horizon=2, until="2026-08", snapshots=4)
    models.promote_model(settings, "churn/v0001")
    return op


def test_no_promoted_model_means_no_scores(settings: Settings) -> None:
    build_operator(settings.warehouse_dir, n=50)
    wh = Warehouse(settings.warehouse_dir)
    assert scoring.score_features(settings, wh.path("features", "2026-08", "output")) is None


def test_scoring_adds_columns_deciles_and_reasons(settings: Settings, trained, tmp_path) -> None:
    (settings.home / "config").mkdir(exist_ok=True)
    (settings.home / "config" / "early_warning.yaml").write_text("action_share: 0.1\nreasons_per_customer: 3\n")
    wh = Warehouse(settings.warehouse_dir)
    path = wh.path("features", "2026-08", "output")
    res = scoring.score_features(settings, path)
    assert res is not None
    scores = res.scores.to_pandas()
    feats = pq.read_table(path).to_pandas()
    assert list(scores.subscriber_id) == list(feats.subscriber_id)
    assert scores.churn_probability.between(0, 1).all()
    assert set(scores.risk_decile) == set(range(1, 11))
    assert (scores.model_id == "churn/v0001").all()
    # the top decile is riskier on average than the bottom one
    by = scores.groupby("risk_decile").churn_probability.mean()
    assert by[10] > by[1]
    reasons = res.reasons.to_pandas()
    acted = reasons.subscriber_id.unique()
    assert 0 < len(acted) <= math.ceil(0.1 * len(scores))
    assert set(scores.set_index("subscriber_id").loc[acted, "risk_decile"]) <= {9, 10}
    assert reasons.groupby("subscriber_id")["rank"].max().max() <= 3
    assert (reasons.contribution > 0).all()
    assert set(reasons.family) <= set(FAMILIES)
    # the builder's risk signs are what the model names
    assert {"complaints_3m", "offnet_share_change"} & set(reasons.feature)
    row = reasons.iloc[0]
    assert row.reason_en and row.reason_zh
    assert res.summary["churn_model"] == "churn/v0001" and res.summary["acted_on"] == len(acted)
    d = res.drift
    assert d["model_id"] == "churn/v0001" and "score_psi" in d and "complaints_3m" in d["features"]
    assert isinstance(d["warning"], bool)


def test_drift_warns_when_a_feature_shifts(settings: Settings, trained, tmp_path) -> None:
    wh = Warehouse(settings.warehouse_dir)
    feats = pq.read_table(wh.path("features", "2026-08", "output")).to_pandas()
    feats["arpu_avg3"] = feats["arpu_avg3"] * 5  # a price change moves every customer up
    shifted = tmp_path / "features.parquet"
    feats.to_parquet(shifted, index=False)
    res = scoring.score_features(settings, shifted)
    assert res is not None
    assert res.drift["features"]["arpu_avg3"] > 0.2
    assert "arpu_avg3" in res.drift["drifted_features"] and res.drift["warning"]
    assert res.drift["features"]["contract_months_left"] < 0.2


def test_downgrade_model_adds_its_probability(settings: Settings, trained) -> None:
    doc = models.train(settings, "downgrade", horizon=1, until="2026-07", snapshots=3)
    assert doc["model"]["name"] == "downgrade" and doc["positives"] > 0
    models.promote_model(settings, "downgrade/v0001")
    wh = Warehouse(settings.warehouse_dir)
    res = scoring.score_features(settings, wh.path("features", "2026-08", "output"))
    assert res is not None and res.summary["downgrade_model"] == "downgrade/v0001"
    down = res.scores.column("downgrade_probability").to_numpy()
    assert ((down >= 0) & (down <= 1)).all()


def test_windows_of_one_measure_give_one_reason() -> None:
    from tenure.ml.reasons import top_reasons

    contrib = pd.DataFrame({"complaints_3m": [0.9], "complaints_6m": [0.8], "complaints_m0": [0.7],
                            "offnet_share_change": [0.5], "contract_months_left": [-0.2], "bias": [-3.0]})
    values = pd.DataFrame({"complaints_3m": [3], "complaints_6m": [4], "complaints_m0": [1],
                           "offnet_share_change": [0.2], "contract_months_left": [1]})
    r = top_reasons(contrib, values, ["S1"], top=5)
    assert list(r.feature) == ["complaints_3m", "offnet_share_change"]  # negative one is no reason
    assert list(r["rank"]) == [1, 2]
    assert list(r.family) == [SERVICE, MARKETING]


def test_value_text_does_not_depend_on_the_column_type() -> None:
    # an integer column holding a null is float64 in pandas, a boolean one object
    assert [value_text(v) for v in (3, np.int64(3), 3.0, np.float64(3.0), np.float32(50.0), -2.0)] == \
        ["3", "3", "3", "3", "50", "-2"]
    assert [value_text(v) for v in (True, np.True_, False, np.False_)] == ["True", "True", "False", "False"]
    assert [value_text(v) for v in (None, np.nan, np.float64("nan"), pd.NA)] == [None] * 4
    assert [value_text(v) for v in (2.5, np.float64(0.125), math.inf, "north", "")] == \
        ["2.5", "0.125", "inf", "north", ""]


def _whole_table_psi(reference: dict, values: np.ndarray) -> float:
    """PSI as computed before scoring streamed: the whole column at once."""
    return round(drift.psi_against(reference, values), 4)


def test_streamed_drift_equals_whole_table_drift(settings: Settings, trained, monkeypatch) -> None:
    monkeypatch.setattr(scoring, "BATCH_ROWS", 97)  # 600 subscribers: seven batches, the last one short
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    res = scoring.score_features(settings, path)
    assert res is not None
    _, _, reference = models.promoted(settings, "churn")
    feats = pq.read_table(path).to_pandas()
    want = {k: _whole_table_psi(ref, feats[k].to_numpy(dtype=float)) for k, ref in reference["features"].items()}
    assert res.drift["features"] == want
    p = res.scores.column("churn_probability").to_numpy()
    assert res.drift["score_psi"] == _whole_table_psi(reference["score"], p)


def test_bin_counts_of_pieces_add_up_to_the_whole() -> None:
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(size=5000), 1)  # values on the edges too
    values[rng.random(5000) < 0.1] = np.nan
    ref = drift.reference_bins(rng.normal(size=800))
    edges = np.asarray(ref["edges"])
    pieces = np.split(values, [13, 900, 901, 4000])
    summed = sum(drift.bin_counts(piece, edges) for piece in pieces)
    assert summed.tolist() == drift.bin_counts(values, edges).tolist()
    assert drift.psi(ref["shares"], drift.shares(summed)) == drift.psi_against(ref, values)


def test_batch_size_changes_no_score_and_no_reason(settings: Settings, trained, monkeypatch) -> None:
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    (settings.home / "config").mkdir(exist_ok=True)
    (settings.home / "config" / "early_warning.yaml").write_text("action_share: 0.1\n")
    whole = scoring.score_features(settings, path)
    monkeypatch.setattr(scoring, "BATCH_ROWS", 41)
    pieces = scoring.score_features(settings, path)
    monkeypatch.setattr(scoring, "REASON_CHUNK_ROWS", 7)  # acted-on rows explained seven at a time
    chunks = scoring.score_features(settings, path)
    assert whole is not None and pieces is not None and chunks is not None
    assert whole.scores.equals(pieces.scores)
    assert pieces.reasons.num_rows > 0 and whole.reasons.equals(pieces.reasons)
    assert chunks.summary["acted_on"] > 7 and whole.reasons.equals(chunks.reasons)


def test_scoring_uses_the_compiled_predictor_and_caches_it(settings: Settings, trained) -> None:
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    res = scoring.score_features(settings, path)
    assert res is not None and res.summary["predictor"] == "lleaves"
    version = models.version_dir(settings, "churn/v0001")
    assert any(p.name.startswith("compiled-") for p in version.iterdir())
    model = models.registry(settings).load("churn", "v0001")
    feats = pq.read_table(path).to_pandas()
    want = model.predict_proba(feats[list(model.feature_names_in_)])[:, 1]
    assert np.max(np.abs(res.scores.column("churn_probability").to_numpy() - want)) < 1e-12


def test_scoring_tunes_the_compiled_block_size_once_and_records_it(settings: Settings, trained,
                                                                    monkeypatch) -> None:
    monkeypatch.setattr(compiled, "TUNE_ROWS", 100)
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    res = scoring.score_features(settings, path)
    assert res is not None and res.summary["predictor"] == "lleaves"
    version = models.version_dir(settings, "churn/v0001")
    model = models.registry(settings).load("churn", "v0001")
    chosen = sorted(p for p in version.iterdir() if p.name.endswith(".block"))
    assert len(chosen) == len(model.boosters_)
    blocks = res.summary["predictor_block_trees"]
    assert sorted(blocks) == sorted(int(p.read_text().split()[0]) for p in chosen)
    assert set(blocks) <= set(compiled.BLOCK_SIZES)
    feats = pq.read_table(path).to_pandas()
    want = model.predict_proba(feats[list(model.feature_names_in_)])[:, 1]
    assert np.max(np.abs(res.scores.column("churn_probability").to_numpy() - want)) < 1e-12
    again = scoring.score_features(settings, path)  # the choice is loaded, nothing timed again
    assert again is not None and again.summary["predictor_block_trees"] == blocks
    assert again.scores.equals(res.scores) and sorted(version.glob("*.block")) == chosen


def test_scoring_falls_back_to_lightgbm_when_compiled_scores_differ(settings: Settings, trained,
                                                                     monkeypatch) -> None:
    real = compiled.CompiledMember.__call__
    monkeypatch.setattr(compiled.CompiledMember, "__call__", lambda self, m: real(self, m) + 1e-4)
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    res = scoring.score_features(settings, path)
    assert res is not None and res.summary["predictor"] == "lightgbm"
    model = models.registry(settings).load("churn", "v0001")
    feats = pq.read_table(path).to_pandas()
    want = model.predict_proba(feats[list(model.feature_names_in_)])[:, 1]
    assert np.array_equal(res.scores.column("churn_probability").to_numpy(), want)


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.1, 0.2, 0.35, 0.5, 0.9]), min_size=1, max_size=200), st.randoms())
def test_deciles_equal_a_full_sort_by_probability_then_key(p: list[float], rnd) -> None:
    arr = np.array(p)
    keys = np.array([f"k{rnd.randrange(50):03d}" for _ in p])  # repeated keys too
    order = np.lexsort((keys, arr))
    rank = np.empty(len(p), dtype=np.int64)
    rank[order] = np.arange(len(p))
    want = rank * 10 // len(p) + 1
    assert scoring.risk_deciles(arr, keys).tolist() == want.tolist()
    assert scoring.risk_deciles(arr, pa.chunked_array([pa.array(keys[:7]), pa.array(keys[7:])])).tolist() == want.tolist()


@hsettings(max_examples=30, deadline=None)
@given(st.integers(1, 60), st.lists(st.integers(1, 90), min_size=1, max_size=12), st.randoms())
def test_rows_held_while_streaming_include_every_acted_on_row(keep: int, sizes: list[int], rnd) -> None:
    p = np.array([rnd.choice([0.1, 0.4, 0.7, 0.7, 0.95]) for _ in range(sum(sizes))])  # heavy ties
    held = scoring._Candidates(keep)
    start = 0
    for size in sizes:
        held.offer(pa.record_batch({"subscriber_id": [str(i) for i in range(start, start + size)]}),
                   start, p[start:start + size])
        start += size
    floor = np.sort(p)[::-1][min(keep, len(p)) - 1]
    wanted = np.flatnonzero(p >= floor)
    rows = np.concatenate([at for at, _ in held.select(wanted)])
    assert sorted(rows.tolist()) == wanted.tolist()


def _top_reasons_row_by_row(contributions: pd.DataFrame, features: pd.DataFrame, keys, top: int) -> pd.DataFrame:
    """The reasons as first written: one row at a time (the reference for the vectorised version)."""
    from tenure.ml.reasons import concept

    names = [c for c in contributions.columns if c != "bias"]
    c = contributions[names].to_numpy(dtype=float)
    k = min(top, len(names))
    order = np.argsort(-c, axis=1, kind="stable")[:, : min(len(names), 4 * k)]
    concepts = [concept(n) for n in names]
    rows = []
    for i in range(len(c)):
        seen: set[str] = set()
        for j in order[i]:
            if c[i, j] <= 0 or len(seen) == k:
                break
            if concepts[j] in seen:
                continue
            seen.add(concepts[j])
            value = features[names[j]].iloc[i]
            rows.append({"key": keys[i], "rank": len(seen), "feature": names[j],
                         "value": value_text(value),
                         "contribution": float(c[i, j]), **describe(names[j], value)})
    return pd.DataFrame(rows)


@hsettings(max_examples=40, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.randoms())
def test_vectorised_reasons_equal_the_row_by_row_ones(n: int, top: int, rnd) -> None:
    from tenure.ml.reasons import top_reasons

    names = ["complaints_3m", "complaints_6m", "complaints_m0", "offnet_share_change", "mou_pct_change",
             "mou_m1", "contract_months_left", "region", "recharge_irregular", "arpu_avg3"]
    rng = np.random.default_rng(rnd.randrange(2**32))
    # rounded, so equal contributions (ties) occur
    contrib = pd.DataFrame(np.round(rng.normal(size=(n, len(names))), 1), columns=names).assign(bias=-2.0)
    values = pd.DataFrame({
        "complaints_3m": rng.integers(0, 5, n), "complaints_6m": rng.integers(0, 9, n).astype(float),
        "complaints_m0": np.where(rng.random(n) < 0.3, np.nan, 1.0), "offnet_share_change": rng.normal(size=n),
        "mou_pct_change": rng.normal(size=n), "mou_m1": rng.exponential(100, n),
        "contract_months_left": rng.integers(0, 24, n), "region": rng.choice(["north", None], n),
        "recharge_irregular": rng.choice([True, False, None], n), "arpu_avg3": rng.exponential(50, n),
    })
    keys = [f"S{i}" for i in range(n)]
    got = top_reasons(contrib, values, keys, top)
    want = _top_reasons_row_by_row(contrib, values, keys, top)
    if want.empty:
        assert got.empty
    else:
        pd.testing.assert_frame_equal(got, want[got.columns], check_dtype=False)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, 0.5, 1.0, -1.0, math.inf, -math.inf, math.nan]),
                          st.floats(-3, 3)), max_size=60),
       st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]), max_size=5, unique=True))
def test_bin_counts_are_the_binary_search_bins(values: list[float], edges: list[float]) -> None:
    v, e = np.array(values, dtype=float), np.sort(np.array(edges, dtype=float))
    present = v[~np.isnan(v)]
    want = np.append(np.bincount(np.searchsorted(e, present, side="left"), minlength=len(e) + 1),
                     np.isnan(v).sum())
    assert drift.bin_counts(v, e).tolist() == want.tolist()


def test_reasons_from_tables_equal_reasons_from_lightgbm(settings: Settings, trained, monkeypatch) -> None:
    from tenure.ml import tree_shap

    (settings.home / "config").mkdir(exist_ok=True)
    (settings.home / "config" / "early_warning.yaml").write_text("action_share: 0.1\n")
    path = Warehouse(settings.warehouse_dir).path("features", "2026-08", "output")
    few = scoring.score_features(settings, path)  # a few dozen acted on: LightGBM, no tables built
    assert few.summary["contributions"] == "lightgbm"
    assert not list(models.version_dir(settings, few.summary["churn_model"]).glob("contributions-*.pkl"))
    monkeypatch.setattr(scoring, "TABLES_MIN_ROWS", 10)  # as many as a large month
    tables = scoring.score_features(settings, path)
    churn_id = tables.summary["churn_model"]
    kept = list(models.version_dir(settings, churn_id).glob("contributions-*.pkl"))
    assert len(kept) == 1  # the tables stay with the model for the next run
    with monkeypatch.context() as m:  # read back, not built again, even for a few rows
        m.setattr(tree_shap, "leaf_table", lambda *a, **k: pytest.fail("contribution tables built again"))
        m.setattr(scoring, "TABLES_MIN_ROWS", 10**9)
        again = scoring.score_features(settings, path)
    assert again.summary["contributions"] == "tables"
    assert again.reasons.equals(tables.reasons)
    monkeypatch.setattr(tree_shap, "explain_model", lambda *a, **k: None)
    plain = scoring.score_features(settings, path)
    assert tables is not None and plain is not None
    assert tables.summary["contributions"] == "tables" and plain.summary["contributions"] == "lightgbm"
    a, b = tables.reasons.to_pandas(), plain.reasons.to_pandas()
    assert len(a) > 0
    assert np.allclose(a.contribution, b.contribution, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(a.drop(columns="contribution"), b.drop(columns="contribution"))


class _ColumnsModel:
    """Just enough of a model for the read-ahead: its features copied into the matrix."""

    def __init__(self, names: list[str], fail_on: int | None = None) -> None:
        self.feature_names_in_ = np.array(names)
        self.fail_on = fail_on

    def design_matrix(self, batch: pa.RecordBatch, out: np.ndarray) -> np.ndarray:
        if self.fail_on is not None and self.fail_on in batch.column("x").to_pylist():
            raise ValueError(f"bad row {self.fail_on}")
        out = out[: batch.num_rows]
        for j, name in enumerate(self.feature_names_in_):
            out[:, j] = batch.column(str(name)).to_numpy()
        return out


def _batches(n_batches: int, rows: int) -> list[pa.RecordBatch]:
    return [pa.record_batch({"x": np.arange(b * rows, (b + 1) * rows, dtype=float),
                             "y": np.arange(b * rows, (b + 1) * rows, dtype=float) * -1.0})
            for b in range(n_batches)]


def test_read_ahead_keeps_file_order_and_never_refills_a_matrix_in_use(monkeypatch) -> None:
    import time as _time

    monkeypatch.setattr(scoring, "BATCH_ROWS", 5)
    batches = _batches(30, 5)
    edges = {"x": np.array([10.0, 100.0])}
    prepared = scoring._PreparedBatches(iter(batches), _ColumnsModel(["x", "y"]), _ColumnsModel(["y"]), edges)
    seen = []
    for item in prepared:
        _time.sleep(0.005)  # the thread runs ahead meanwhile, filling the other buffers
        want = np.column_stack([item.batch.column("x").to_numpy(), item.batch.column("y").to_numpy()])
        assert np.array_equal(item.churn, want)
        assert item.down is not None and np.array_equal(item.down[:, 0], want[:, 1])
        seen.append(item.batch.column("x")[0].as_py())
    assert seen == [b.column("x")[0].as_py() for b in batches]
    assert prepared.drift_counts["x"].tolist() == drift.bin_counts(np.arange(150.0), edges["x"]).tolist()


def test_read_ahead_raises_the_threads_error_and_stops() -> None:
    prepared = scoring._PreparedBatches(iter(_batches(12, 5)), _ColumnsModel(["x"], fail_on=23), None, {})
    got = []
    with pytest.raises(ValueError, match="bad row 23"):
        for item in prepared:
            got.append(item.batch.column("x")[0].as_py())
    assert got == [0.0, 5.0, 10.0, 15.0]
    assert not prepared._thread.is_alive()


def test_read_ahead_stops_when_the_caller_stops() -> None:
    prepared = scoring._PreparedBatches(iter(_batches(50, 5)), _ColumnsModel(["x"]), None, {})
    items = iter(prepared)
    next(items)
    items.close()  # the caller leaves the loop early (an error of its own, say)
    assert not prepared._thread.is_alive()
