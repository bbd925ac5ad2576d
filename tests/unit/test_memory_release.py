"""Freed memory goes back to the system between the steps of a run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tenure.engines import memory

# In a fresh interpreter: 4,000 blocks of 64 KiB (below glibc's mmap threshold, so
# inside the heap), every other one freed: 125 MiB free but held between live blocks.
PROBE = textwrap.dedent("""
    import json, sys
    import numpy as np
    from tenure.engines.memory import release_unused

    def rss_kib():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))

    blocks = [np.ones(8192) for _ in range(4000)]
    del blocks[::2]
    held = rss_kib()
    trimmed = release_unused() if sys.argv[1] == "release" else None
    print(json.dumps({"held": held, "after": rss_kib(), "trimmed": trimmed, "live": len(blocks)}))
""")


def _probe(mode: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(memory._malloc_trim() is None, reason="the C library has no malloc_trim")
def test_release_unused_returns_freed_heap_blocks_to_the_system() -> None:
    kept = _probe("keep")
    released = _probe("release")
    assert released["trimmed"] is True and released["live"] == 2000
    # without a release the freed half stays resident; with it most of its 125 MiB goes
    assert kept["held"] - kept["after"] < 10 * 1024
    assert released["held"] - released["after"] > 80 * 1024


def test_release_unused_releases_arrows_pool_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    calls = []
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    monkeypatch.setattr(pa, "default_memory_pool", lambda: type("Pool", (), {"release_unused": lambda self: calls.append(1)})())
    assert memory.release_unused() is False and calls == [1]
