"""The reasons pass takes the acted-on rows of a batch with the pandas types of the whole batch."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tenure.services.scoring import _take


def test_taken_rows_equal_the_full_conversion() -> None:
    batch = pa.record_batch({
        "subscriber_id": pa.array(["a", "b", "c", "d", "e"]),
        "contract_months_left": pa.array([3, None, 5, 7, 1]),
        "recharge_irregular": pa.array([True, False, None, True, False]),
        "arpu_avg3": pa.array([1.5, 2.0, None, 4.0, 0.0]),
        "complaints_3m": pa.array([0, 1, 2, 3, 4]),
    })
    for rows in ([0, 3], [1, 2], [4], [0, 1, 2, 3, 4]):
        idx = np.array(rows)
        got = _take(batch, idx).reset_index(drop=True)
        want = batch.to_pandas().iloc[idx].reset_index(drop=True)
        assert got.dtypes.to_dict() == want.dtypes.to_dict()
        assert got.equals(want)
        # the value text of a reason is str() of the cell: "3.0", as before, not "3"
        assert [str(v) for v in got.contract_months_left] == [str(v) for v in want.contract_months_left]
