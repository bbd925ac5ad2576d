"""A dense number for every subscriber the warehouse has seen: the key the stored history is laid out by.

Each month's reduced history (:mod:`tenure.services.month_history`) is kept
with one row per number ``0 .. n-1`` in number order, a row of nulls for a
subscriber the month has nothing for. Row ``i`` of every month is then the
same subscriber, so the six months of the features step line up by position
(DuckDB's ``POSITIONAL JOIN``): no hash table, no sort, and memory that does
not grow with the month (docs/performance.md, "Months lined up by position").

The index only grows: a subscriber keeps its number for good, and new ones
are numbered after the last, in id order. ``epoch`` names the index: a
month's stored history is current only for the epoch it was laid out with,
so deleting the index (``<warehouse>/subscriber_index``) lays every month out
again on its next use. Updates take a file lock and publish a new file
atomically; readers always see a whole index.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tenure.engines.compute import Engine
from tenure.engines.warehouse import Warehouse

INDEX_DIR = "subscriber_index"


@dataclass(frozen=True)
class IndexState:
    """The live index: its epoch, how many numbers it has given, and its file."""

    epoch: str
    size: int
    path: Path | None


class SubscriberIndex:
    """The warehouse's subscriber numbering (``subscriber_id`` -> ``idx``)."""

    def __init__(self, wh: Warehouse) -> None:
        self.directory = wh.root / INDEX_DIR

    def state(self) -> IndexState:
        """The live index; an empty one (size 0, fresh epoch on first write) when none exists."""
        pointer = self.directory / "CURRENT.json"
        if not pointer.exists():
            return IndexState(epoch="", size=0, path=None)
        meta = json.loads(pointer.read_text())
        return IndexState(epoch=meta["epoch"], size=int(meta["size"]), path=self.directory / meta["file"])

    def table(self, eng: Engine, state: IndexState | None = None) -> ir.Table | None:
        """The index (``idx``, ``subscriber_id``) as of ``state`` (default: now), or None while it is empty."""
        st = state or self.state()
        if st.path is None:
            return None
        return eng.read_parquet([st.path], "subscriber_index")

    def extend(self, eng: Engine, ids: ir.Table) -> IndexState:
        """Number the subscribers of ``ids`` (a ``subscriber_id`` column) that have no number yet.

        New numbers follow the last one, in id order, so the numbering does
        not depend on the engine or on row order. Returns the live state.
        """
        with self._lock():
            st = self.state()
            current = self.table(eng, st)
            wanted = ids.select("subscriber_id").filter(ids.subscriber_id.notnull()).distinct()
            if current is not None:
                wanted = wanted.anti_join(current, "subscriber_id")
            new = eng.to_arrow(wanted).column("subscriber_id")
            if len(new) == 0 and st.path is not None:
                return st
            return self._publish(st, new.take(pc.array_sort_indices(new)))

    def _publish(self, st: IndexState, new_ids: pa.ChunkedArray | pa.Array) -> IndexState:
        self.directory.mkdir(parents=True, exist_ok=True)
        epoch = st.epoch or uuid.uuid4().hex
        added = pa.table({
            "idx": pa.array(np.arange(st.size, st.size + len(new_ids), dtype=np.int64)),
            "subscriber_id": new_ids.cast(pa.string()),
        })
        old = pq.read_table(st.path) if st.path is not None else None
        table = added if old is None else pa.concat_tables([old, added.cast(old.schema)])
        size = table.num_rows
        name = f"index-{size:012d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.directory / f".{name}.tmp"
        pq.write_table(table, tmp, row_group_size=1 << 20)
        os.replace(tmp, self.directory / name)
        pointer_tmp = self.directory / f".CURRENT.{uuid.uuid4().hex[:8]}"
        pointer_tmp.write_text(json.dumps({"epoch": epoch, "size": size, "file": name}))
        os.replace(pointer_tmp, self.directory / "CURRENT.json")
        for f in self.directory.glob("index-*.parquet"):
            if f.name != name and (st.path is None or f.name != st.path.name):
                with contextlib.suppress(OSError):
                    f.unlink()
        return IndexState(epoch=epoch, size=size, path=self.directory / name)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
