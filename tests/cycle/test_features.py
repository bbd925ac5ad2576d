"""Feature formulas against hand-computed values, and point-in-time correctness."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from tenure.config import Settings
from tenure.domain.measures import MONTHLY_MEASURES, SUBSCRIBER_ATTRIBUTES
from tenure.engines.warehouse import Warehouse
from tenure.ml.reasons import phrase_for
from tenure.services.models import model_feature_columns

from .cycle_builders import usage, write_month
from .cycle_pipeline import compute
from .tiny import build_tiny

M = "2026-06"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("tiny"), environment="test")


@pytest.fixture(scope="module")
def tiny(home: Settings):
    return build_tiny(home.warehouse_dir)


@pytest.fixture(scope="module")
def june(home: Settings, tiny) -> tuple[dict, dict]:
    """Features and profiles of June, computed once for the module."""
    return compute(home, M)


def test_history_has_every_contract_name(june, tiny) -> None:
    feats, _ = june
    row = feats[tiny.x]
    for m in MONTHLY_MEASURES:
        for k in range(6):
            assert f"{m}_m{k}" in row
    for a in SUBSCRIBER_ATTRIBUTES:
        assert a in row


def test_active_subscribers_only(june, tiny) -> None:
    feats, profiles = june
    assert set(feats) == {tiny.x, tiny.y, tiny.w}  # z churned in March
    assert profiles[tiny.w]["stage"] == "E" and profiles[tiny.w]["stage_rule"] == "churned_in_month"


def test_levels_averages_trends(june, tiny) -> None:
    x = june[0][tiny.x]
    assert [x[f"arpu_m{k}"] for k in range(6)] == [30, 50, 70, 100, 100, 100]
    assert x["arpu_avg3"] == pytest.approx(50)
    assert x["arpu_avg6"] == pytest.approx(75)
    assert x["revenue_6m"] == pytest.approx(450)
    assert x["arpu_trend3"] == pytest.approx((30 - 70) / 2)
    assert x["arpu_pct_change"] == pytest.approx((30 - (50 + 70 + 100) / 3) / ((50 + 70 + 100) / 3))
    # 30<40, 50<56, 70<80 are declines of more than 20%; 100 vs 100 is not.
    assert x["arpu_consecutive_declines"] == 3
    values = [30, 50, 70, 100, 100, 100]
    mean = sum(values) / 6
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 6)
    assert x["arpu_cv6"] == pytest.approx(std / mean)
    assert x["offnet_share"] == pytest.approx(60 / 180)
    assert x["onnet_share"] == pytest.approx(120 / 180)


def test_events_arrears_contract_tenure(june, tiny) -> None:
    x = june[0][tiny.x]
    assert x["complaints_m2"] == 1 and x["complaints_3m"] == 1 and x["complaints_6m"] == 1
    assert x["months_since_complaint"] == 2
    assert x["plan_changes_6m"] == 2  # one upgrade in March, one downgrade in May
    assert x["downgrades_m1"] == 1 and x["downgrades_6m"] == 1 and x["months_since_downgrade"] == 1
    assert x["arrears_months_6m"] == 2 and x["arrears_max_6m"] == pytest.approx(12.5)
    assert x["contract_months_left"] == 3
    assert x["tenure_months"] == (2026 * 12 + 6) - (2025 * 12 + 3)
    assert x["months_of_history"] == 6 and x["short_history"] is False


def test_channel_contacts_and_shares(june, tiny) -> None:
    x = june[0][tiny.x]
    assert x["contacts_m0"] == 3 and x["contacts_m1"] == 1
    assert x["contacts_hotline_6m"] == 2 and x["contacts_sms_6m"] == 1 and x["contacts_store_6m"] == 1
    # inbound only, a month-old contact weighs 0.5: hotline 2, store 0.5
    assert x["inbound_share_hotline"] == pytest.approx(0.8)
    assert x["inbound_share_store"] == pytest.approx(0.2)
    assert x["inbound_share_sms"] == pytest.approx(0.0)


def test_new_subscriber_has_short_history(june, tiny) -> None:
    y = june[0][tiny.y]
    assert y["months_of_history"] == 2 and y["short_history"] is True
    assert y["arpu_m2"] is None and y["arpu_avg3"] == pytest.approx(30)
    assert y["arpu_pct_change"] == pytest.approx((40 - 20) / 20)


def test_point_in_time(home: Settings, tiny, june) -> None:
    before = june[0]
    # A later month arrives: wildly different usage and X churned. June must not move.
    wh = Warehouse(home.warehouse_dir)
    later = "2026-07"
    snap = wh.read_arrow("subscribers", M).to_pylist()
    snap = [s | {"status": "churned", "churn_date": None} if s["subscriber_id"] == tiny.x else s for s in snap]
    write_month(wh, later, {"subscribers": snap, "monthly_usage": [usage(later, tiny.x, revenue=5000.0)],
                            "customers": wh.read_arrow("customers", M).to_pylist(),
                            "plans": wh.read_arrow("plans", M).to_pylist()})
    after, _ = compute(home, M, profiles=False)
    assert after == before


@pytest.mark.slow
def test_buckets_change_nothing(home: Settings, tiny, june) -> None:
    # Processing subscribers in buckets, one at a time, gives the same rows.
    two, _ = compute(home, M, buckets=2, profiles=False)
    assert two == june[0]


def test_first_month_has_one_month_of_history(home: Settings, tiny) -> None:
    first, _ = compute(home, "2026-01", profiles=False)
    x = first[tiny.x]
    assert x["months_of_history"] == 1 and x["short_history"] is True
    assert x["arpu_m0"] == 100.0 and all(x[f"arpu_m{k}"] is None for k in range(1, 6))
    assert x["arpu_avg3"] == 100.0 and x["arpu_pct_change"] is None and x["arpu_consecutive_declines"] == 0


def test_every_model_feature_has_a_business_phrase(june) -> None:
    """A reason never shows a bare column name: each features column a churn model may read has its phrase."""
    feats, _ = june
    columns = model_feature_columns(pd.DataFrame(list(feats.values())))
    assert len(columns) > 150
    bare = [c for c in columns if phrase_for(c).en.startswith(f"{c}:")]
    assert bare == []


def test_shared_window_totals_are_written_once() -> None:
    """Each window total feeds several features but appears once in the SQL.

    Inlined, a total fed every average, change and share built on it again
    (DuckDB shares nothing across the branches of a CASE); the values are
    checked by the tests above, this checks the plan's shape.
    """
    import datetime as dt

    import ibis

    from tenure.analytics.channels import activity_from_columns
    from tenure.analytics.features import subscriber_features
    from tenure.analytics.history import measure_type
    from tenure.domain.model import CHANNELS

    schema = {"subscriber_id": "string", "payment_type": "string", "status": "string",
              "tenure_months": "int64", "months_of_history": "int64",
              "contract_end_date": "date", "agreement_end_date": "date"}
    schema |= {f"{m}_m{k}": measure_type(m) for m in MONTHLY_MEASURES for k in range(6)}
    schema |= {f"{c}_{ch}_m{k}": "int64" for c in ("contacts", "inbound") for ch in CHANNELS for k in range(6)}
    t = ibis.table(schema, name="history")
    sql = ibis.to_sql(subscriber_features(activity_from_columns(t, range(6)), dt.date(2026, 6, 30)),
                      dialect="duckdb")
    flat = re.sub(r'"t\d+"\.', "", " ".join(sql.split()))  # without the table aliases
    months_1_to_3 = ' + '.join(f'COALESCE("arpu_m{k}", 0)' for k in (1, 2, 3))
    # The base of arpu_pct_change, used three times (and not the same months inside the 6-month total):
    assert len(re.findall(re.escape(months_1_to_3) + r"(?! \+)", flat)) == 1
    squares = ' + '.join(f'COALESCE("arpu_m{k}" * "arpu_m{k}", 0)' for k in range(6))
    assert flat.count(squares) == 1
    store = 'COALESCE("inbound_store_m1", 0) AS DOUBLE) * 0.5'
    assert flat.count(store) == 1  # store's weighted inbound contacts, in all seven shares' totals


def test_months_are_counted_once_per_window_only_where_a_month_is_whole() -> None:
    """Subscriber features count a window's months once, from arpu; a measure missing on its own
    (as a group's can be) keeps its own count elsewhere."""
    import ibis

    from tenure.analytics.features import MONTH_PRESENT, _Shared, window_avg

    t = ibis.memtable({"arpu_m0": [10.0, None], "arpu_m1": [20.0, 30.0], "arpu_m2": [None, None],
                       "mou_m0": [None, 4.0], "mou_m1": [6.0, 8.0], "mou_m2": [None, None]})
    con = ibis.duckdb.connect()

    def averages(share):  # type: ignore[no-untyped-def]
        exprs = {m: window_avg(t, m, 0, 3, share) for m in ("arpu", "mou")}  # a _Shared records its totals here
        if isinstance(share, _Shared):
            staged = share.stage(t)
            exprs = {m: window_avg(staged, m, 0, 3, share) for m in ("arpu", "mou")}
            return con.to_pyarrow(staged.select(**exprs)).to_pydict()
        return con.to_pyarrow(t.select(**exprs)).to_pydict()

    own = {"arpu": [15.0, 30.0], "mou": [6.0, 6.0]}
    assert averages(lambda name, make: make()) == own
    assert averages(_Shared()) == own
    # Counting arpu's months for mou too is right only when a month's measures are missing together,
    # as in a subscriber history; here they are not, and the count shows it.
    assert averages(_Shared(month_present=MONTH_PRESENT)) == {"arpu": [15.0, 30.0], "mou": [3.0, 12.0]}
