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
