"""Synthetic operator -> load -> run-month, the way an operator uses Tenure."""

from __future__ import annotations

from pathlib import Path

from tenure.config import Settings
from tenure.domain.grades import CARD_GRADES, CARD_REVIEWS, card_review
from tenure.engines.warehouse import Warehouse
from tenure.services.loading import load_directory
from tenure.services.monthly_cycle import run_month
from tenure.synthetic import generate


def test_synthetic_operator_runs_end_to_end(settings: Settings, tmp_path: Path) -> None:
    report = generate(tmp_path / "extracts", subscribers=300, months=6, seed=5, end="2026-06", fmt="parquet")
    load_directory(settings, tmp_path / "extracts")
    last = report.months[-1]
    summary = run_month(settings, last)
    wh = Warehouse(settings.warehouse_dir)
    profiles = wh.read_arrow("profiles", last, "output").to_pylist()
    assert summary.subscribers == len(profiles) > 0
    assert len({p["subscriber_id"] for p in profiles}) == len(profiles)
    assert set(summary.stages) <= set("ABCDE") and sum(summary.stages.values()) == len(profiles)
    assert summary.warnings > 0 and summary.groups > 0
    # the six loaded months are all in the history
    feats = wh.read_arrow("features", last, "output", columns=["months_of_history"]).column(0).to_pylist()
    assert max(feats) == 6
    # Card reviews, per customer: the best card its staying subscriptions earn against the card held.
    held: dict[str, str] = {}
    best: dict[str, int] = {}
    for p in profiles:
        if p["status"] != "churned":
            held[p["customer_id"]] = p["vip_card"]
            best[p["customer_id"]] = max(best.get(p["customer_id"], 0), CARD_GRADES.index(p["card_grade"]))
    reviews = [card_review(held[c], CARD_GRADES[b]) for c, b in best.items()]
    assert summary.card_reviews == {r: reviews.count(r) for r in CARD_REVIEWS}
    assert summary.card_reviews["upgrade"] > 0 and summary.card_reviews["downgrade"] > 0
    several = [c for c in best if sum(p["customer_id"] == c for p in profiles) > 1]
    assert several  # customers with more than one subscription are counted once


def test_the_core_customer_warning_follows_the_operators_definition(settings: Settings, tmp_path: Path) -> None:
    """The maintenance rule, the features and the profiles read one configured definition; the reason names it."""
    (settings.home / "config").mkdir(parents=True, exist_ok=True)
    (settings.home / "config" / "core_customers.yaml").write_text(
        "criteria:\n  - id: high_spend\n    name_en: Spends 40 yuan or more\n    name_zh: 月均消费40元以上\n"
        "    when: {column: arpu_avg3, op: ge, value: 40}\n", encoding="utf-8")
    report = generate(tmp_path / "extracts", subscribers=300, months=3, seed=5, end="2026-06", fmt="parquet")
    load_directory(settings, tmp_path / "extracts")
    run_month(settings, report.months[-1])
    wh = Warehouse(settings.warehouse_dir)
    feats = {r["subscriber_id"]: r for r in wh.read_arrow(
        "features", "2026-06", "output", columns=["subscriber_id", "core_reason", "is_core", "churned_in_month",
                                                   "arpu_avg3"]).to_pylist()}
    profiles = {r["subscriber_id"]: r for r in wh.read_arrow("profiles", "2026-06", "output").to_pylist()}
    warned = {r["subscriber_id"]: r for r in wh.read_arrow("warnings", "2026-06", "output").to_pylist()
              if r["rule_id"] == "core_customer"}
    assert {s for s, f in feats.items() if f["is_core"] and not f["churned_in_month"]} == set(warned)
    assert all(profiles[s]["core_reason"] == f["core_reason"] for s, f in feats.items())
    by_spend = [s for s, f in feats.items() if f["core_reason"] == "high_spend" and not f["churned_in_month"]]
    assert by_spend and any(feats[s]["arpu_avg3"] < 80 for s in by_spend)  # the operator's 40, not the shipped 80
    assert warned[by_spend[0]]["reason_en"].startswith("Core customer: Spends 40 yuan or more; average spend ")
    assert warned[by_spend[0]]["reason_zh"].startswith("核心客户：月均消费40元以上，近3月平均消费")
    vip = next(s for s, f in feats.items() if f["core_reason"] == "vip_card" and s in warned)
    assert warned[vip]["reason_en"].startswith("Core customer: VIP card holder;")
