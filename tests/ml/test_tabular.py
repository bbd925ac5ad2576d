"""Column detection and encoding on messy CSVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tenure.domain.errors import InputError
from tenure.ml.tabular import CategoryEncoder, detect_columns, load_table

MESSY = """cust_id,phone,age,total_charges,plan,is_senior,region,note,empty,row_no,churned
{rows}"""


def _messy_csv(tmp_path: Path, n: int = 120) -> Path:
    rows = []
    for i in range(n):
        total = " " if i % 17 == 0 else f"{10 + i * 1.5:.2f}"
        plan = ["Basic", "Family", "Premium", ""][i % 4]
        label = "Yes" if i % 5 == 0 else ("No" if i != 7 else "")
        rows.append(
            f"C-{i:05d},138{i:08d},{20 + i % 50},{total},{plan},{i % 2 == 0},"
            f"{['north', 'south'][i % 2]},same,,{i},{label}"
        )
    path = tmp_path / "messy.csv"
    path.write_text(MESSY.format(rows="\n".join(rows)))
    return path


def test_messy_csv_columns(tmp_path: Path) -> None:
    frame = pd.read_csv(_messy_csv(tmp_path))
    plan = detect_columns(frame, "churned", id_column="cust_id")
    assert plan.positive == "yes"
    assert plan.numeric == ("age", "total_charges")
    assert plan.coerced == ("total_charges",)
    assert set(plan.categorical) == {"plan", "is_senior", "region"}
    reasons = {c.column: c.reason for c in plan.ignored}
    assert reasons["cust_id"] == "id column"
    # phone numbers are read as integers, all distinct
    assert reasons["phone"].startswith("row identifier")
    assert reasons["row_no"].startswith("row identifier")
    assert reasons["note"] == "constant"
    assert reasons["empty"] == "empty"
    assert set(plan.features) | set(reasons) | {"churned"} == set(frame.columns)


def test_text_ids_without_id_flag_are_ignored(tmp_path: Path) -> None:
    frame = pd.read_csv(_messy_csv(tmp_path))
    plan = detect_columns(frame, "churned")
    reasons = {c.column: c.reason for c in plan.ignored}
    assert reasons["cust_id"].startswith("identifier-like text (120 distinct")


def test_load_table_coerces_blanks_and_drops_blank_labels(tmp_path: Path) -> None:
    frame = pd.read_csv(_messy_csv(tmp_path))
    X, y, _plan, blank = load_table(frame, "churned", id_column="cust_id")
    assert blank == 1
    assert len(X) == len(y) == 119
    assert X["total_charges"].dtype == np.float64
    assert X["total_charges"].isna().sum() == 8  # rows 0, 17, ..., 119 hold a blank
    assert y.sum() == 24
    assert X["plan"].isna().sum() == 29  # every 4th plan is blank; row 7 left with its label
    assert set(X["is_senior"].dropna()) == {"True", "False"}


def test_positive_value_is_case_insensitive_and_checked() -> None:
    frame = pd.DataFrame({"x": range(10), "Churn": ["True", "False"] * 5})
    assert detect_columns(frame, "Churn", positive="TRUE").positive == "true"
    with pytest.raises(InputError, match="not found"):
        detect_columns(frame, "Churn", positive="Yes")


def test_numeric_labels() -> None:
    frame = pd.DataFrame({"x": range(10), "churn": [1, 0] * 5})
    _X, y, plan, _ = load_table(frame, "churn")
    assert plan.positive == "1"
    assert y.tolist() == [1, 0] * 5


def test_unclear_labels_need_positive() -> None:
    frame = pd.DataFrame({"x": range(9), "status": ["a", "b", "c"] * 3})
    with pytest.raises(InputError, match="--positive"):
        detect_columns(frame, "status")
    with pytest.raises(InputError, match="not in the table"):
        detect_columns(frame, "nope")


def test_category_encoder_pools_rare_values_and_learns_at_fit() -> None:
    train = pd.DataFrame({"city": ["a"] * 5 + ["b"] * 3 + ["c", "d"], "n": np.arange(10.0)})
    enc = CategoryEncoder(max_categories=2).fit(train)
    assert enc.categories_ == {"city": ["a", "b", "other"]}
    out = enc.transform(pd.DataFrame({"city": ["a", "d", None, "zzz"], "n": [1.0, 2.0, 3.0, 4.0]}))
    assert out["city"].tolist()[:2] == ["a", "other"]
    assert pd.isna(out["city"].iloc[2])
    assert out["city"].iloc[3] == "other"
    assert out["n"].dtype == np.float64
