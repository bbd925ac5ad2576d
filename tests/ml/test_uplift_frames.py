"""The rows uplift models learn from: decisions of past plans with their outcome."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tenure.engines.warehouse import Warehouse
from tenure.services.uplift import UpliftService


def test_decisions_about_subscribers_who_had_left_are_not_learnt_from(tmp_path: Path) -> None:
    """A plan made before plans left leavers out: its decisions about them say nothing about the offer."""
    wh = Warehouse(tmp_path / "warehouse")
    ids = ["stays", "left", "stays_control"]
    with wh.write_month("2026-02", "output") as w:
        w.write("profiles", pa.table({"subscriber_id": ids, "status": ["active", "churned", "active"],
                                      "current_value": [100.0, 200.0, 300.0], "is_core": [True, False, True]}))
        w.write("decisions", pa.table({"subscriber_id": ids, "campaign_id": ["c1"] * 3,
                                       "decision": ["selected", "selected", "control"]}))
    with wh.write_month("2026-03", "input") as w:
        w.write("subscribers", pa.table({"subscriber_id": ["stays", "stays_control"], "status": ["active", "churned"]}))
    frame = UpliftService(wh, None, tmp_path).month_rows("2026-02", 1)
    assert frame is not None
    assert sorted(frame.subscriber_id) == ["stays", "stays_control"]
    assert dict(zip(frame.subscriber_id, frame.churned, strict=True)) == {"stays": False, "stays_control": True}
    assert "p_status" not in frame.columns and "p_current_value" in frame.columns
