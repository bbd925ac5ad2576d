"""A small synthetic operator run through plan -> response -> later months, for the effect tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from tenure.bootstrap import Services, build
from tenure.config import Settings
from tenure.domain.model import month_add
from tenure.engines.store.models import User
from tenure.services import models
from tenure.services.campaigns import CampaignService
from tenure.services.loading import load_directory
from tenure.services.monthly_cycle import run_month
from tenure.services.monthly_plan import MonthlyPlanService
from tenure.services.treatment_response import respond_to_plan
from tenure.synthetic import generate

END = "2026-06"
PLAN_MONTHS = ("2026-02", "2026-03")
BROAD = "broad-bill-credit"  # marketing care for everyone else: persuadables, sleeping dogs and the indifferent
NOTHING = "care-quiet-usage"  # service care for quiet long-standing subscribers: almost nobody would leave anyway
STRATEGY = "bill_credit_promotion"


@dataclass
class ResponseRun:
    settings: Settings
    services: Services
    data: Path
    months: list[str]
    responses: dict[str, dict]
    digests: dict[str, dict[str, str]]  # month -> file -> MD5, before any response

    def truth(self, month: str, campaign: str, segment: str = "*") -> dict:
        t = pq.read_table(self.data / "ground_truth" / "treatment_effects.parquet").to_pylist()
        return next(r for r in t if r["plan_month"] == month and r["campaign_id"] == campaign
                    and r["segment_id"] == segment)


def _campaign(cid: str, strategy: str, offer: str, target: str, channels: list[str], **kw: object) -> str:
    data = {"campaign_id": cid, "name": cid, "strategy": strategy, "offer": offer, "target_filter": target,
            "channels": channels, "start_date": "2026-01-01", "end_date": "2026-12-31", "priority": 5,
            "control_share": 0.5, **kw}
    return yaml.safe_dump(data, sort_keys=False)


def run_operator(home: Path, subscribers: int = 8000, seed: int = 11, plan_months: tuple[str, ...] = PLAN_MONTHS,
                 campaigns: list[str] | None = None, churn_model: bool = True) -> ResponseRun:
    """Generate, load, run and plan each of ``plan_months``, respond and reload the later months.

    With ``churn_model`` the month before the first plan is run too, and before the last plan month
    is run a churn model (horizon 1, trained only on what is known by then) is trained and promoted,
    so that month's profiles carry a real churn probability for risk targeting.
    """
    settings = Settings(home=home, environment="test", secret_key="test-secret-" + uuid.uuid4().hex)
    svc = build(settings)
    data = home / "extracts"
    report = generate(data, subscribers, 6, seed, end=END, fmt="parquet")
    digests = {m: month_digest(data, m) for m in report.months}
    load_directory(settings, data)
    name = "mgr_" + uuid.uuid4().hex[:8]
    with svc.uow() as uow:
        uow.users.add(User(name=name, display_name=name, role="retention_manager", locale="en", password_hash=None,
                           active=True, failed_logins=0, created_at=dt.datetime.now(dt.UTC)))
        uow.commit()
    cs = CampaignService(svc.uow)
    for text in campaigns or [
        _campaign(BROAD, STRATEGY, "bill_credit_20", "warning_count >= 0", ["sms"], priority=1),
        _campaign(NOTHING, "usage_care", "quota_reminder", "warning_count = 0 and tenure_months >= 36", ["sms"],
                  priority=9),
    ]:
        [c] = cs.import_yaml(name, text)
        cs.submit(name, c.campaign.campaign_id)
        cs.approve(name, c.campaign.campaign_id)
    responses = {}
    if churn_model:
        run_month(settings, month_add(plan_months[0], -1))
    for m in plan_months:
        if churn_model and m == plan_months[-1]:
            card = models.train(settings, "churn", horizon=1, until=m, snapshots=2)["model"]
            models.promote_model(settings, models.model_id(card["name"], card["version"]))
        run_month(settings, m)
        MonthlyPlanService(svc.uow, svc.warehouse, home).plan(m)
        responses[m] = respond_to_plan(settings, data, m, svc.uow)
    return ResponseRun(settings=settings, services=svc, data=data, months=list(report.months), responses=responses,
                       digests=digests)


def month_digest(data: Path, month: str) -> dict[str, str]:
    return {f.name: hashlib.md5(f.read_bytes()).hexdigest() for f in sorted((data / month).iterdir())}
