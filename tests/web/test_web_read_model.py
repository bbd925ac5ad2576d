"""The warehouse read model behind the customer pages: built on first use, rebuilt after a reload."""

from __future__ import annotations

import pyarrow.compute as pc

from tenure.domain.roles import Permission, permissions_of
from tenure.engines.store.warehouse_index import WarehouseIndex
from tenure.engines.warehouse import Warehouse
from tenure.services.auth import Principal
from tenure.services.customers import CustomerService

from .web_builders import build_warehouse


def _analyst() -> Principal:
    return Principal(1, "a", "a", "analyst", "en", permissions_of("analyst"), "all")


def test_reload_of_a_month_is_seen_and_old_files_are_removed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids = build_warehouse(tmp_path / "warehouse", customers=6, months=2, with_output=False)
    wh = Warehouse(tmp_path / "warehouse")
    index = WarehouseIndex(wh, tmp_path / "cache", check_every_seconds=0)
    service = CustomerService(index)
    customer = ids["customers"][0]
    month = ids["months"][-1]
    before = service.customer_360(_analyst(), customer)
    assert before["month"] == month and not before["has_profiles"]
    # Reload the month with different revenue: the next read sees it.
    usage = wh.read_arrow("monthly_usage", month)
    usage = usage.set_column(usage.schema.get_field_index("revenue"), "revenue",
                             pc.add(usage["revenue"], 1000.0))
    with wh.write_month(month) as w:
        w.write("monthly_usage", usage)
    after = service.customer_360(_analyst(), customer)
    old = {u["month"]: u["revenue"] for u in before["usage"]}
    new = {u["month"]: u["revenue"] for u in after["usage"]}
    n_subs = len(after["subscriptions"])
    assert round(new[month] - old[month], 2) == 1000.0 * n_subs
    assert len(list((tmp_path / "cache").glob("web-*.duckdb"))) <= 2
    index.close()


def test_empty_warehouse_means_no_customer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tenure.domain.errors import NotFound

    service = CustomerService(WarehouseIndex(Warehouse(tmp_path / "warehouse"), tmp_path / "cache"))
    assert service.search(_analyst(), "138") == []
    try:
        service.customer_360(_analyst(), "C1")
    except NotFound:
        pass
    else:
        raise AssertionError("expected NotFound")
    assert Permission.VIEW_CUSTOMERS in _analyst().permissions


def test_customer_360_shows_the_latest_plan_decision_of_each_subscription(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    ids = build_warehouse(tmp_path / "warehouse", customers=6, months=2)
    wh = Warehouse(tmp_path / "warehouse")
    service = CustomerService(WarehouseIndex(wh, tmp_path / "cache", check_every_seconds=0))
    customer = ids["customers"][0]
    assert service.customer_360(_analyst(), customer)["decisions"] == []
    mine = [s for s in ids["subscribers"] if s[1] == customer]
    others = [s for s in ids["subscribers"] if s[1] != customer][:2]
    rows = [(s[0], s[1], "gd-high-risk", "outbound_call", "selected", 12.5, "won arbitration") for s in mine]
    rows += [(s[0], s[1], None, None, "not_eligible", None, "matches no active campaign") for s in others]
    cols = ["subscriber_id", "customer_id", "campaign_id", "channel", "decision", "expected_value", "reason"]
    decisions = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
    month = ids["months"][-1]
    with wh.write_month(month, "output") as w:
        w.write("decisions", decisions)
    doc = service.customer_360(_analyst(), customer)
    assert sorted(d["subscriber_id"] for d in doc["decisions"]) == sorted(s[0] for s in mine)
    assert {(d["month"], d["decision"], d["campaign_id"]) for d in doc["decisions"]} == {
        (month, "selected", "gd-high-risk")
    }


def test_customer_360_shows_churn_reasons_of_the_scored_month(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pyarrow as pa

    ids = build_warehouse(tmp_path / "warehouse", customers=6, months=2)
    wh = Warehouse(tmp_path / "warehouse")
    service = CustomerService(WarehouseIndex(wh, tmp_path / "cache", check_every_seconds=0))
    customer = ids["customers"][1]
    assert service.customer_360(_analyst(), customer)["churn_reasons"] == []
    sub = next(s for s in ids["subscribers"] if s[1] == customer)
    other = next(s for s in ids["subscribers"] if s[1] != customer)
    rows = [(sub[0], 0.42, 10, 1, "mou_offnet_pct_3m", "45%", 0.8, "off-net minutes up 45% over 3 months",
             "网间通话3个月增长45%", "marketing_care", "m1"),
            (sub[0], 0.42, 10, 2, "complaints_3m", "2", 0.3, "2 complaints in 3 months", "近3个月投诉2次",
             "service_care", "m1"),
            (other[0], 0.2, 9, 1, "arpu_pct_3m", "-30%", 0.5, "spend down 30%", "消费下降30%", "marketing_care", "m1")]
    cols = ["subscriber_id", "churn_probability", "risk_decile", "rank", "feature", "value", "contribution",
            "reason_en", "reason_zh", "family", "model_id"]
    with wh.write_month(ids["months"][-1], "output") as w:
        w.write("reasons", pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)}))
    doc = service.customer_360(_analyst(), customer)
    assert [(r["subscriber_id"], r["rank"], r["family"]) for r in doc["churn_reasons"]] == [
        (sub[0], 1, "marketing_care"), (sub[0], 2, "service_care")]
