"""The stored monthly history: reduced once per loaded month, reused, reduced again when the month changes."""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tenure.analytics.channels import activity_from_columns, channel_counts, count_columns
from tenure.config import Settings
from tenure.engines.compute import Engine, connect
from tenure.engines.warehouse import Warehouse
from tenure.services import month_history
from tenure.services.subscriber_index import SubscriberIndex

from .cycle_pipeline import compute
from .joined_reference import activity_from_counts, channel_activity

M = "2026-06"


def _versions(wh: Warehouse, months: list[str]) -> dict[str, str | None]:
    return {m: wh.version(m, "history") for m in months}


def test_each_month_is_reduced_once_and_reused(settings: Settings, operator: object, months: list[str]) -> None:
    wh = Warehouse(settings.warehouse_dir)
    first, _ = compute(settings, M, buckets=2, profiles=False)
    stored = _versions(wh, months)
    assert all(stored.values()), stored
    for m in months:
        meta = wh.metadata(m, "history")
        assert meta["input_version"] == wh.version(m)
        assert meta["engine"] == "duckdb" and meta["index_epoch"] == SubscriberIndex(wh).state().epoch
    again, _ = compute(settings, M, buckets=3, profiles=False)
    assert _versions(wh, months) == stored  # nothing reduced again
    assert again == first
    # Without any stored history the same features come out.
    shutil.rmtree(settings.warehouse_dir / "history")
    cold, _ = compute(settings, M, buckets=1, profiles=False)
    assert cold == first


def test_a_reloaded_month_is_reduced_again(settings: Settings, operator: object, months: list[str]) -> None:
    wh = Warehouse(settings.warehouse_dir)
    before, _ = compute(settings, M, profiles=False)
    stored = _versions(wh, months)
    changed = months[-3]  # month M-2
    usage = wh.read_arrow("monthly_usage", changed)
    sid = usage["subscriber_id"][0].as_py()
    revenue = pc.if_else(pc.equal(usage["subscriber_id"], sid), 999.0, usage["revenue"])
    with wh.write_month(changed) as w:
        w.write("monthly_usage", usage.set_column(usage.schema.get_field_index("revenue"), "revenue", revenue))
    after, _ = compute(settings, M, profiles=False)
    now = _versions(wh, months)
    assert now[changed] != stored[changed]
    assert {m: v for m, v in now.items() if m != changed} == {m: v for m, v in stored.items() if m != changed}
    if sid in after:
        assert after[sid]["arpu_m2"] == 999.0
        assert before[sid]["arpu_m2"] != 999.0
    others = [s for s in before if s != sid]
    assert all(after[s] == before[s] for s in others)


def test_a_new_history_format_is_reduced_again(settings: Settings, operator: object, months: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Warehouse(settings.warehouse_dir)
    compute(settings, M, profiles=False)
    stored = _versions(wh, months)
    monkeypatch.setattr(month_history, "HISTORY_FORMAT", month_history.HISTORY_FORMAT + 1)
    compute(settings, M, profiles=False)
    assert all(wh.version(m, "history") != stored[m] for m in months)


@pytest.fixture(scope="module")
def eng(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    e = connect(Settings(home=tmp_path_factory.mktemp("hist"), environment="test"), "duckdb")
    yield e
    e.close()


def _contact_tables(eng: Engine, months: list) -> list:
    return [
        None if rows is None else eng.from_arrow(pa.table({
            "subscriber_id": pa.array([r[0] for r in rows], pa.string()),
            "channel": pa.array([r[1] for r in rows], pa.string()),
            "direction": pa.array([r[2] for r in rows], pa.string()),
        }), "contacts")
        for rows in months
    ]


contact = st.tuples(st.sampled_from(["S1", "S2", "S3", "S4"]),
                    st.sampled_from(["store", "hotline", "ivr", "website", "sms", "wap", "self_service"]),
                    st.sampled_from(["inbound", "outbound"]))


@hsettings(max_examples=25, deadline=None)
@given(months=st.lists(st.one_of(st.none(), st.lists(contact, max_size=12)), min_size=6, max_size=6))
def test_activity_from_monthly_counts_equals_activity_from_raw_contacts(eng: Engine, months: list) -> None:
    raw = _contact_tables(eng, months)
    direct = channel_activity(raw)
    counted = activity_from_counts([None if t is None else channel_counts(t) for t in raw])
    if direct is None:
        assert counted is None
        return
    a = {r["_csid"]: r for r in eng.to_arrow(direct).to_pylist()}
    b = {r["_csid"]: r for r in eng.to_arrow(counted).to_pylist()}
    assert a.keys() == b.keys()
    for k, row in a.items():
        for col, v in row.items():
            if v is None or isinstance(v, str):
                assert b[k][col] == v, col
            else:
                assert b[k][col] == pytest.approx(v, rel=1e-12, abs=1e-12), col


@hsettings(max_examples=25, deadline=None)
@given(months=st.lists(st.one_of(st.none(), st.lists(contact, max_size=12)), min_size=6, max_size=6),
       decay=st.sampled_from([0.5, 0.7, 1.0]))
def test_activity_along_the_row_equals_activity_from_the_joined_counts(eng: Engine, months: list,
                                                                       decay: float) -> None:
    """The features step sums each month's counts along the lined-up row: same values as the union and group-by."""
    counts = [None if t is None else channel_counts(t) for t in _contact_tables(eng, months)]
    side = eng.from_arrow(pa.table({"subscriber_id": pa.array(["S1", "S2", "S3", "S4", "S5"], pa.string())}), "ids")
    for k, c in enumerate(counts):
        if c is not None:
            c = c.select(_k=c.subscriber_id, **count_columns(c, k))
            side = side.left_join(c, side.subscriber_id == c._k).drop("_k")
    present = [k for k, c in enumerate(counts) if c is not None]
    activity = activity_from_columns(side, present, decay)
    added = [c for c in activity.columns if c not in side.columns]
    along = eng.to_arrow(activity.select("subscriber_id", *added)).to_pylist()
    grouped = activity_from_counts(counts, decay)
    by_group = {} if grouped is None else {r["_csid"]: r for r in eng.to_arrow(grouped).to_pylist()}
    assert len(along) == 5
    for row in along:
        g = by_group.get(row["subscriber_id"])
        for col, v in row.items():
            if col == "subscriber_id":
                continue
            expected = None if g is None else g[col]
            if col.startswith("contacts_"):
                assert v == (expected or 0), col  # the features fill missing totals with 0
            elif expected is None:
                assert v is None, col
            else:
                assert v == pytest.approx(expected, rel=1e-12), col


def test_a_stored_month_has_every_measure_or_none(settings: Settings, operator: object, months: list[str]) -> None:
    """The features count a window's months once for every measure (features.MONTH_PRESENT): a stored
    month's measures are null together, on the rows the month has nothing for, or not at all."""
    from tenure.analytics.features import MONTH_PRESENT
    from tenure.domain.measures import MONTHLY_MEASURES

    wh = Warehouse(settings.warehouse_dir)
    compute(settings, M, profiles=False)
    absent = 0
    for m in months:
        t = wh.read_arrow("measures", m, "history")
        present = t["present"]
        assert pc.all(pc.equal(pc.is_valid(t[MONTH_PRESENT]), present)).as_py(), m
        for measure in MONTHLY_MEASURES:
            assert pc.all(pc.equal(pc.is_valid(t[measure]), present)).as_py(), (m, measure)
        absent += t.num_rows - pc.sum(present.cast(pa.int64())).as_py()
    assert absent > 0  # the months have rows without usage, so the check above meant something
