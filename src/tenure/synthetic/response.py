"""Treatment response: the synthetic operator reacts to the care a plan gave it.

The months of a synthetic operator are drawn in advance, so without this step
a campaign changes nothing in the data. After ``tenure plan-month M``,
``respond`` takes the plan's arms (treated = ``selected`` and
``over_capacity``, intention to treat; control = ``control``) and applies each
treated subscription's hidden response to care of the campaign's family
(``effect_marketing_care`` or ``effect_service_care`` of the ground truth):

* **kept** — a subscription with a negative effect *e* that was going to
  leave in months M+1..M+3 (voluntarily or by porting out; non-payment is not
  cured by care) stays with probability ``min(1, |e| / r)``, where *r* is the
  chance that its cause of leaving ends in churn (``BASE_RISK``). So *e* is
  the drop in the probability of leaving that care buys.
* **woken** — a subscription with a positive effect *e* (a sleeping dog) that
  was staying through M+3 leaves with probability ``min(1, e)``, in a month
  drawn uniformly from M+1..M+3 (port-out 60 %, else a cancellation).

Draws are deterministic: one BLAKE2b hash of (seed, subscriber, campaign,
month). Control subscriptions are never touched. The operator is then
regenerated with the rewrites in force from M+1 on (months up to M come out
byte for byte as before) and the truth is written to ``ground_truth/``:

* ``responses.parquet`` — one row per (plan month, campaign, subscriber) of
  both arms: the effect, which response it could have (``keep`` / ``wake`` /
  none), its probability, whether it happened (treated only) and the expected
  individual effect on "churned by M+h" for h = 1, 2, 3;
* ``treatment_effects.parquet`` — per (plan month, campaign, segment, arm
  ``treated``): the true average treatment effect on the churn rate at each
  horizon (the mean expected individual effect over the treated arm), and the
  realised one; segment ``*`` is the whole campaign.

A rerun for the same month replaces that month's responses and gives the same
bytes; responses of earlier plan months stay in force and the new month's
outcome is drawn on top of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tenure.domain.errors import InputError, NotFound
from tenure.synthetic.calendar import Window
from tenure.synthetic.population import (
    CHUNK_ID_STRIDE,
    CHURN_PROB,
    NEVER,
    Response,
    build_chunk,
)

RESPONSES_FILE = "responses.parquet"
EFFECTS_FILE = "treatment_effects.parquet"
FAMILIES = ("marketing", "service")
HORIZONS = (1, 2, 3)
FOLLOW_MONTHS = 3
# Chance that a cause of leaving ends in churn, by cause index; background leavers (no cause) count 0.5.
BASE_RISK = np.where(CHURN_PROB > 0, CHURN_PROB, 0.5)
PORT_OUT_SHARE = 0.6
VOLUNTARY, PORT_OUT, NON_PAYMENT_TYPE = 0, 1, 2
TREATED_DECISIONS = ("selected", "over_capacity")
ALL_SEGMENTS = "*"

RESPONSE_SCHEMA = pa.schema([
    ("plan_month", pa.string()), ("campaign_id", pa.string()), ("family", pa.string()),
    ("subscriber_id", pa.string()), ("arm", pa.string()), ("segment_id", pa.string()),
    ("effect", pa.float64()), ("response", pa.string()), ("probability", pa.float64()),
    ("responded", pa.bool_()), ("churn_month_before", pa.string()), ("churn_month_after", pa.string()),
    *[(f"expected_effect_{h}", pa.float64()) for h in HORIZONS],
    ("churn_day", pa.int64()), ("churn_type", pa.int64()),  # day number and type index of a woken leaver
])


@dataclass
class ResponseReport:
    """What ``respond`` did for one plan month."""

    plan_month: str
    treated: int = 0
    control: int = 0
    kept: int = 0
    woken: int = 0
    campaigns: dict[str, dict[str, object]] = field(default_factory=dict)
    regenerated: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"plan_month": self.plan_month, "treated": self.treated, "control": self.control,
                "kept": self.kept, "woken": self.woken, "campaigns": self.campaigns,
                "regenerated": self.regenerated}


def read_manifest(out: Path) -> dict:
    path = Path(out) / "ground_truth" / "manifest.json"
    if not path.exists():
        raise NotFound(f"{path} not found: respond works on a folder written by `tenure synth`")
    return json.loads(path.read_text(encoding="utf-8"))


def chunk_sizes(subscribers: int, chunk_size: int) -> list[int]:
    """The chunk sizes ``generate`` uses (the same arithmetic)."""
    return [chunk_size] * (subscribers // chunk_size) + ([subscribers % chunk_size] if subscribers % chunk_size else [])


def uniforms(seed: int, subscriber_ids: list[str], campaign_ids: list[str], month: str) -> np.ndarray:
    """Three independent uniforms in [0, 1) per row, from BLAKE2b(seed|subscriber|campaign|month)."""
    out = np.empty((len(subscriber_ids), 3))
    for i, (s, c) in enumerate(zip(subscriber_ids, campaign_ids, strict=True)):
        d = hashlib.blake2b(f"{seed}|{s}|{c}|{month}".encode(), digest_size=24).digest()
        out[i] = [int.from_bytes(d[k:k + 7], "big") / 2.0**56 for k in (0, 8, 16)]
    return out


def _position(subscriber_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(chunk, position in chunk) of synthetic subscriber ids ``S<chunk * stride + local>``."""
    num = np.array([int(s[1:]) for s in subscriber_ids], dtype="int64")
    return num // CHUNK_ID_STRIDE, num % CHUNK_ID_STRIDE


def _read(path: Path, schema: pa.Schema | None = None) -> pa.Table | None:
    if not path.exists():
        return None
    t = pq.read_table(path)
    return t.cast(schema) if schema is not None else t


def stored_responses(truth_dir: Path, window: Window) -> dict[int, list[Response]]:
    """The churn rewrites of every responded treated subscription in ``responses.parquet``, by chunk."""
    t = _read(truth_dir / RESPONSES_FILE, RESPONSE_SCHEMA)
    return {} if t is None else _rewrites(t, window)


def _rewrites(t: pa.Table, window: Window) -> dict[int, list[Response]]:
    t = t.filter(pc.equal(t["responded"], True))
    out: dict[int, list[Response]] = {}
    months = list(window.months)
    # Plan months in order: a later plan acts on the outcome left by an earlier one.
    for plan_month in sorted(set(t["plan_month"].to_pylist())):
        part = t.filter(pc.equal(t["plan_month"], plan_month))
        ids = np.array(part["subscriber_id"].to_pylist(), dtype=object)
        chunk, pos = _position(ids)
        kind = np.array(part["response"].to_pylist(), dtype=object)
        after = part["churn_month_after"].to_pylist()
        apply_t = months.index(plan_month) + 1
        day = np.array(part["churn_day"].to_pylist(), dtype="int64")
        ctype = np.array(part["churn_type"].to_pylist(), dtype="int64")
        for ci in sorted(set(chunk.tolist())):
            m = chunk == ci
            woke = kind[m] == "wake"
            new_t = np.array([months.index(a) if a is not None and a in months else NEVER
                              for a in np.array(after, dtype=object)[m]], dtype="int64")
            churns = woke & (new_t != NEVER)
            out.setdefault(int(ci), []).append(Response(
                apply_t=apply_t, pos=pos[m].astype("int64"), churns=churns,
                churn_t=np.where(churns, new_t, NEVER),
                churn_day=np.where(churns, day[m], 0).astype("int64"),
                churn_type=np.where(churns, ctype[m], -1).astype("int64"),
                churn_cause=np.where(churns, 0, -1).astype("int64"),
            ))
    return out


def respond(out: Path, plan_month: str, arms: pa.Table, families: dict[str, str]) -> ResponseReport:
    """Apply the treated arm's responses of ``plan_month`` and regenerate the operator in ``out``.

    ``arms``: subscriber_id, campaign_id, decision (``selected``,
    ``over_capacity`` or ``control``; other rows are ignored) and optionally
    segment_id. ``families``: campaign id -> ``marketing`` or ``service``.
    """
    from tenure.synthetic import generate

    out = Path(out)
    man = read_manifest(out)
    window = Window.ending(man["end"], man["months"])
    months = list(window.months)
    if plan_month not in months:
        raise InputError(f"{plan_month} is not a month of the synthetic operator ({months[0]} .. {months[-1]})")
    tm = months.index(plan_month)
    if tm == len(months) - 1:
        raise InputError(f"{plan_month} is the last synthetic month: no later month to respond in")
    arms = _arms(arms, families)
    truth_dir = out / "ground_truth"
    previous = _read(truth_dir / RESPONSES_FILE, RESPONSE_SCHEMA)
    if previous is not None:
        previous = previous.filter(pc.not_equal(previous["plan_month"], plan_month))
        later = sorted({m for m in previous["plan_month"].to_pylist() if m > plan_month})
        if later:
            raise InputError(f"responses of later plan months exist ({', '.join(later)}): respond in month order")
    before = _rewrites(previous, window) if previous is not None and previous.num_rows else {}

    ids = np.array(arms["subscriber_id"].to_pylist(), dtype=object)
    fam = np.array(arms["family"].to_pylist(), dtype=object)
    n = len(ids)
    eff, churn_before, can_keep, can_wake, prob = _potential(man, window, tm, ids, fam, before)
    u = uniforms(man["seed"], ids.tolist(), arms["campaign_id"].to_pylist(), plan_month)
    treated = np.array(arms["arm"].to_pylist(), dtype=object) == "treated"
    responded = treated & (can_keep | can_wake) & (u[:, 0] < prob)
    wake_t = tm + 1 + np.minimum((u[:, 1] * FOLLOW_MONTHS).astype("int64"), FOLLOW_MONTHS - 1)
    woken = responded & can_wake
    kept = responded & can_keep
    churn_after = np.where(kept, NEVER, np.where(woken, wake_t, churn_before))
    # The day: uniform in the month; the kind: port-out or a cancellation.
    start = window.start(np.minimum(wake_t, window.n + 5))
    day = start + (u[:, 2] * window.days(np.minimum(wake_t, window.n + 5))).astype("int64")
    ctype = np.where(u[:, 2] * 7 % 1 < PORT_OUT_SHARE, PORT_OUT, VOLUNTARY)
    in_window = churn_after <= window.n - 1

    def month_of(t: np.ndarray) -> list[str | None]:
        return [months[int(x)] if x != NEVER and 0 <= x < len(months) else None for x in t]

    expected = {h: _expected(tm, h, churn_before, can_keep, can_wake, prob) for h in HORIZONS}
    kind = np.where(can_keep, "keep", np.where(can_wake, "wake", None))
    table = pa.table({
        "plan_month": pa.array([plan_month] * n, pa.string()),
        "campaign_id": arms["campaign_id"], "family": arms["family"], "subscriber_id": arms["subscriber_id"],
        "arm": arms["arm"], "segment_id": arms["segment_id"],
        "effect": pa.array(np.round(eff, 4)), "response": pa.array(kind, pa.string()),
        "probability": pa.array(np.round(prob, 6)), "responded": pa.array(responded),
        "churn_month_before": pa.array(month_of(churn_before), pa.string()),
        "churn_month_after": pa.array(month_of(np.where(in_window, churn_after, NEVER)), pa.string()),
        **{f"expected_effect_{h}": pa.array(expected[h]) for h in HORIZONS},
        "churn_day": pa.array(np.where(woken & in_window, day, 0).astype("int64")),
        "churn_type": pa.array(np.where(woken & in_window, ctype, -1).astype("int64")),
    })
    table = table.sort_by([("campaign_id", "ascending"), ("subscriber_id", "ascending")])
    table = table.select(RESPONSE_SCHEMA.names).cast(RESPONSE_SCHEMA)
    allr = table if previous is None else pa.concat_tables([previous.cast(RESPONSE_SCHEMA), table])
    allr = allr.sort_by([("plan_month", "ascending"), ("campaign_id", "ascending"), ("subscriber_id", "ascending")])
    effects = _effects(table, tm, months)
    old_eff = _read(truth_dir / EFFECTS_FILE)
    if old_eff is not None:
        old_eff = old_eff.filter(pc.not_equal(old_eff["plan_month"], plan_month))
        effects = pa.concat_tables([old_eff.cast(effects.schema), effects])
    effects = effects.sort_by([("plan_month", "ascending"), ("campaign_id", "ascending"), ("segment_id", "ascending")])

    rewrites = _rewrites(allr, window)
    generate(out, man["subscribers"], man["months"], man["seed"], end=man["end"], dirty=man["dirty"],
             fmt=man["format"], encoding=man["encoding"], chunk_size=man["chunk_size"], responses=rewrites)
    pq.write_table(allr, truth_dir / RESPONSES_FILE)
    pq.write_table(effects, truth_dir / EFFECTS_FILE)

    report = ResponseReport(plan_month=plan_month, treated=int(treated.sum()), control=int((~treated).sum()),
                            kept=int(kept.sum()), woken=int(woken.sum()), regenerated=months[tm + 1:])
    for r in effects.filter(pc.and_(pc.equal(effects["plan_month"], plan_month),
                                    pc.equal(effects["segment_id"], ALL_SEGMENTS))).to_pylist():
        report.campaigns[r["campaign_id"]] = {k: r[k] for k in ("family", "treated_n", "kept", "woken",
                                                                *[f"true_effect_{h}" for h in HORIZONS])}
    return report


def _potential(man: dict, window: Window, tm: int, ids: np.ndarray, fam: np.ndarray,
               before: dict[int, list[Response]]) -> tuple[np.ndarray, ...]:
    """Per subscription: effect, churn month without treatment, whether it can be kept / woken, and how likely."""
    chunk, pos = _position(ids)
    n = len(ids)
    sizes = chunk_sizes(man["subscribers"], man["chunk_size"])
    if n and (chunk.max() >= len(sizes) or chunk.min() < 0):
        raise InputError("the plan names subscribers that are not in this synthetic operator")
    eff = np.zeros(n)
    churn_before = np.full(n, NEVER, dtype="int64")
    churn_ok = np.zeros(n, dtype=bool)  # leaving by choice (curable by care)
    cause = np.zeros(n, dtype="int64")
    for ci in sorted(set(chunk.tolist())):
        c = build_chunk(man["seed"], ci, sizes[ci], window)
        c.responses = before.get(ci, [])
        s = c.subs_at(tm + 1)
        m = chunk == ci
        p = pos[m]
        if p.max() >= len(s):
            raise InputError("the plan names subscribers that are not in this synthetic operator")
        eff[m] = np.where(fam[m] == "marketing", s.effect_marketing[p], s.effect_service[p])
        churn_before[m] = np.where(s.churns[p], s.churn_t[p], NEVER)
        churn_ok[m] = s.churns[p] & (s.churn_type[p] != NON_PAYMENT_TYPE)
        cause[m] = np.maximum(s.churn_cause[p], 0)
        del c
    soon = (churn_before > tm) & (churn_before <= tm + FOLLOW_MONTHS)
    can_keep = (eff < 0) & soon & churn_ok
    can_wake = (eff > 0) & (churn_before > tm + FOLLOW_MONTHS)
    prob = np.where(can_keep, np.minimum(1.0, -eff / BASE_RISK[cause]),
                    np.where(can_wake, np.minimum(1.0, np.maximum(eff, 0)), 0.0))
    return eff, churn_before, can_keep, can_wake, prob


def _expected(tm: int, h: int, churn_before: np.ndarray, can_keep: np.ndarray, can_wake: np.ndarray,
              prob: np.ndarray) -> np.ndarray:
    """Expected change of "churned by month M+h" if treated (negative = kept)."""
    keep_e = np.where(can_keep & (churn_before <= tm + h), -prob, 0.0)
    wake_e = np.where(can_wake, prob * min(h, FOLLOW_MONTHS) / FOLLOW_MONTHS, 0.0)
    return keep_e + wake_e


def true_effects(out: Path, plan_month: str, subscriber_ids: list[str], family: str,
                 horizon: int = FOLLOW_MONTHS) -> np.ndarray:
    """The true expected effect on "churned by M+horizon" of treating each subscription in ``plan_month``.

    Responses already applied for earlier plan months are in force; those of
    ``plan_month`` and later are not (the effect of treating from scratch).
    Cheap: nothing is regenerated. Negative = kept customers.
    """
    if family not in FAMILIES:
        raise InputError(f"family must be one of {', '.join(FAMILIES)}")
    out = Path(out)
    man = read_manifest(out)
    window = Window.ending(man["end"], man["months"])
    months = list(window.months)
    if plan_month not in months:
        raise InputError(f"{plan_month} is not a month of the synthetic operator")
    tm = months.index(plan_month)
    prev = _read(out / "ground_truth" / RESPONSES_FILE, RESPONSE_SCHEMA)
    before = {}
    if prev is not None:
        prev = prev.filter(pc.less(prev["plan_month"], plan_month))
        before = _rewrites(prev, window) if prev.num_rows else {}
    ids = np.array(subscriber_ids, dtype=object)
    _, churn_before, can_keep, can_wake, prob = _potential(man, window, tm, ids,
                                                           np.full(len(ids), family, dtype=object), before)
    return _expected(tm, horizon, churn_before, can_keep, can_wake, prob)


def _arms(arms: pa.Table, families: dict[str, str]) -> pa.Table:
    for col in ("subscriber_id", "campaign_id", "decision"):
        if col not in arms.column_names:
            raise InputError(f"the plan lacks column {col}")
    rows = arms.filter(pc.is_in(arms["decision"], pa.array([*TREATED_DECISIONS, "control"])))
    rows = rows.filter(pc.is_valid(rows["campaign_id"]))
    cids = sorted(set(rows["campaign_id"].to_pylist()))
    unknown = [c for c in cids if families.get(c) not in FAMILIES]
    if unknown:
        raise InputError(f"no care family (marketing or service) for campaign(s) {', '.join(unknown)}")
    seg = (rows["segment_id"].cast(pa.string()) if "segment_id" in rows.column_names
           else pa.nulls(rows.num_rows, pa.string()))
    return pa.table({
        "subscriber_id": rows["subscriber_id"].cast(pa.string()),
        "campaign_id": rows["campaign_id"].cast(pa.string()),
        "family": pa.array([families[c] for c in rows["campaign_id"].to_pylist()], pa.string()),
        "arm": pc.if_else(pc.equal(rows["decision"], "control"), "control", "treated"),
        "segment_id": pc.fill_null(seg, "-"),
    })


def _effects(t: pa.Table, tm: int, months: list[str]) -> pa.Table:
    """True and realised average treatment effect on the churn rate of the treated arm, per segment."""
    treated = t.filter(pc.equal(t["arm"], "treated"))
    d = treated.to_pydict()
    n = treated.num_rows
    resp = np.array(d["responded"], dtype=bool)
    kind = np.array(d["response"], dtype=object)
    before = np.array([months.index(m) if m is not None else 10**6 for m in d["churn_month_before"]])
    after = np.array([months.index(m) if m is not None else 10**6 for m in d["churn_month_after"]])
    rows: list[dict] = []
    keys = [(c, s) for c, s in zip(d["campaign_id"], d["segment_id"], strict=True)]
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (c, s) in enumerate(keys):
        groups.setdefault((c, ALL_SEGMENTS), []).append(i)
        groups.setdefault((c, s), []).append(i)
    del n
    for (c, s), idx_list in sorted(groups.items()):
        idx = np.array(idx_list)
        row: dict[str, object] = {
            "plan_month": months[tm], "campaign_id": c, "family": d["family"][idx[0]], "segment_id": s,
            "treated_n": len(idx), "kept": int((resp[idx] & (kind[idx] == "keep")).sum()),
            "woken": int((resp[idx] & (kind[idx] == "wake")).sum()),
        }
        for h in HORIZONS:
            row[f"true_effect_{h}"] = float(np.mean(np.array(d[f"expected_effect_{h}"])[idx]))
            by_h = tm + h
            real = (after[idx] <= by_h).astype(int) - (before[idx] <= by_h).astype(int)
            row[f"realised_effect_{h}"] = float(real.mean())
        rows.append(row)
    schema = pa.schema([("plan_month", pa.string()), ("campaign_id", pa.string()), ("family", pa.string()),
                        ("segment_id", pa.string()), ("treated_n", pa.int64()), ("kept", pa.int64()),
                        ("woken", pa.int64()),
                        *[(f"true_effect_{h}", pa.float64()) for h in HORIZONS],
                        *[(f"realised_effect_{h}", pa.float64()) for h in HORIZONS]])
    return pa.Table.from_pylist(rows, schema=schema)


__all__ = ["EFFECTS_FILE", "RESPONSES_FILE", "ResponseReport", "read_manifest", "respond", "stored_responses",
           "true_effects"]
