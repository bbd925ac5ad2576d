"""`tenure synth respond`: the synthetic operator reacts to a month's plan.

Reads the plan of month M (``decisions`` in the warehouse output), the care
family of each planned campaign (from its strategy, in the store) and the
segment of each subscriber (the month's profiles); hands the arms to
``tenure.synthetic.response.respond``, which applies the treated arm's hidden
responses and regenerates the synthetic files; then reloads the months after
M into the warehouse so the next ``run-month`` and the evaluation see them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tenure.config import Settings
from tenure.domain.errors import NotFound
from tenure.domain.model import parse_month
from tenure.domain.strategies import strategy
from tenure.engines.warehouse import Warehouse
from tenure.services.campaigns import CampaignService


def plan_arms(warehouse: Warehouse, month: str) -> pa.Table:
    """The planned arms of ``month``: subscriber_id, campaign_id, decision and segment_id."""
    if not warehouse.has("decisions", month, "output"):
        raise NotFound(f"no plan for {month}: run tenure plan-month {month} first")
    d = warehouse.read_arrow("decisions", month, "output", columns=["subscriber_id", "campaign_id", "decision"])
    d = d.filter(pc.is_in(d["decision"], pa.array(["selected", "over_capacity", "control"])))
    if warehouse.has("profiles", month, "output"):
        p = warehouse.read_arrow("profiles", month, "output", columns=["subscriber_id", "segment_id"])
        p = p.set_column(1, "segment_id", p["segment_id"].cast(pa.string()))
        d = d.join(p, "subscriber_id", join_type="left outer")
    return d


def campaign_families(uow_factory: Callable[[], Any], campaign_ids: list[str]) -> dict[str, str]:
    """Campaign id -> care family (``marketing`` / ``service``) of its strategy."""
    service = CampaignService(uow_factory)
    return {cid: strategy(service.get(cid).campaign.strategy).family.value for cid in campaign_ids}


def respond_to_plan(settings: Settings, data: Path, month: str, uow_factory: Callable[[], Any],
                    reload: bool = True) -> dict[str, Any]:
    """Apply the responses to the plan of ``month`` in the synthetic folder ``data``; reload later months."""
    from tenure.services.loading import load_directory
    from tenure.synthetic.response import respond

    month = parse_month(month)
    wh = Warehouse(settings.warehouse_dir)
    arms = plan_arms(wh, month)
    cids = sorted({c for c in arms["campaign_id"].to_pylist() if c is not None})
    report = respond(Path(data), month, arms, campaign_families(uow_factory, cids))
    doc = report.as_dict()
    loaded = []
    if reload:
        for later in report.regenerated:
            if (Path(data) / later).is_dir():
                load_directory(settings, Path(data), month=later)
                loaded.append(later)
    doc["reloaded"] = loaded
    return doc
