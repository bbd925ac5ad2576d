"""Population stability index (PSI) between a reference sample and a current one.

``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over bins, where ``e_i`` is the
share of the reference (training) rows in bin ``i`` and ``a_i`` the share of
the current rows. Bins are the reference deciles (quantile edges, so each
holds about a tenth of the training rows); missing values form their own bin,
because a feature going missing is drift too. Shares of zero are replaced by
``EPSILON`` so an empty bin gives a large but finite term.

Usual reading: below 0.1 stable, 0.1-0.2 some shift, above 0.2 (``WARN_AT``)
a shift large enough to re-check or retrain the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPSILON = 1e-4
WARN_AT = 0.2


def reference_bins(values: Any, bins: int = 10) -> dict[str, Any]:
    """Quantile edges of ``values`` and the reference share of each bin (+ missing).

    >>> ref = reference_bins(np.arange(100.0), bins=4)
    >>> ref["edges"], [round(s, 2) for s in ref["shares"]]
    ([24.75, 49.5, 74.25], [0.25, 0.25, 0.25, 0.25, 0.0])
    """
    v = np.asarray(values, dtype=float)
    present = v[~np.isnan(v)]
    if present.size:
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1]))
    else:
        edges = np.array([])
    return {"edges": [float(e) for e in edges], "shares": _shares(v, edges).tolist()}


def bin_counts(values: Any, edges: Any) -> np.ndarray:
    """Rows per bin: len(edges)+1 value bins (right-closed) and the missing bin last.

    Counts add up, so a file read in batches gets the same shares as read at
    once: ``shares(sum of the batches' counts)``.

    >>> bin_counts(np.array([1.0, 5.0, np.nan, 9.0]), [2.0, 6.0]).tolist()
    [1, 1, 1, 1]
    """
    v = np.asarray(values, dtype=float)
    missing = int(np.count_nonzero(np.isnan(v)))
    # rows at or below each edge (NaN compares false): one pass per edge is several times
    # faster than a binary search per row, and the same bins as searchsorted(side="left")
    at_or_below = [np.count_nonzero(v <= e) for e in np.asarray(edges, dtype=float)]
    counts = np.diff(np.array([0, *at_or_below, len(v) - missing], dtype=np.int64))
    return np.append(counts, missing)


def shares(counts: np.ndarray) -> np.ndarray:
    """Share of each bin from :func:`bin_counts` (all zeros when there are no rows)."""
    total = counts.sum()
    return counts / total if total else counts.astype(float)


def _shares(v: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share per bin: len(edges)+1 value bins (right-closed) and the missing bin last."""
    return shares(bin_counts(v, edges))


def psi(expected: Any, actual: Any) -> float:
    """PSI between two arrays of bin shares (same bins, each summing to 1)."""
    e = np.maximum(np.asarray(expected, dtype=float), EPSILON)
    a = np.maximum(np.asarray(actual, dtype=float), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_against(reference: dict[str, Any], values: Any) -> float:
    """PSI of ``values`` against a :func:`reference_bins` result."""
    v = np.asarray(values, dtype=float)
    return psi(reference["shares"], _shares(v, np.asarray(reference["edges"], dtype=float)))
