"""Uplift models trained from past campaigns' decisions and outcomes; scoring for the planner.

Training rows: every subscriber a plan put in a campaign's treated arm
(``selected`` or ``over_capacity``, intention to treat) or its ``control``,
with the month's features and profile numbers, labelled "churned within H
months" from the later monthly snapshots (missing from a snapshot counts as
churned, as in the evaluation). Per strategy (the campaign's strategy id) or
``all``. The latest ``test_months`` plan months are held out: both learners
are fitted on the earlier months and scored there with the Qini coefficient
and uplift at 30 %, so the figures say how the ranking does on campaigns it
has not seen. The same held-out rows calibrate the model's level: observed
against predicted uplift by predicted-uplift quintile, shrunk and made
monotone, with bootstrap replicates (``tenure.ml.uplift.calibrate_uplift``).
Planning ranks and counts expected kept customers with the calibrated uplift,
never the raw prediction, whose level is inflated at the top of a ranking.

Models are stored beside the churn models, under ``<home>/uplift/<name>/``
(``model.pkl`` and ``card.json`` with the metrics, features, window and the
file's SHA-256; a file that does not match its card is refused).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from tenure.domain.errors import Conflict, InputError, NotFound
from tenure.domain.model import month_add, parse_month
from tenure.engines.warehouse import Warehouse
from tenure.ml.uplift import (
    LEARNERS,
    apply_calibration,
    calibrate_uplift,
    expected_kept,
    make_learner,
    numeric_features,
    qini_curve,
    score_uplift,
)

ID_COLUMNS = ("subscriber_id", "customer_id", "campaign_id", "plan_month", "treated", "churned", "strategy")
PROFILE_NUMBERS = ("current_value", "potential_value", "churn_probability", "value_level", "warning_count", "is_core")
NAME = re.compile(r"^[a-z0-9_-]+$")
DEFAULT_LEARNER = "two_model"


def _pq(path: Path) -> str:
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def model_name(strategy: str, learner: str) -> str:
    return f"{strategy}-{learner}"


class UpliftService:
    """Train, store, show and apply uplift models."""

    def __init__(self, warehouse: Warehouse, uow_factory: Callable[[], Any] | None, home: Path,
                 threads: int = 2) -> None:
        self.warehouse = warehouse
        self.uow_factory = uow_factory
        self.root = Path(home) / "uplift"
        self.threads = threads

    # -- data ---------------------------------------------------------------------------
    def _strategies(self, campaign_ids: list[str]) -> dict[str, str]:
        if self.uow_factory is None:
            raise InputError("training needs the store (campaign strategies)")
        from tenure.services.campaigns import CampaignService

        svc = CampaignService(self.uow_factory)
        out = {}
        for cid in campaign_ids:
            try:
                out[cid] = svc.get(cid).campaign.strategy
            except NotFound:
                out[cid] = "unknown"
        return out

    def month_rows(self, month: str, horizon: int) -> pd.DataFrame | None:
        """Treated and control rows of the plan of ``month`` with features and the churn label; None if not followed."""
        wh = self.warehouse
        later = month_add(month, horizon)
        if not (wh.has("decisions", month, "output") and wh.has("subscribers", later)):
            return None
        con = duckdb.connect()
        con.execute(f"SET threads = {int(self.threads)}")
        try:
            feats = (f"left join {_pq(wh.path('features', month, 'output'))} f using (subscriber_id)"
                     if wh.has("features", month, "output") else "")
            have: set[str] = set()
            if wh.has("profiles", month, "output"):
                have = {r[0] for r in con.execute(
                    f"describe select * from {_pq(wh.path('profiles', month, 'output'))}").fetchall()}
            prof_cols = [c for c in PROFILE_NUMBERS if c in have]
            # Decisions a plan made about subscribers who had already left (before plans left them
            # out) say nothing about an offer's effect: their rows are dropped.
            left = "and coalesce(p.p_status, '') <> 'churned'" if prof_cols and "status" in have else ""
            status = ", status as p_status" if left else ""
            prof = (f"left join (select subscriber_id, {', '.join(f'{c} as p_{c}' for c in prof_cols)}{status} "
                    f"from {_pq(wh.path('profiles', month, 'output'))}) p using (subscriber_id)" if prof_cols else "")
            frame = con.execute(f"""
                select d.subscriber_id, d.campaign_id, '{month}' plan_month,
                       d.decision <> 'control' treated,
                       (s.subscriber_id is null or s.status = 'churned') churned,
                       {'f.*' if feats else 'null::int _no_features'}{', p.*' if prof else ''}
                from {_pq(wh.path('decisions', month, 'output'))} d
                left join {_pq(wh.path('subscribers', later))} s using (subscriber_id)
                {feats} {prof}
                where d.decision in ('selected', 'over_capacity', 'control') and d.campaign_id is not null
                {left}
            """).df()
        finally:
            con.close()
        frame = frame.loc[:, ~frame.columns.duplicated()]
        return frame.drop(columns=["p_status"], errors="ignore")

    def training_frame(self, strategy: str, until: str | None, horizon: int) -> pd.DataFrame:
        months = sorted(self.warehouse.months("output", "decisions"))
        if until is not None:
            until = parse_month(until)
            months = [m for m in months if m <= until]
        parts = [f for m in months if (f := self.month_rows(m, horizon)) is not None and len(f)]
        if not parts:
            raise NotFound(f"no plan followed for {horizon} month(s) yet: plan, then load the later months")
        frame = pd.concat(parts, ignore_index=True)
        strategies = self._strategies(sorted(frame["campaign_id"].unique()))
        frame["strategy"] = frame["campaign_id"].map(strategies)
        if strategy != "all":
            frame = frame[frame["strategy"] == strategy]
            if frame.empty:
                raise NotFound(f"no planned campaign of strategy {strategy!r} with outcomes")
        return frame.reset_index(drop=True)

    # -- training ---------------------------------------------------------------------------
    def train(self, strategy: str = "all", until: str | None = None, test_months: int = 1, horizon: int = 3,
              learners: tuple[str, ...] = LEARNERS, seed: int = 0) -> dict[str, Any]:
        if not NAME.match(strategy):
            raise InputError(f"strategy {strategy!r} must be lower-case letters, digits, - or _")
        if not 1 <= horizon <= 12:
            raise InputError("horizon must be 1..12 months")
        frame = self.training_frame(strategy, until, horizon)
        months = sorted(frame["plan_month"].unique())
        if len(months) <= test_months:
            raise InputError(f"need more than {test_months} followed plan month(s) to hold some out; have "
                             f"{', '.join(months)}")
        test_set = months[-test_months:]
        test = frame["plan_month"].isin(test_set)
        # The features' is_core restates the profiles' p_is_core, already an input.
        features = numeric_features(frame, exclude=(*ID_COLUMNS, "is_core"))
        train_rows, test_rows = frame[~test], frame[test]
        X = train_rows[features].astype(float)
        Xt = test_rows[features].astype(float)
        out = []
        for name in learners:
            model = make_learner(name, seed).fit(X, train_rows["treated"], train_rows["churned"])
            u = model.predict_uplift(Xt)
            m = score_uplift(u, test_rows["treated"], test_rows["churned"])
            curve = qini_curve(u, test_rows["treated"], test_rows["churned"], points=20)
            calibration = calibrate_uplift(u, test_rows["treated"], test_rows["churned"], seed=seed)
            card = self._save(model_name(strategy, name), model, {
                "learner": name, "strategy": strategy, "horizon": horizon, "train_months": months[:-test_months],
                "test_months": test_set, "train_rows": len(train_rows), "test_rows": len(test_rows),
                "features": features, **m, "qini_curve": curve, "calibration": calibration,
            })
            out.append(card)
        return {"until": until or months[-1], "test_months": test_set, "models": out}

    # -- storage ------------------------------------------------------------------------------
    def _save(self, name: str, model: Any, card: dict[str, Any]) -> dict[str, Any]:
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        card = {**card, "name": name, "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "model_sha256": hashlib.sha256(blob).hexdigest(), "path": str(base)}
        tmp_model, tmp_card = base / "model.pkl.tmp", base / "card.json.tmp"
        tmp_model.write_bytes(blob)
        tmp_card.write_text(json.dumps(card, indent=1, default=float), encoding="utf-8")
        tmp_model.replace(base / "model.pkl")
        tmp_card.replace(base / "card.json")
        return card

    def show(self) -> dict[str, Any]:
        cards = []
        if self.root.is_dir():
            for p in sorted(self.root.iterdir()):
                if (p / "card.json").is_file():
                    cards.append(json.loads((p / "card.json").read_text(encoding="utf-8")))
        return {"until": max((c["test_months"][-1] for c in cards), default="-"),
                "test_months": sorted({m for c in cards for m in c["test_months"]}), "models": cards}

    def load(self, strategy: str, learner: str = DEFAULT_LEARNER) -> tuple[Any, dict[str, Any]]:
        """The stored model for ``strategy`` (falling back to the ``all`` model) and its card."""
        for s in (strategy, "all"):
            base = self.root / model_name(s, learner)
            if (base / "card.json").is_file():
                card = json.loads((base / "card.json").read_text(encoding="utf-8"))
                blob = (base / "model.pkl").read_bytes()
                if hashlib.sha256(blob).hexdigest() != card["model_sha256"]:
                    raise Conflict(f"uplift model {base.name}: file does not match its card")
                return pickle.loads(blob), card  # written by _save into this home only
        raise NotFound(f"no uplift model for strategy {strategy!r}: train one with "
                       f"`tenure uplift train --strategy {strategy}`")

    def score_month(self, month: str, strategy: str, learner: str = DEFAULT_LEARNER) -> pd.DataFrame:
        """Uplift of every profiled subscriber of ``month``: ``predicted`` by the model, ``uplift`` calibrated.

        ``uplift`` (the drop in churn probability planning counts on) is the held-out calibration of the
        card applied to the prediction; a card without one (an older model) is refused.
        """
        model, card = self.load(strategy, learner)
        if not card.get("calibration"):
            raise Conflict(f"uplift model {card['name']} has no held-out calibration: retrain it with "
                           f"`tenure uplift train --strategy {card['strategy']}`")
        wh = self.warehouse
        if not wh.has("profiles", month, "output"):
            raise NotFound(f"no profiles for {month}")
        con = duckdb.connect()
        con.execute(f"SET threads = {int(self.threads)}")
        try:
            feats = (f"left join {_pq(wh.path('features', month, 'output'))} f using (subscriber_id)"
                     if wh.has("features", month, "output") else "")
            cols = ", ".join(f"p.{c} as p_{c}" for c in PROFILE_NUMBERS if c in card["features"] or
                             f"p_{c}" in card["features"])
            frame = con.execute(f"""
                select p.subscriber_id{', f.*' if feats else ''}{', ' + cols if cols else ''}
                from {_pq(wh.path('profiles', month, 'output'))} p {feats}
            """).df()
        finally:
            con.close()
        frame = frame.loc[:, ~frame.columns.duplicated()]
        for c in card["features"]:
            if c not in frame.columns:
                frame[c] = np.nan
        u = model.predict_uplift(frame[card["features"]].astype(float))
        out = pd.DataFrame({"subscriber_id": frame["subscriber_id"].astype(str), "predicted": u,
                            "uplift": apply_calibration(card["calibration"], u)})
        out.attrs["card"] = card  # the calibration the interval of a selection needs
        return out


def add_kept_intervals(report: list[dict[str, Any]], decisions: Any, campaigns: list[Any],
                       scores: dict[str, pd.DataFrame]) -> None:
    """Give each uplift campaign's ``preview`` its expected kept customers' 95 % interval, in place.

    ``decisions``: the plan's decisions (Arrow); ``scores``: per strategy, the month's
    ``score_month`` frame (its card in ``attrs``). The point (Σ calibrated uplift over the
    selected) is the planner's own; the interval is the bootstrap of the held-out calibration.
    """
    frame = decisions.select(["subscriber_id", "campaign_id", "decision"]).to_pandas()
    frame = frame[frame["decision"] == "selected"]
    by_id = {c.campaign_id: c for c in campaigns}
    for doc in report:  # the report holds the campaigns active in the month only
        c = by_id.get(doc["campaign_id"])
        if c is None or c.targeting != "uplift" or c.strategy not in scores:
            continue
        ids = frame.loc[frame["campaign_id"] == c.campaign_id, "subscriber_id"]
        s = scores[c.strategy]
        predicted = s["predicted"].to_numpy()[s["subscriber_id"].isin(set(ids)).to_numpy()]
        card = s.attrs["card"]
        kept = expected_kept(card["calibration"], predicted)
        doc["preview"].update(expected_kept=round(kept["expected_kept"], 1), kept_low=round(kept["kept_low"], 1),
                              kept_high=round(kept["kept_high"], 1), uplift_model=card["name"])
