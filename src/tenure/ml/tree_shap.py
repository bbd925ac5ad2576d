"""Exact TreeSHAP contributions of a LightGBM booster, computed a block of rows at a time.

LightGBM's ``pred_contrib`` runs the TreeSHAP recursion (Lundberg et al.,
path-dependent) row by row, about ``leaves * depth**2`` steps per tree and
row: some 1,000 rows per CPU second on the churn model. The same values can
be read from tables. For one leaf, let ``d`` be the distinct features on its
path, ``z_j`` the share of training rows that follow the path's splits on
feature ``j`` (product of child count / parent count), and ``o_j`` 1 when
the row follows all of them, else 0. The leaf adds to feature ``i``

    v * (o_i - z_i) * sum over S in d without i of
        |S|! (|d| - |S| - 1)! / |d|!  *  prod_{j in S} o_j  *  prod_{j not in S, j != i} z_j

(the Shapley weights over the path's features; repeated splits on one feature
merge, as in TreeSHAP's unwinding). It depends on the row only through the
``2**|d|`` patterns of ``o``, so each leaf gets a table of its contributions
for every pattern, built once per booster. A row then costs one decision per
split, one pattern per leaf and ``|d|`` look-ups per leaf; numpy does that for
a block of rows at once, and the result equals ``pred_contrib`` to about
1e-14 (sums in another order).

Tables grow as ``2**|d| * |d|``: a tree with a leaf of more than
``MAX_PATH_FEATURES`` distinct features, or beyond ``MAX_TABLE_BYTES`` in
all, is left to LightGBM (``pred_contrib`` of that tree alone), so the result
stays exact whatever the trees look like.

Building the tables takes seconds (about 15 for a 500-tree model), so
:func:`explain_model` keeps them next to the model (``cache_dir``, the
model's registry directory) and reads them back on the next run: a file
named after a hash of the booster's text and of this module's table format,
written atomically and only ever read from the registry that wrote it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import scipy
import scipy.sparse as sp

log = logging.getLogger(__name__)

Explainer = Callable[[np.ndarray], np.ndarray]
"""Contributions (n, features + 1; last column the expected value) of a design matrix."""

MAX_PATH_FEATURES = 16
"""A leaf of 16 distinct path features has a 8 MiB table (2**16 patterns x 16 values)."""
MAX_TABLE_BYTES = 512 << 20
BLOCK_ROWS = 2_000
"""Rows per block: the per-tree arrays (splits x rows) stay small, and the
per-tree numpy calls are few. On the 344-tree churn model, 20,000 rows on two
threads took 3.6-3.7 s with blocks of 2,000 against 4.5 s with 1,000 and
3.8-4.1 s with 3,000-4,000 (docs/performance.md)."""
TOLERANCE = 1e-9
TABLES_FORMAT = 2
"""Bump when the tables or the budget rules change: cached tables of another format are rebuilt."""
_KEPT = ("n_features", "bias", "trees", "left_to_lightgbm")
"""What a :class:`BoosterShap` keeps of its built tables (the rest comes from its arguments)."""
ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at or below it is zero for zero-as-missing splits


def leaf_table(zero_fractions: np.ndarray, value: float) -> np.ndarray:
    """Contributions of one leaf, shape (2**d, d): row ``p`` is the pattern with o_j = bit j of p.

    >>> leaf_table(np.array([0.25]), 2.0).tolist()  # one split: v * (o - z)
    [[-0.5], [1.5]]
    """
    z = np.asarray(zero_fractions, dtype=float)
    d = len(z)
    ones = ((np.arange(2**d)[:, None] >> np.arange(d)) & 1).astype(float)
    # coefficients of prod_j (z_j + o_j x): entry s sums the products with s ones
    poly = np.zeros((2**d, d + 1))
    poly[:, 0] = 1.0
    for j in range(d):
        grown = poly * z[j]
        grown[:, 1:] += poly[:, :-1] * ones[:, j : j + 1]
        poly = grown
    weights = np.array([math.factorial(s) * math.factorial(d - 1 - s) / math.factorial(d) for s in range(d)])
    out = np.empty((2**d, d))
    for i in range(d):
        # the product without feature i: divide by z_i (o_i = 0) or by (z_i + x) (o_i = 1)
        without = np.empty((2**d, d))
        cold = ones[:, i] == 0
        without[cold] = poly[cold, :d] / z[i]
        hot = poly[~cold]
        quotient = np.empty((len(hot), d))
        quotient[:, d - 1] = hot[:, d]
        for s in range(d - 1, 0, -1):
            quotient[:, s - 1] = hot[:, s] - z[i] * quotient[:, s]
        without[~cold] = quotient
        out[:, i] = value * (ones[:, i] - z[i]) * (without @ weights)
    return out


@dataclass
class _Leaf:
    value: float
    count: int
    path: list[tuple[int, bool, int, float]]  # (split, went left, feature, child count / parent count)


class _TreeTables:
    """One tree's splits, its leaves' pattern tables and the index arrays that read them."""

    def __init__(self, root: dict[str, Any], n_features: int) -> None:
        splits: list[dict[str, Any]] = []
        leaves: list[_Leaf] = []

        def walk(node: dict[str, Any], path: list[tuple[int, bool, int, float]]) -> None:
            if "leaf_value" in node:
                leaves.append(_Leaf(node["leaf_value"], node["leaf_count"], path))
                return
            at = len(splits)
            splits.append(node)
            for child, left in ((node["left_child"], True), (node["right_child"], False)):
                share = child.get("internal_count", child.get("leaf_count")) / node["internal_count"]
                walk(child, [*path, (at, left, node["split_feature"], share)])

        walk(root, [])
        self.expected = sum(leaf.value * leaf.count for leaf in leaves) / root["internal_count"]
        self.n_splits = len(splits)
        numeric = [i for i, s in enumerate(splits) if s["decision_type"] == "<="]
        self.numeric = np.array(numeric, dtype=np.int64)
        self.numeric_feature = np.array([splits[i]["split_feature"] for i in numeric], dtype=np.int64)
        self.threshold = np.array([float(splits[i]["threshold"]) for i in numeric])[:, None]
        self.nan_missing = np.array([splits[i]["missing_type"] == "NaN" for i in numeric])[:, None]
        self.zero_missing = np.array([splits[i]["missing_type"] == "Zero" for i in numeric])[:, None]
        self.default_left = np.array([bool(splits[i]["default_left"]) for i in numeric])[:, None]
        self.categorical = [
            (i, int(s["split_feature"]), np.array([float(c) for c in str(s["threshold"]).split("||")]))
            for i, s in enumerate(splits) if s["decision_type"] == "=="
        ]
        # one slot per (leaf, distinct path feature); the checks of a slot are its path's splits on that feature
        check_split, check_left, check_slot = [], [], []
        slot_leaf, slot_bit, slot_feature, offsets, widths, tables = [], [], [], [], [], []
        size = 0
        for number, leaf in enumerate(leaves):
            features = list(dict.fromkeys(f for _, _, f, _ in leaf.path))
            zero = np.ones(len(features))
            for split, left, feature, share in leaf.path:
                k = features.index(feature)
                zero[k] *= share
                check_split.append(split)
                check_left.append(left)
                check_slot.append(len(slot_leaf) + k)
            for k, feature in enumerate(features):
                slot_leaf.append(number)
                slot_bit.append(k)
                slot_feature.append(feature)
            table = leaf_table(zero, leaf.value)
            tables.append(table.ravel())
            offsets.append(size)
            widths.append(len(features))
            size += table.size
        n_slots = len(slot_leaf)
        self.check_split = np.array(check_split, dtype=np.int64)
        self.check_left = np.array(check_left)[:, None]
        # sparse sums: failed checks per slot, pattern per leaf, contributions per feature
        self.slot_checks = sp.csr_matrix((np.ones(len(check_slot), dtype=np.float32),
                                          (check_slot, np.arange(len(check_slot)))),
                                         shape=(n_slots, len(check_slot)))
        # patterns < 2**MAX_PATH_FEATURES are exact in float32; table positions fit in int32
        self.leaf_patterns = sp.csr_matrix((np.left_shift(1, slot_bit).astype(np.float32),
                                            (slot_leaf, np.arange(n_slots))), shape=(len(leaves), n_slots))
        # the contributions go to the features this tree splits on only
        self.features = np.unique(np.array(slot_feature, dtype=np.int64))
        self.feature_sums = sp.csr_matrix((np.ones(n_slots), (np.searchsorted(self.features, slot_feature),
                                                              np.arange(n_slots))),
                                          shape=(len(self.features), n_slots))
        self.slot_leaf = np.array(slot_leaf, dtype=np.int32)
        self.slot_bit = np.array(slot_bit, dtype=np.int32)[:, None]
        self.offsets = np.array(offsets, dtype=np.int32)[:, None]
        self.widths = np.array(widths, dtype=np.int32)[:, None]
        self.table = np.concatenate(tables)

    def goes_left(self, columns: np.ndarray) -> np.ndarray:
        """(splits, rows): LightGBM's decision at every split, from the transposed matrix."""
        left = np.empty((self.n_splits, columns.shape[1]), dtype=bool)
        if len(self.numeric):
            x = columns[self.numeric_feature]
            nan = np.isnan(x)
            x = np.where(nan & ~self.nan_missing, 0.0, x)  # NaN counts as 0 unless NaN is the missing value
            missing = (self.zero_missing & (np.abs(x) <= ZERO)) | (self.nan_missing & nan)
            left[self.numeric] = np.where(missing, self.default_left, x <= self.threshold)
        for split, feature, categories in self.categorical:
            x = columns[feature]
            whole = np.trunc(x)  # as C++'s cast to int; NaN and negatives go right
            left[split] = ~np.isnan(x) & (whole >= 0) & np.isin(whole, categories)
        return left

    def add(self, columns: np.ndarray, out: np.ndarray) -> None:
        """Add this tree's contributions of the rows (columns of ``columns``) to ``out`` (features, rows)."""
        failed = (self.goes_left(columns)[self.check_split] != self.check_left).astype(np.float32)
        follows = (self.slot_checks @ failed) == 0
        patterns = (self.leaf_patterns @ follows.astype(np.float32)).astype(np.int32)
        at = (self.offsets + patterns * self.widths)[self.slot_leaf] + self.slot_bit
        out[self.features] += self.feature_sums @ self.table[at]
        out[-1] += self.expected


class BoosterShap:
    """Exact contributions of one LightGBM booster (its first ``num_iteration`` trees).

    Blocks of ``BLOCK_ROWS`` rows run on ``threads`` threads (the machine's
    cores by default).
    """

    def __init__(self, booster: lgb.Booster, num_iteration: int | None = None, threads: int | None = None,
                 cache_dir: Path | None = None) -> None:
        self.threads = threads or os.cpu_count() or 1
        self.booster = booster
        cached = None
        if cache_dir is not None:
            cached = tables_path(booster, num_iteration, cache_dir)
            state = _read_tables(cached)
            if state is not None:
                self.__dict__.update(state)
                self.from_cache = True
                return
        self.from_cache = False
        self._build(booster.dump_model(num_iteration=num_iteration))
        if cached is not None:
            _write_tables(cached, {k: getattr(self, k) for k in _KEPT})

    def _build(self, dump: dict[str, Any]) -> None:
        if dump.get("num_tree_per_iteration", 1) != 1:
            raise ValueError("one tree per iteration (binary or regression models) only")
        self.n_features = dump["max_feature_idx"] + 1
        self.bias = 0.0  # single-leaf trees
        self.trees: list[_TreeTables] = []
        self.left_to_lightgbm: list[int] = []
        sized: list[tuple[int, int, dict[str, Any]]] = []  # (table bytes, tree number, root)
        for number, tree in enumerate(dump["tree_info"]):
            root = tree["tree_structure"]
            if "leaf_value" in root:
                self.bias += root["leaf_value"]
                continue
            widest, cost = _path_widths(root)
            if widest > MAX_PATH_FEATURES:
                self.left_to_lightgbm.append(number)
            else:
                sized.append((cost, number, root))
        # The budget goes to the smallest tables first: a table costs 2**width, LightGBM's
        # recursion about width**2, so the widest trees are the ones to leave to LightGBM.
        budget = MAX_TABLE_BYTES
        for cost, number, root in sorted(sized, key=lambda t: (t[0], t[1])):
            if cost > budget:
                self.left_to_lightgbm.append(number)
                continue
            budget -= cost
            self.trees.append(_TreeTables(root, self.n_features))
        self.left_to_lightgbm.sort()

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        out = np.empty((len(matrix), self.n_features + 1))

        def explain_block(start: int) -> None:
            block = matrix[start:start + BLOCK_ROWS]
            columns = np.ascontiguousarray(block.T)
            summed = np.zeros((self.n_features + 1, len(block)))
            summed[-1] = self.bias
            for tree in self.trees:
                tree.add(columns, summed)
            out[start:start + len(block)] = summed.T

        starts = range(0, len(matrix), BLOCK_ROWS)
        if self.threads > 1 and len(starts) > 1:
            # numpy releases the GIL in the array operations: blocks run side by side
            with ThreadPoolExecutor(self.threads) as pool:
                list(pool.map(explain_block, starts))
        else:
            for start in starts:
                explain_block(start)
        for first, count in tree_runs(self.left_to_lightgbm):
            out += self.booster.predict(matrix, start_iteration=first, num_iteration=count, pred_contrib=True)
        return out


def tree_runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted tree numbers as (first, count) runs of consecutive trees: one LightGBM call per run.

    >>> tree_runs([2, 3, 4, 7, 9, 10])
    [(2, 3), (7, 1), (9, 2)]
    """
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and runs[-1][0] + runs[-1][1] == number:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((number, 1))
    return runs


def _path_widths(node: dict[str, Any], features: frozenset[int] = frozenset()) -> tuple[int, int]:
    """(most distinct features on one path, bytes of the tree's tables)."""
    if "leaf_value" in node:
        return len(features), 8 * len(features) * 2 ** len(features)
    below = features | {node["split_feature"]}
    lw, lb = _path_widths(node["left_child"], below)
    rw, rb = _path_widths(node["right_child"], below)
    return max(lw, rw), lb + rb


def tables_path(booster: lgb.Booster, num_iteration: int | None, cache_dir: Path) -> Path:
    """Where the tables of ``booster``'s first ``num_iteration`` trees are kept in ``cache_dir``."""
    text = booster.model_to_string(num_iteration=num_iteration)
    versions = f"{TABLES_FORMAT}|{MAX_PATH_FEATURES}|{MAX_TABLE_BYTES}|{np.__version__}|{scipy.__version__}"
    key = hashlib.sha256(f"{versions}\n{text}".encode()).hexdigest()
    return Path(cache_dir) / f"contributions-{key[:24]}.pkl"


def _read_tables(path: Path) -> dict[str, Any] | None:
    """Tables kept by :func:`_write_tables`, or None when there are none (or they cannot be read)."""
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            state = pickle.load(f)  # written by _write_tables into this registry only
    except Exception as exc:  # noqa: BLE001 - a damaged file: build the tables again
        log.warning("contribution tables in %s unreadable, rebuilt: %s", path, exc)
        return None
    if not isinstance(state, dict) or state.get("format") != TABLES_FORMAT:
        return None
    return {k: state[k] for k in _KEPT}


def _write_tables(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            pickle.dump({"format": TABLES_FORMAT, **state}, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only registry still explains, it just builds the tables each run
        log.info("contribution tables not kept in %s: %s", path.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


def explain_model(model: Any, cache_dir: Path | None = None, build: bool = True) -> list[Explainer] | None:
    """One exact explainer per member of a fitted ``ChurnModel``, or None to leave it to LightGBM.

    With ``cache_dir`` the tables are read from there when an earlier run
    kept them, and kept there otherwise. With ``build=False`` only kept
    tables are used: None when any member has none (building them would
    cost more than LightGBM on the few rows to explain).
    """
    if getattr(model, "linear_tree", False):
        return None
    members = list(zip(model.boosters_, model.best_iterations_, strict=True))
    if not build and (cache_dir is None
                      or not all(tables_path(b, best, cache_dir).is_file() for b, best in members)):
        return None
    try:
        return [BoosterShap(booster, best, cache_dir=cache_dir) for booster, best in members]
    except (ValueError, KeyError) as exc:  # an unexpected tree dump: LightGBM computes them instead
        log.warning("contributions left to LightGBM: %s", exc)
        return None


def agrees_with_lightgbm(model: Any, explainers: list[Explainer], matrix: np.ndarray) -> float | None:
    """Largest difference from LightGBM's contributions on ``matrix``; None above :data:`TOLERANCE`."""
    gap = float(np.max(np.abs(model.contribution_matrix(matrix, explainers) - model.contribution_matrix(matrix)),
                       initial=0.0))
    if not gap <= TOLERANCE:
        log.warning("table contributions differ from LightGBM by %.3g; LightGBM computes them", gap)
        return None
    return gap
