"""The subscriber numbering the stored history is laid out by, and the features lined up by position."""

from __future__ import annotations

import shutil
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tenure.analytics.channels import channel_counts
from tenure.analytics.core import core_customers
from tenure.analytics.history import month_bounds, monthly_measures
from tenure.config import Settings
from tenure.domain.errors import InputError
from tenure.domain.model import month_add
from tenure.engines.compute import Engine, connect
from tenure.engines.warehouse import Warehouse
from tenure.services.monthly_cycle import MonthInputs, load_cycle_config, month_attributes
from tenure.services.subscriber_index import SubscriberIndex

from .cycle_pipeline import compute
from .joined_reference import activity_from_counts, joined_features, subscriber_history

M = "2026-06"


@pytest.fixture
def eng(tmp_path: Path) -> Engine:
    e = connect(Settings(home=tmp_path, environment="test"), "duckdb")
    yield e
    e.close()


def _ids(eng: Engine, ids: list[str]) -> ibis.Table:
    return eng.from_arrow(pa.table({"subscriber_id": pa.array(ids, pa.string())}), "ids")


def _numbers(index: SubscriberIndex, eng: Engine) -> dict[str, int]:
    t = index.table(eng)
    assert t is not None
    rows = eng.to_arrow(t).to_pylist()
    return {r["subscriber_id"]: r["idx"] for r in rows}


def test_new_subscribers_are_numbered_after_the_last_in_id_order(eng: Engine, tmp_path: Path) -> None:
    index = SubscriberIndex(Warehouse(tmp_path / "wh"))
    first = index.extend(eng, _ids(eng, ["S3", "S1", "S2", "S1", None]))
    assert _numbers(index, eng) == {"S1": 0, "S2": 1, "S3": 2}
    assert first.size == 3 and first.epoch
    second = index.extend(eng, _ids(eng, ["S9", "S2", "S0"]))
    assert _numbers(index, eng) == {"S1": 0, "S2": 1, "S3": 2, "S0": 3, "S9": 4}  # old numbers kept
    assert second.epoch == first.epoch and second.size == 5
    again = index.extend(eng, _ids(eng, ["S0", "S3"]))
    assert again == second  # nothing new: nothing written
    assert len(list(index.directory.glob("index-*.parquet"))) <= 2


def test_a_deleted_index_starts_a_new_epoch(eng: Engine, tmp_path: Path) -> None:
    wh = Warehouse(tmp_path / "wh")
    index = SubscriberIndex(wh)
    old = index.extend(eng, _ids(eng, ["S1"]))
    shutil.rmtree(index.directory)
    assert index.state().epoch == "" and index.table(eng) is None
    assert index.extend(eng, _ids(eng, ["S1"])).epoch != old.epoch


def test_each_month_is_laid_out_by_number(settings: Settings, operator: object, months: list[str]) -> None:
    wh = Warehouse(settings.warehouse_dir)
    compute(settings, M, profiles=False)
    index = SubscriberIndex(wh)
    st_ = index.state()
    numbers = pa.parquet.read_table(st_.path) if st_.path else None
    assert numbers is not None and numbers["idx"].to_pylist() == list(range(st_.size))
    for m in months:
        assert wh.metadata(m, "history")["index_epoch"] == st_.epoch
        laid = wh.read_arrow("measures", m, "history")
        n = laid.num_rows
        assert laid["idx"].to_pylist() == list(range(n)) and n <= st_.size  # dense, in number order
        assert laid["subscriber_id"].to_pylist() == numbers["subscriber_id"].to_pylist()[:n]
        usage = wh.read_arrow("monthly_usage", m)
        present = laid.filter(laid["present"])
        assert sorted(present["subscriber_id"].to_pylist()) == sorted(usage["subscriber_id"].to_pylist())
        absent = laid.filter(pa.compute.invert(laid["present"]))
        assert absent["arpu"].null_count == absent.num_rows


def test_deleting_the_index_lays_every_month_out_again_with_the_same_features(
        settings: Settings, operator: object, months: list[str]) -> None:
    wh = Warehouse(settings.warehouse_dir)
    first, _ = compute(settings, M, profiles=False)
    versions = {m: wh.version(m, "history") for m in months}
    shutil.rmtree(SubscriberIndex(wh).directory)
    again, _ = compute(settings, M, profiles=False)
    assert all(wh.version(m, "history") != versions[m] for m in months)
    assert again == first


def test_lined_up_features_equal_the_features_joined_from_the_raw_months(
        settings: Settings, operator: object, months: list[str]) -> None:
    """The positional line-up against the plain joins of each month's reduction, computed from the loaded tables."""
    lined, _ = compute(settings, M, profiles=False)
    eng = connect(settings, "duckdb")
    try:
        inp = MonthInputs(Warehouse(settings.warehouse_dir), eng)
        config = load_cycle_config(settings.home)
        hist = [month_add(M, -k) for k in range(6)]
        measures = [None if inp.get("monthly_usage", m) is None else monthly_measures(
            inp.get("monthly_usage", m), complaints=inp.get("complaints", m), orders=inp.get("service_orders", m),
            contacts=inp.get("channel_contacts", m), plans=inp.get("plans", m)) for m in hist]
        counts = [None if inp.get("channel_contacts", m) is None else channel_counts(inp.get("channel_contacts", m))
                  for m in hist]
        expr = core_customers(joined_features(subscriber_history(month_attributes(inp, M), measures),
                                              month_bounds(M)[1], activity_from_counts(counts), config.features),
                              config.core)
        joined = {r["subscriber_id"]: r for r in eng.to_arrow(expr).to_pylist()}
    finally:
        eng.close()
    assert lined.keys() == joined.keys() and len(lined) > 100
    assert list(next(iter(lined.values()))) == list(next(iter(joined.values())))  # same columns, same order
    for sid, row in joined.items():
        for col, v in row.items():
            got = lined[sid][col]
            if isinstance(v, float):
                assert got == pytest.approx(v, rel=1e-12, abs=1e-12), (sid, col)
            else:
                assert got == v, (sid, col)


def test_a_subscriber_twice_in_a_month_is_refused_and_the_stored_month_kept(
        settings: Settings, operator: object) -> None:
    """A duplicate would shift every later row of the layout: the month is refused, its last layout kept."""
    wh = Warehouse(settings.warehouse_dir)
    compute(settings, M, profiles=False)
    changed = month_add(M, -1)
    kept = wh.version(changed, "history")
    usage = wh.read_arrow("monthly_usage", changed)
    with wh.write_month(changed) as w:  # past the loader, which refuses duplicate keys
        w.write("monthly_usage", pa.concat_tables([usage, usage.slice(3, 1)]))
    with pytest.raises(InputError, match="appears twice"):
        compute(settings, M, profiles=False)
    assert wh.version(changed, "history") == kept


def test_a_customer_twice_in_the_month_is_refused(settings: Settings, operator: object) -> None:
    wh = Warehouse(settings.warehouse_dir)
    customers = wh.read_arrow("customers", M)
    with wh.write_month(M) as w:
        w.write("customers", pa.concat_tables([customers, customers.slice(0, 1)]))
    with pytest.raises(InputError, match=r"attributes have 1 extra row\(s\)"):
        compute(settings, M, profiles=False)


def test_an_active_subscriber_without_a_number_is_never_left_out_silently(
        settings: Settings, operator: object) -> None:
    """An index that lost a subscriber (here: rewritten by hand) fails the run instead of dropping them."""
    wh = Warehouse(settings.warehouse_dir)
    compute(settings, M, profiles=False)
    index = SubscriberIndex(wh)
    st_ = index.state()
    assert st_.path is not None
    numbers = pq.read_table(st_.path)
    subscribers = wh.read_arrow("subscribers", M)
    someone = subscribers.filter(pc.equal(subscribers["status"], "active"))["subscriber_id"][0].as_py()
    renamed = pc.if_else(pc.equal(numbers["subscriber_id"], someone), "S-nobody", numbers["subscriber_id"])
    pq.write_table(numbers.set_column(1, "subscriber_id", renamed), st_.path)
    with pytest.raises(InputError, match="have no number"):
        compute(settings, M, profiles=False)
