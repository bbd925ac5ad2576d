"""How the features step splits a month into subscriber buckets."""

from __future__ import annotations

import pytest

from tenure.domain.errors import ConfigurationError
from tenure.services.monthly_cycle import BUCKET_SUBSCRIBERS, bucket_count, memory_bytes


def test_memory_limits_are_read_in_decimal_and_binary_units() -> None:
    assert memory_bytes("4GB") == 4 * 10**9
    assert memory_bytes("1500MB") == 1500 * 10**6
    assert memory_bytes("2GiB") == 2 * 2**30
    with pytest.raises(ConfigurationError):
        memory_bytes("lots")


def test_small_months_run_in_one_bucket() -> None:
    assert bucket_count(300, "4GB") == 1
    assert bucket_count(BUCKET_SUBSCRIBERS[0], "100MB") == 1


@pytest.mark.parametrize("n", [1_000_000, 3_000_000, 10_000_000])
def test_less_memory_means_more_smaller_buckets(n: int) -> None:
    lo, hi = BUCKET_SUBSCRIBERS
    roomy, tight = bucket_count(n, "4GB"), bucket_count(n, "1500MB")
    assert tight >= roomy
    for b in (roomy, tight):
        assert lo * (b - 1) < n <= hi * b  # no bucket is above the largest size
    assert bucket_count(n, "64GB") == -(-n // hi)
    assert bucket_count(n, "1MB") == -(-n // lo)
