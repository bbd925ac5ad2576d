"""Small builders with unique ids for the key-account tests."""

from __future__ import annotations

import uuid


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10].upper()}"


def manager(customers: list[str], name: str | None = None):  # type: ignore[no-untyped-def]
    """A key-account manager principal whose portfolio is ``customers``."""
    from tenure.domain.roles import permissions_of
    from tenure.services.auth import Principal

    return Principal(user_id=0, name=name or uid("am_"), display_name="", role="account_manager", locale="en",
                     permissions=permissions_of("account_manager"), scope="customers", customer_ids=tuple(customers))


def write_groups_month(wh, month: str, groups: list[dict], members: list[dict], features: list[dict],  # type: ignore[no-untyped-def]
                       customers: list[dict], agreements: list[dict]) -> None:
    """Write the tables the key-account layer reads for one month (input and output areas)."""
    import pyarrow as pa

    with wh.write_month(month) as w:
        w.write("enterprise_groups", pa.Table.from_pylist(groups))
        w.write("group_members", pa.Table.from_pylist(members))
        w.write("customers", pa.Table.from_pylist(customers))
        w.write("agreements", pa.Table.from_pylist(agreements))
    with wh.write_month(month, "output") as w:
        w.write("features", pa.Table.from_pylist(features))
