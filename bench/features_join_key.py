"""One bucket of the features step joined on the text subscriber id or on an integer key.

    .venv/bin/python bench/features_join_key.py stage HOME MONTH BUCKET BUCKETS DIR
    .venv/bin/python bench/features_join_key.py run DIR text|int MONTH

``stage`` writes one bucket's inputs of the features step (the month's
attributes and the six months' stored history and channel counts) to DIR
twice: as they are, and with ``subscriber_id`` replaced by DuckDB's 64-bit
``hash`` of it. ``run`` computes that bucket's features from one of the two
copies, as the cycle does (history joins, ~70 features, streamed to
Parquet), and prints wall and CPU seconds of the computation and the peak
memory. Run the two variants alternately, each in a fresh process, and
compare them within one sequence. The integer copy is a timing stand-in:
its ids are hashes, not a key the cycle could publish. Figures are printed,
never asserted.
"""
import resource
import sys
import time
from pathlib import Path

from tenure.analytics.channels import activity_from_counts
from tenure.analytics.features import subscriber_features
from tenure.analytics.history import month_bounds, subscriber_history
from tenure.config import Settings
from tenure.domain.model import month_add
from tenure.engines.compute import connect
from tenure.engines.warehouse import Warehouse
from tenure.services import monthly_cycle as mc
from tenure.services.month_history import bucket_of


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def stage(home: Path, month: str, bucket: int, buckets: int, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, environment="test")
    eng = connect(settings, None)
    inp = mc.MonthInputs(Warehouse(settings.warehouse_dir), eng)
    attrs = mc.month_attributes(inp, month)
    tables = {"attrs": attrs.filter(eng.bucket(attrs.subscriber_id, buckets) == bucket)}
    for k in range(6):
        parts = inp.history(month_add(month, -k))
        if parts is None:
            continue
        tables[f"measures_{k}"] = bucket_of(parts.measures, bucket, buckets)
        if parts.channels is not None:
            tables[f"channels_{k}"] = bucket_of(parts.channels, bucket, buckets)
    for name, t in tables.items():
        eng.copy_parquet(t, out / f"text_{name}.parquet")
        eng.copy_parquet(t.mutate(subscriber_id=t.subscriber_id.hash()), out / f"int_{name}.parquet")
        print(name, t.count().execute())


def run(staged: Path, variant: str, month: str) -> None:
    settings = Settings(home=staged / "home", environment="test")
    eng = connect(settings, None)
    config = mc.load_cycle_config(settings.home)

    def read(name: str):
        path = staged / f"{variant}_{name}.parquet"
        return eng.read_parquet([path], f"{variant}_{name}") if path.exists() else None

    measures = [read(f"measures_{k}") for k in range(6)]
    channels = [read(f"channels_{k}") for k in range(6)]
    _, last = month_bounds(month)
    cpu0, wall0 = cpu(), time.perf_counter()
    expr = subscriber_features(subscriber_history(read("attrs"), measures), last,
                               activity_from_counts(channels), config.features)
    rows = eng.write_parquet([expr], staged / f"out_{variant}.parquet")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1048576
    print(f"{variant}: rows {rows} wall {time.perf_counter() - wall0:.2f} s cpu {cpu() - cpu0:.2f} s "
          f"peak {peak:.2f} GiB")


if __name__ == "__main__":
    if sys.argv[1] == "stage":
        stage(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), Path(sys.argv[6]))
    else:
        run(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
