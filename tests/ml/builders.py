"""Small synthetic churn tables for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def imbalanced_table(n: int, seed: int, churn_rate_shift: float = -3.0) -> tuple[pd.DataFrame, np.ndarray]:
    """A churn-like table: two informative numerics, a plan category, one noise column; ~8% churn."""
    rng = np.random.default_rng(seed)
    spend_drop = rng.normal(size=n)
    complaints = rng.poisson(0.5, size=n).astype(float)
    plan = rng.choice(["basic", "family", "premium"], size=n, p=[0.5, 0.3, 0.2])
    noise = rng.normal(size=n)
    logit = churn_rate_shift + 1.5 * spend_drop + 0.8 * complaints + np.where(plan == "basic", 0.7, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {"spend_drop": spend_drop, "complaints": complaints, "plan": plan, "noise": noise}
    )
    return X, y
