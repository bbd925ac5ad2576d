"""Run a month: features, warnings, core customers, grades, stages, value,
credit, segments, tags and channel preference for every subscriber and group.

This is the only place of the monthly cycle that executes expressions and
writes: the analytics modules build Ibis expressions, the engine adapter runs
them, and the warehouse publishes the month's outputs atomically (a failed
run leaves the previous outputs untouched).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import ValidationError

import tenure
from tenure.analytics.channels import (
    activity_from_columns,
    channel_preferences,
    channel_scores,
    count_columns,
)
from tenure.analytics.core import core_customers, core_labels
from tenure.analytics.credit import credit_rating
from tenure.analytics.features import FeatureParams, still_on_the_network, subscriber_features
from tenure.analytics.grades import card_rank, card_review, subscriber_grades
from tenure.analytics.groups import group_features, group_history, group_month_measures
from tenure.analytics.history import (
    active_subscribers,
    history_from_columns,
    measure_columns,
    month_bounds,
    subscriber_attributes,
)
from tenure.analytics.lifecycle import lifecycle_stages
from tenure.analytics.segments import segment_membership
from tenure.analytics.value import subscriber_value
from tenure.config import Settings
from tenure.domain.core_customers import CoreDefinition
from tenure.domain.errors import ConfigurationError, InputError, NotFound
from tenure.domain.grades import CARD_REVIEWS, GradeConfig
from tenure.domain.lifecycle import LifecycleConfig
from tenure.domain.measures import HISTORY_MONTHS
from tenure.domain.model import CHANNELS, month_add, parse_month
from tenure.domain.rules.catalogue import FAMILY_PRIORITY, Rule
from tenure.domain.rules.template import Labels
from tenure.domain.segments import SegmentConfig
from tenure.engines.compute import Engine, connect
from tenure.engines.memory import release_unused
from tenure.engines.warehouse import Warehouse
from tenure.services.month_history import (
    MonthParts,
    lay_out,
    month_parts,
    present_rows,
    refuse_extra_rows,
)
from tenure.services.subscriber_index import IndexState, SubscriberIndex

SHIPPED_CONFIG = Path(tenure.__file__).parent / "config"
BYTES_PER_BUCKET_SUBSCRIBER = 4_096
"""Engine memory one subscriber of a bucket needs when the features step joins
the months (Spark: the six month parts' join tables and the ~200-column output
batch, with headroom); measured at 1M subscribers. DuckDB lines the months up
by position in one pass and needs no buckets."""
BUCKET_SUBSCRIBERS = (100_000, 1_000_000)
"""Smallest and largest subscriber bucket: below, per-bucket overheads dominate;
above, output batches and join tables grow with no gain in speed."""
ACTIVITY_COLUMNS = [f"contacts_{ch}_6m" for ch in CHANNELS] + [f"inbound_share_{ch}" for ch in CHANNELS]
"""The channel activity columns of the features, after the history's."""
KEY_ACCOUNT_EQUIVALENTS = {"business": 79, "consumer": 338}
"""Losing one key account costs as much revenue as 79 business or 338 consumer customers."""

WARNING_SCHEMA = pa.schema(
    [
        ("subscriber_id", pa.string()),
        ("rule_id", pa.string()),
        ("family", pa.string()),
        ("severity", pa.string()),
        ("reason_en", pa.string()),
        ("reason_zh", pa.string()),
    ]
)
GROUP_WARNING_SCHEMA = pa.schema([("group_id", pa.string()), *list(WARNING_SCHEMA)[1:]])

PROFILE_COLUMNS = (
    "subscriber_id", "customer_id", "customer_type", "region", "payment_type", "group_id",
    "status", "stage", "stage_rule", "previous_stage", "is_core", "core_reason", "vip_card", "card_grade",
    "value_level", "current_value", "potential_value", "churn_probability", "credit_rating",
    "segment_id", "tags", *[f"pref_{ch}" for ch in CHANNELS], "warning_count", "top_warning_family",
)

ProgressFn = Callable[[str, int, int], None]
"""on_progress(step, done, total)."""


# -- configuration ------------------------------------------------------------
def merge_config(base: Any, override: Any) -> Any:
    """Overlay ``override`` on ``base``: mappings merge key by key, lists of
    mappings with ``id`` merge item by item (new ids appended), anything else
    is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge_config(base[k], v) if k in base else v
        return out
    if (
        isinstance(base, list)
        and isinstance(override, list)
        and all(isinstance(x, dict) and "id" in x for x in base + override)
    ):
        merged = {x["id"]: x for x in base}
        for x in override:
            merged[x["id"]] = merge_config(merged[x["id"]], x) if x["id"] in merged else x
        return list(merged.values())
    return override


def _read_yaml(name: str, home: Path) -> dict:
    try:
        data = yaml.safe_load((SHIPPED_CONFIG / name).read_text(encoding="utf-8")) or {}
        user = home / "config" / name
        if user.exists():
            data = merge_config(data, yaml.safe_load(user.read_text(encoding="utf-8")) or {})
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{name}: {exc}") from exc
    return data


@dataclass(frozen=True)
class CycleConfig:
    core: CoreDefinition
    grades: GradeConfig
    lifecycle: LifecycleConfig
    segments: SegmentConfig
    features: FeatureParams = field(default_factory=FeatureParams)


def load_cycle_config(home: Path) -> CycleConfig:
    """Shipped definitions overlaid with ``<home>/config/*.yaml``."""
    try:
        return CycleConfig(
            core=CoreDefinition.model_validate(_read_yaml("core_customers.yaml", home)),
            grades=GradeConfig.model_validate(_read_yaml("grades.yaml", home)),
            lifecycle=LifecycleConfig.model_validate(_read_yaml("lifecycle.yaml", home)),
            segments=SegmentConfig.model_validate(_read_yaml("segments.yaml", home)),
        )
    except ValidationError as exc:
        raise ConfigurationError(f"invalid cycle configuration: {exc}") from exc


# -- summary ---------------------------------------------------------------------
@dataclass
class RunSummary:
    """What a run produced; stored as the output month's metadata."""

    month: str
    engine: str
    subscribers: int = 0
    groups: int = 0
    buckets: int = 1
    warnings: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    stage_transitions: dict[str, dict[str, int]] = field(default_factory=dict)
    core: dict[str, int] = field(default_factory=dict)
    card_grades: dict[str, int] = field(default_factory=dict)
    card_reviews: dict[str, int] = field(default_factory=dict)
    """Customers whose best card by value (``card_grade`` of their subscriptions still on the network)
    is above or below the VIP card they hold: the customer 360 page's card review, counted."""
    value_levels: dict[str, int] = field(default_factory=dict)
    credit_ratings: dict[str, int] = field(default_factory=dict)
    segments: dict[str, int] = field(default_factory=dict)
    warning_families: dict[str, int] = field(default_factory=dict)
    """Warnings per rule family (a subscriber may have several of one family)."""
    warned_subscribers: dict[str, int] = field(default_factory=dict)
    """Subscribers with at least one warning of each rule family."""
    history_months: int = 0
    """Months of the six-month window with data loaded (fewer: early months' features are partial)."""
    previous_month_run: bool = False
    """Whether last month was run: without it every previous stage is unknown, not new."""
    group_grades: dict[str, int] = field(default_factory=dict)
    loss_equivalence: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    scoring: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CYCLE_STEPS = ("features", "groups", "warnings", "scoring", "profiles", "group_profiles", "summary")
"""The steps of :func:`run_month`, in order, as its progress reports them."""

NOT_RUN = "not run"
"""The previous stage of every subscriber in the transitions when last month was not run."""


# -- inputs -----------------------------------------------------------------------
class MonthInputs:
    """Reads the warehouse tables of one month through the engine (None if absent)."""

    def __init__(self, wh: Warehouse, eng: Engine) -> None:
        self.wh, self.eng = wh, eng
        self._cache: dict[tuple[str, str], ir.Table | None] = {}
        self._history: dict[str, MonthParts | None] = {}

    def get(self, table: str, month: str) -> ir.Table | None:
        key = (table, month)
        if key not in self._cache:
            self._cache[key] = (
                self.eng.read_parquet([self.wh.path(table, month)], table)
                if self.wh.has(table, month)
                else None
            )
        return self._cache[key]

    def history(self, month: str) -> MonthParts | None:
        """The month's stored, reduced history (:func:`month_parts`), looked up once per run."""
        if month not in self._history:
            self._history[month] = month_parts(self.wh, self.eng, month, self.get)
        return self._history[month]


def month_attributes(inp: MonthInputs, month: str) -> ir.Table:
    """The month-M attributes of every active subscriber (:func:`subscriber_attributes` of the month's snapshots)."""
    subs = inp.get("subscribers", month)
    assert subs is not None
    return subscriber_attributes(
        month, subs, customers=inp.get("customers", month), plans=inp.get("plans", month),
        group_members=inp.get("group_members", month), enterprise_groups=inp.get("enterprise_groups", month),
        agreements=inp.get("agreements", month), usage_m0=inp.get("monthly_usage", month),
    )


def staged_features(
    inp: MonthInputs, month: str, config: CycleConfig, eng: Engine, buckets: int
) -> Iterator[ir.Table]:
    """The features of ``month``, one expression per range of subscriber numbers.

    Each of the six months is read as its reduced, stored history
    (:mod:`tenure.services.month_history`), laid out by subscriber number;
    the month-M attributes are laid out the same way once per run. DuckDB
    then lines the months up by position (:meth:`Engine.line_up`) in one
    streaming pass over every number, with no join and memory that does not
    grow with the month; other engines join the months on the number, in
    ``buckets`` ranges. Either way every feature is computed along the row
    (:func:`lined_up_features`). The staged attributes are freed when the
    generator finishes.
    """
    months = [month_add(month, -k) for k in range(HISTORY_MONTHS)]
    _, last = month_bounds(month)
    parts = [inp.history(m) for m in months]
    state, active_now = number_subscribers(inp, month, eng, parts)
    staged, attributes = stage_attributes(inp, month, eng, state, active_now)
    try:
        if eng.name == "duckdb":
            yield lined_up_features(line_up_months(eng, staged, parts), attributes, parts, last, config)
            return
        active = staged.filter(staged._active)
        size = state.size
        for b in range(buckets):
            lo, hi = b * size // buckets, (b + 1) * size // buckets
            joined = active.filter((active.idx >= lo) & (active.idx < hi))
            for k, p in enumerate(parts):
                if p is None:
                    continue
                for stored, columns in ((p.measures, measure_columns), (p.channels, count_columns)):
                    if stored is None:
                        continue
                    side = stored.filter((stored.idx >= lo) & (stored.idx < hi))
                    side = side.select(_ik=side.idx, **columns(side, k))
                    joined = joined.left_join(side, joined.idx == side._ik).drop("_ik")
            joined = eng.checkpoint(joined, "history")
            yield lined_up_features(joined, attributes, parts, last, config)
    finally:
        eng.drop_staged([staged])


def number_subscribers(
    inp: MonthInputs, month: str, eng: Engine, parts: list[MonthParts | None]
) -> tuple[IndexState, ir.Table]:
    """The index state every active subscriber of ``month`` is numbered in, and those subscribers.

    Laying out month M's history (``parts[0]``) numbered its whole snapshot;
    otherwise they are numbered here.
    """
    subscribers = inp.get("subscribers", month)
    assert subscribers is not None
    active_now = active_subscribers(subscribers, month)
    index = SubscriberIndex(inp.wh)
    state = index.extend(eng, active_now.select("subscriber_id")) if parts[0] is None else index.state()
    return state, active_now


def stage_attributes(
    inp: MonthInputs, month: str, eng: Engine, state: IndexState, active_now: ir.Table
) -> tuple[ir.Table, list[str]]:
    """The month-M attributes laid out by subscriber number (``_active`` marks the month's rows), staged.

    Returns the staged table (free it with :meth:`Engine.drop_staged`) and
    the attribute columns. Refuses a layout that would not line up: a row
    too many (a key twice in the input) or an active subscriber without a
    number.
    """
    index = SubscriberIndex(inp.wh)
    numbers = index.table(eng, state)
    assert numbers is not None
    attrs = month_attributes(inp, month)
    staged = eng.stage(lay_out(numbers, attrs).rename(_active="present"), "attributes")
    try:
        counts = eng.to_arrow(staged.aggregate(n=staged.count(), active=staged._active.cast("int64").sum()))
        rows, laid_out = (int(counts.column(c)[0].as_py() or 0) for c in ("n", "active"))
        refuse_extra_rows(month, "the attributes have", rows, state.size, "a subscriber, customer or agreement key")
        expected = int(eng.to_arrow(active_now.aggregate(n=active_now.count())).column("n")[0].as_py())
        if laid_out != expected:
            raise InputError(f"{month}: {expected - laid_out} active subscriber(s) have no number; "
                             f"delete {index.directory} to number every subscriber again")
    except BaseException:
        eng.drop_staged([staged])
        raise
    return staged, attrs.columns


def line_up_months(eng: Engine, staged: ir.Table, parts: list[MonthParts | None]) -> ir.Table:
    """DuckDB: the staged attributes and every stored month's columns side by side, the month's rows only."""
    sides = [staged.drop("idx")]
    sides += [p.measures.select(**measure_columns(p.measures, k)) for k, p in enumerate(parts) if p is not None]
    sides += [p.channels.select(**count_columns(p.channels, k))
              for k, p in enumerate(parts) if p is not None and p.channels is not None]
    lined = eng.line_up(sides, "lined_up")
    return lined.filter(lined._active)


def lined_up_features(
    t: ir.Table, attributes: list[str], parts: list[MonthParts | None], last: dt.date, config: CycleConfig
) -> ir.Table:
    """The features from the month-M attributes and each stored month's columns side by side.

    They end with the configured core-customer criterion (:func:`core_customers`).
    """
    present = [p is not None for p in parts]
    contacts = [k for k, p in enumerate(parts) if p is not None and p.channels is not None]
    t = activity_from_columns(t, contacts)
    history = history_from_columns(t, attributes, present, carry=ACTIVITY_COLUMNS)
    return core_customers(subscriber_features(history, last, config.features), config.core)


def write_features(
    inp: MonthInputs, month: str, config: CycleConfig, eng: Engine, path: Path, buckets: int
) -> int:
    """Compute the features of ``month`` in ``buckets`` subscriber buckets into one Parquet file."""
    return eng.write_parquet(staged_features(inp, month, config, eng, buckets), path)


def build_groups(inp: MonthInputs, month: str, config: CycleConfig, eng: Engine) -> ir.Table | None:
    """Group history and features, or None when the month has no groups."""
    groups = inp.get("enterprise_groups", month)
    if groups is None or inp.get("group_members", month) is None:
        return None
    months = [month_add(month, -k) for k in range(HISTORY_MONTHS)]
    per_month: list[ir.Table | None] = []
    for m in months:
        g, gm, s, u = (inp.get(t, m) for t in ("enterprise_groups", "group_members", "subscribers", "monthly_usage"))
        if g is None or gm is None or s is None:
            per_month.append(None)
            continue
        stored = None if u is None else inp.history(m)
        meas = None if stored is None else present_rows(stored.measures)
        per_month.append(eng.checkpoint(
            group_month_measures(m, g, gm, s, meas, inp.get("group_members", month_add(m, -1))), "group_measures"
        ))
    hist = group_history(month, groups, per_month, inp.get("agreements", month))
    return group_features(hist, month_bounds(month)[1], config.grades)


# -- warnings -------------------------------------------------------------------
def compute_warnings(
    eng: Engine, settings: Settings, features: ir.Table, groups: ir.Table | None, month_end: dt.date,
    labels: Labels | None = None, catalogue: list[Rule] | None = None,
) -> tuple[pa.Table | ir.Table, pa.Table | ir.Table]:
    """Subscriber and group warnings from the rule catalogue (shipped + ``<home>/rules``).

    Each is an expression with the warning schema, streamed to the month's
    file by the runner (millions of rows at 10M subscribers), or an empty
    table when no rule applies. Subscriber rules run on the subscribers still
    on the network at the month's end (:func:`tenure.analytics.features.still_on_the_network`).
    ``labels`` gives the words of configured codes in the reason texts
    (:func:`tenure.analytics.core.core_labels`); ``catalogue`` is the rule
    catalogue when already read (read from ``settings`` otherwise).
    """
    from tenure.analytics.rules import warnings_table
    from tenure.services.rules import catalogue_for

    catalogue = [r for r in (catalogue_for(settings) if catalogue is None else catalogue) if r.enabled]
    sub = _run_rules(eng, warnings_table, features, [r for r in catalogue if r.scope != "group"],
                     month_end, "subscriber_id", WARNING_SCHEMA, only=still_on_the_network(features), labels=labels)
    grp = GROUP_WARNING_SCHEMA.empty_table()
    if groups is not None:
        grp = _run_rules(eng, warnings_table, groups, [r for r in catalogue if r.scope == "group"],
                         month_end, "group_id", GROUP_WARNING_SCHEMA)
    return sub, grp


def _run_rules(eng: Engine, fn: Any, table: ir.Table, rules: list[Any], month_end: dt.date, key: str,
               schema: pa.Schema, only: ir.BooleanValue | None = None,
               labels: Labels | None = None) -> pa.Table | ir.Table:
    if not rules:
        return schema.empty_table()
    out = fn(table, rules, month_end, key=key, only=only, labels=labels)
    types = ibis.schema(schema)
    # Not sorted: at 10M subscribers sorting millions of matches was the step's memory peak;
    # readers filter by subscriber (the warehouse index sorts its own copy by customer).
    return out.select(*[out[f.name].cast(types[f.name]) for f in schema])


def _write_table(eng: Engine, out: Any, name: str, data: pa.Table | ir.Table) -> None:
    """Write a month's output table, streaming it when it is an expression."""
    if isinstance(data, pa.Table):
        out.write(name, data)
    else:
        out.written[name] = eng.write_parquet([data], out.directory / f"{name}.parquet")


def _warning_summary(eng: Engine, warnings: ir.Table, key: str) -> ir.Table:
    """Per key: warning_count, retention_warnings and the most frequent family (ties: the most urgent).

    Ties go to the first family of ``FAMILY_PRIORITY`` (retention,
    prevention, value uplift, maintenance), so a customer with one
    retention warning and one good-customer flag is routed as at risk.

    One aggregation with a count per rule family (the catalogue allows only
    ``FAMILIES``, each of which is in ``FAMILY_PRIORITY``): at 10M subscribers and millions of warnings, counting by
    key and family, ranking the families in a window and joining the winners
    back cost the profiles step about 8 CPU-s.
    """
    w = warnings
    families = list(FAMILY_PRIORITY)
    counts = w.group_by(_wk=w[key]).aggregate(
        warning_count=w.count(),
        **{f"_n{i}": (w.family == f).cast("int64").sum() for i, f in enumerate(families)},
    )
    top: ir.Value = ibis.ifelse(counts._n0 > 0, ibis.literal(families[0]), ibis.null("string"))
    best = counts._n0
    for i, f in enumerate(families[1:], start=1):
        n = counts[f"_n{i}"]
        top = ibis.ifelse(n > best, ibis.literal(f), top)
        best = ibis.greatest(best, n)
    return counts.select(
        "_wk", "warning_count",
        retention_warnings=counts[f"_n{families.index('retention')}"],
        top_warning_family=top,
    )


# -- profiles ------------------------------------------------------------------------
def build_profiles(
    features: ir.Table,
    config: CycleConfig,
    warning_summary: ir.Table,
    groups: ir.Table | None,
    previous: ir.Table | None,
    scores: ir.Table | None = None,
) -> ir.Table:
    """Wire the analytics steps into one profile expression (order matters:
    value before grades, grades and warnings before stages, stages before segments).
    ``scores`` (services/scoring.py) adds the model's churn probability, risk decile,
    model id and downgrade probability."""
    t = features.left_join(warning_summary, features.subscriber_id == warning_summary._wk).drop("_wk")
    t = t.mutate(
        warning_count=t.warning_count.fill_null(0),
        retention_warnings=t.retention_warnings.fill_null(0),
    )
    scored = ("risk_decile", "model_id", "downgrade_probability") if scores is not None else ()
    if scores is not None:
        # One join brings every score column (a second join of 10M keys cost the
        # profiles step about a fifth of its time and a hash table of its own).
        s = scores.select(_sk=scores.subscriber_id, churn_probability=scores.churn_probability.cast("float64"),
                          **{c: scores[c] for c in scored})
        t = t.left_join(s, t.subscriber_id == s._sk).drop("_sk")
    t = subscriber_value(t, config.grades, groups=groups)
    t = subscriber_grades(t, config.grades)
    t = t.mutate(credit_rating=credit_rating(t, config.grades))
    t = lifecycle_stages(t, config.lifecycle, previous=previous)
    t = segment_membership(t, config.segments)
    t = channel_scores(t, channel_preferences(features))
    return t.select(*PROFILE_COLUMNS, *scored)


def month_profiles(eng: Engine, wh: Warehouse, month: str, config: CycleConfig, features: ir.Table,
                   warnings: ir.Table, groups: ir.Table | None, scores: ir.Table | None) -> ir.Table:
    """The profiles expression of ``month`` from its features, warnings, group features and scores.

    The previous stages come from last month's published profiles, when there are any.
    """
    prev_month = month_add(month, -1)
    previous = (
        eng.read_parquet([wh.path("profiles", prev_month, "output")], "previous_profiles")
        if wh.has("profiles", prev_month, "output")
        else None
    )
    return build_profiles(features, config, _warning_summary(eng, warnings, "subscriber_id"), groups, previous,
                          scores=scores)


GROUP_PROFILE_COLUMNS = (
    "group_id", "customer_id", "name", "group_class", "industry", "region", "account_manager",
    "group_grade", "star_level", "group_revenue_12m", "group_arpu_avg3", "members_m0", "key_persons_m0",
    "members_m1", "members_change_3m", "members_left_3m", "agreement_end_date", "agreement_months_left",
    "warning_count",
)


# -- the run ------------------------------------------------------------------------
def memory_bytes(limit: str) -> int:
    """``"4GB"``, ``"1500MB"``, ``"2GiB"`` ... as bytes."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(i?)B?\s*", limit, flags=re.IGNORECASE)
    if not m:
        raise ConfigurationError(f"unreadable memory limit {limit!r}: use e.g. 4GB or 1500MB")
    base = 1024 if m.group(3) else 1000
    return int(float(m.group(1)) * base ** "_KMGT".index(m.group(2).upper() or "_"))


def bucket_count(subscribers: int, memory_limit: str) -> int:
    """Subscriber buckets of the features step for a month of ``subscribers``.

    Each bucket gets at most what the engine's memory limit can hold
    (``BYTES_PER_BUCKET_SUBSCRIBER`` per subscriber), within ``BUCKET_SUBSCRIBERS``.
    """
    lo, hi = BUCKET_SUBSCRIBERS
    per_bucket = min(hi, max(lo, memory_bytes(memory_limit) // BYTES_PER_BUCKET_SUBSCRIBER))
    return max(1, math.ceil(subscribers / per_bucket))


def _bucket_count(wh: Warehouse, month: str, buckets: int | None, settings: Settings) -> int:
    if buckets is not None:
        return max(1, buckets)
    rows = pq.ParquetFile(wh.path("subscribers", month)).metadata.num_rows
    return bucket_count(rows, settings.duckdb_memory_limit)


def _counts(eng: Engine, t: ir.Table, col: str) -> dict[str, int]:
    a = eng.to_arrow(t.group_by(t[col]).aggregate(n=t.count())).to_pylist()
    return {str(r[col]): int(r["n"]) for r in sorted(a, key=lambda r: str(r[col]))}


def _summarise(eng: Engine, summary: RunSummary, profiles: ir.Table, warnings: ir.Table,
               group_profiles: ir.Table | None, former_members: ir.Table | None = None,
               previous_month_run: bool = True) -> None:
    """The run summary's counts; ``former_members`` is the previous month's ``group_members``.

    ``previous_month_run`` says whether last month's profiles exist: without
    them no previous stage is known, and the transitions say "not run".
    """
    p = profiles
    summary.subscribers = int(eng.to_arrow(p.aggregate(n=p.count()))["n"][0].as_py())
    summary.stages = _counts(eng, p, "stage")
    summary.card_grades = _counts(eng, p, "card_grade")
    summary.card_reviews = _card_reviews(eng, p)
    summary.value_levels = _counts(eng, p, "value_level")
    summary.credit_ratings = _counts(eng, p, "credit_rating")
    summary.segments = _counts(eng, p, "segment_id")
    summary.core = _counts(eng, p.mutate(core=p.core_reason.fill_null("not_core")), "core")
    summary.warning_families = _counts(eng, warnings, "family")
    summary.warned_subscribers = _counts(eng, warnings.select("subscriber_id", "family").distinct(), "family")
    summary.warnings = sum(summary.warning_families.values())
    # Without last month's run no subscriber's previous stage is known: they are not all new.
    summary.previous_month_run = previous_month_run
    q = p.mutate(prev=p.previous_stage.fill_null("new" if previous_month_run else NOT_RUN))
    tr = eng.to_arrow(q.group_by(["prev", "stage"]).aggregate(n=q.count())).to_pylist()
    matrix: dict[str, dict[str, int]] = {}
    for r in sorted(tr, key=lambda r: (r["prev"], r["stage"])):
        matrix.setdefault(r["prev"], {})[r["stage"]] = int(r["n"])
    summary.stage_transitions = matrix
    summary.loss_equivalence = {
        "basis": "1 key account = 79 business = 338 consumer customers",
        "lost_in_month": _loss(eng, p.filter(p.status == "churned"), former_members),
        "at_risk_stage_d": _loss(eng, p.filter(p.stage == "D")),
    }
    if group_profiles is not None:
        g = group_profiles
        summary.groups = int(eng.to_arrow(g.aggregate(n=g.count()))["n"][0].as_py())
        summary.group_grades = _counts(eng, g, "group_grade")
        lost = ((g.members_m0 == 0) & (g.members_m1 > 0)).fill_null(False).cast("int64").sum()
        n_lost = eng.to_arrow(g.aggregate(n=lost))["n"][0].as_py() or 0
        summary.loss_equivalence["groups_lost_in_month"] = int(n_lost)


def _card_reviews(eng: Engine, profiles: ir.Table) -> dict[str, int]:
    """Customers due a card upgrade or downgrade: the best card their staying subscriptions earn against the card held."""
    alive = still_on_the_network(profiles)
    p = profiles if alive is None else profiles.filter(alive)
    per_customer = p.group_by("customer_id").aggregate(
        held=p.vip_card.arbitrary(), earned=p.card_grade.argmax(card_rank(p.card_grade)))
    reviews = _counts(eng, per_customer.mutate(review=card_review(per_customer.held, per_customer.earned)), "review")
    return {r: reviews.get(r, 0) for r in CARD_REVIEWS}


def _loss(eng: Engine, t: ir.Table, former_members: ir.Table | None = None) -> dict[str, Any]:
    """Subscribers split into business (enterprise customers and group members)
    and consumer, with their yearly value and the key-account equivalent.

    A member who leaves is no longer in the month's ``group_members``, so
    the member's profile has no group: ``former_members`` (the previous
    month's members) still counts the member as business.
    """
    if former_members is not None:
        was = former_members.select(_former=former_members.subscriber_id).distinct()
        t = t.left_join(was, t.subscriber_id == was._former)
    business = (t.customer_type == "enterprise").fill_null(False) | t.group_id.notnull()
    if former_members is not None:
        business = business | t._former.notnull()
    a = eng.to_arrow(
        t.aggregate(
            business=business.cast("int64").sum(),
            consumer=(~business).cast("int64").sum(),
            value=t.current_value.sum(),
        )
    ).to_pylist()[0]
    b, c = int(a["business"] or 0), int(a["consumer"] or 0)
    return {
        "business": b,
        "consumer": c,
        "yearly_value": round(float(a["value"] or 0), 2),
        "key_account_equivalent": round(
            b / KEY_ACCOUNT_EQUIVALENTS["business"] + c / KEY_ACCOUNT_EQUIVALENTS["consumer"], 2
        ),
    }


def run_month(
    settings: Settings,
    month: str,
    engine: str | None = None,
    on_progress: ProgressFn | None = None,
    buckets: int | None = None,
) -> RunSummary:
    """Run the monthly cycle for ``month`` and publish its outputs atomically."""
    month = parse_month(month)
    wh = Warehouse(settings.warehouse_dir)
    for required in ("subscribers", "monthly_usage"):
        if not wh.has(required, month):
            raise NotFound(f"no {required} for {month} in the warehouse: load that month first")
    config = load_cycle_config(settings.home)
    from tenure.services.rules import catalogue_for

    catalogue = catalogue_for(settings)  # a rules file with problems stops the run before any work
    eng = connect(settings, engine)
    n_buckets = 1 if eng.name == "duckdb" else _bucket_count(wh, month, buckets, settings)
    summary = RunSummary(month=month, engine=eng.name, buckets=n_buckets)
    # "scoring" runs beside "groups" and "warnings"; its timing is the wait for it
    # after them (its own seconds are in the scoring summary).
    steps = list(CYCLE_STEPS)
    progress = on_progress or (lambda step, done, total: None)
    _, month_end = month_bounds(month)
    meta: dict[str, Any] = {}
    try:
        inp = MonthInputs(wh, eng)
        with wh.write_month(month, "output", meta=meta) as out:
            clock = time.perf_counter()

            def lap(step: str) -> None:
                nonlocal clock
                now = time.perf_counter()
                summary.timings[step] = round(now - clock, 3)
                clock = now
                progress(step, steps.index(step) + 1, len(steps))

            features_path = out.directory / "features.parquet"
            out.written["features"] = write_features(inp, month, config, eng, features_path, n_buckets)
            features = eng.read_parquet([features_path], "features")
            lap("features")

            # Early warning by model: scores and reasons when a churn model is promoted.
            # Scoring reads the features file with Arrow and numpy, never through the
            # engine, so it runs in a thread beside the groups and warnings queries:
            # each leaves a core idle much of the time (the scoring pass's reading and
            # drift bins are single-threaded), and side by side they keep both busy.
            from tenure.services.scoring import score_features

            with ThreadPoolExecutor(1, thread_name_prefix="tenure-scoring") as pool:
                scoring = pool.submit(score_features, settings, features_path)

                groups_expr = build_groups(inp, month, config, eng)
                groups_t = None
                if groups_expr is not None:
                    # Each month joins its group members (a few per cent of the subscribers)
                    # onto the subscribers and their measures as right joins, so DuckDB hashes
                    # the members, not the subscribers (analytics/groups.py): at 10M the query
                    # took 11-12 CPU-s against 18.
                    out.write("group_features", eng.to_arrow(groups_expr.order_by("group_id")))
                    groups_t = eng.read_parquet([out.directory / "group_features.parquet"], "group_features")
                lap("groups")

                sub_w, grp_w = compute_warnings(eng, settings, features, groups_t, month_end,
                                                labels=core_labels(config.core), catalogue=catalogue)
                _write_table(eng, out, "warnings", sub_w)
                _write_table(eng, out, "group_warnings", grp_w)
                warnings_t = eng.read_parquet([out.directory / "warnings.parquet"], "warnings")
                lap("warnings")

                scored = scoring.result()
            scores_t = None
            if scored is not None:
                out.write("model_scores", scored.scores)
                out.write("reasons", scored.reasons)
                scores_t = eng.read_parquet([out.directory / "model_scores.parquet"], "model_scores")
                summary.scoring, summary.drift = scored.summary, scored.drift
                # The scores are on disk now: free them and what Arrow's pool and
                # glibc's heap kept of the scoring pass (record batches, matrices,
                # contribution tables: about a gigabyte at 10M) before the profiles join.
                del scored
                release_unused()
            lap("scoring")

            profiles_expr = month_profiles(eng, wh, month, config, features, warnings_t, groups_t, scores_t)
            profiles_path = out.directory / "profiles.parquet"
            out.written["profiles"] = eng.write_parquet([profiles_expr], profiles_path)
            profiles = eng.read_parquet([profiles_path], "profiles")
            lap("profiles")

            group_profiles = None
            if groups_t is not None:
                gw = eng.read_parquet([out.directory / "group_warnings.parquet"], "group_warnings")
                gcount = gw.group_by(_gk=gw.group_id).aggregate(warning_count=gw.count())
                gp = groups_t.left_join(gcount, groups_t.group_id == gcount._gk).drop("_gk")
                gp = gp.mutate(warning_count=gp.warning_count.fill_null(0))
                gp_arrow = eng.to_arrow(gp.select(*GROUP_PROFILE_COLUMNS).order_by("group_id"))
                out.write("group_profiles", gp_arrow)
                group_profiles = eng.read_parquet([out.directory / "group_profiles.parquet"], "group_profiles")
            lap("group_profiles")

            summary.history_months = sum(wh.has("monthly_usage", month_add(month, -k)) for k in range(HISTORY_MONTHS))
            _summarise(eng, summary, profiles, warnings_t, group_profiles,
                       inp.get("group_members", month_add(month, -1)),
                       previous_month_run=wh.has("profiles", month_add(month, -1), "output"))
            lap("summary")
            meta.update({"run_summary": summary.to_dict()})
    finally:
        eng.close()
    return summary


# -- reading results -------------------------------------------------------------
def run_summary(settings: Settings, month: str) -> dict[str, Any]:
    """The stored summary of the last successful run of ``month``."""
    wh = Warehouse(settings.warehouse_dir)
    if not wh.has("profiles", parse_month(month), "output"):
        raise NotFound(f"month {month} has not been run: tenure run-month {month}")
    return wh.metadata(month, "output").get("run_summary", {})


def _why_not_profiled(wh: Warehouse, subscriber_id: str, month: str) -> str:
    """What the month's snapshot says of a subscriber without a profile: left earlier, or not there at all."""
    if not wh.has("subscribers", month):
        return ""
    snap = pq.read_table(wh.path("subscribers", month), columns=["subscriber_id", "status", "churn_date"],
                         filters=[("subscriber_id", "=", subscriber_id)]).to_pylist()
    if not snap:
        return f": no such subscriber in the subscribers loaded for {month}"
    row = snap[0]
    if row["status"] != "churned" or row["churn_date"] is None:
        return ""
    left = str(row["churn_date"])[:10]
    last = left[:7]
    if wh.has("profiles", last, "output"):
        return f": it left on {left}; its last profile is in {last} (tenure customer {subscriber_id} --month {last})"
    return f": it left on {left}"


def customer_profile(settings: Settings, subscriber_id: str, month: str) -> dict[str, Any]:
    """One subscriber's profile, features and warnings for ``month``."""
    wh = Warehouse(settings.warehouse_dir)
    month = parse_month(month)
    if not wh.has("profiles", month, "output"):
        raise NotFound(f"month {month} has not been run: tenure run-month {month}")
    flt = [("subscriber_id", "=", subscriber_id)]
    prof = pq.read_table(wh.path("profiles", month, "output"), filters=flt).to_pylist()
    if not prof:
        raise NotFound(f"subscriber {subscriber_id} is not in the profiles of {month}"
                       + _why_not_profiled(wh, subscriber_id, month))
    feats = pq.read_table(wh.path("features", month, "output"), filters=flt).to_pylist()
    warns = pq.read_table(wh.path("warnings", month, "output"), filters=flt).to_pylist()
    return {"month": month, "profile": prof[0], "features": feats[0] if feats else {}, "warnings": warns}


__all__ = [
    "CycleConfig",
    "RunSummary",
    "build_profiles",
    "customer_profile",
    "load_cycle_config",
    "merge_config",
    "month_attributes",
    "month_profiles",
    "run_month",
    "run_summary",
]
