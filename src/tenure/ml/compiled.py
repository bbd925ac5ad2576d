"""Compiled tree predictors: a churn model's boosters as native code (lleaves).

LightGBM's own ``predict`` walks every tree as data; lleaves turns each
booster into machine code through LLVM, and on the 60-feature scoring matrix
it computes the same raw scores with about a quarter of the CPU time
(docs/performance.md). The raw scores agree with LightGBM's to about 1e-14
(the trees are summed in another order), and the calibration on top is
unchanged.

Compiling a 200-tree booster takes seconds, so the object code is cached in a
directory (the model's version directory in the registry): a file per member
and block size, named after a hash of the booster's text, the block size, the
lleaves and llvmlite versions and the host CPU, so a cache written on another
CPU or by another compiler is never loaded. Files are written under a
temporary name and renamed into place.

lleaves walks the trees in blocks (its ``fblocksize``: how many trees' code
each block of rows runs through before the next block of trees). The faster
size depends on the model: 64 trees were 11 % faster than lleaves' default
of 34 on a 344-tree churn model and slower on a 506-tree one
(docs/performance.md). So each member is compiled at the default first and,
the first time it scores at least :data:`TUNE_ROWS` rows,
:meth:`CompiledMember.tune` compiles the other sizes of
:data:`BLOCK_SIZES`, times them on those rows and keeps the fastest; the
choice is cached beside the code, so it is made once per model and host.

The compiled path is an optimisation only: :func:`compile_model` returns None
when lleaves is not installed, when the model uses linear trees (lleaves
ignores their coefficients) or when compilation fails, and
:func:`agrees_with_lightgbm` lets the caller check a sample of rows against
LightGBM before trusting it. Callers then fall back to LightGBM.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tenure.ml.churn import ChurnModel

log = logging.getLogger(__name__)

RawScorer = Callable[[np.ndarray], np.ndarray]
"""Raw (log-odds) scores of one member for a ``ChurnModel.design_matrix``."""

BLOCK_SIZES = (34, 64)
"""Trees per block (lleaves' ``fblocksize``) tried for each member; the first, lleaves' default, is used until
tuned. On 400,000 rows of a 344-tree model: 34 trees 1.50 CPU-s, 48 1.43, 64 1.34, 96 1.34, 128 1.39."""
TUNE_ROWS = 20_000
"""Rows each block size is timed on; a member first asked to score fewer is not tuned yet."""
TUNE_ROUNDS = 3
"""Timings of each block size, alternating; the fastest of each counts."""
TOLERANCE = 1e-9
"""Largest difference from LightGBM's probability at which the compiled predictor is used."""


def available() -> bool:
    """Whether lleaves (and an llvmlite it can drive) can be imported."""
    try:
        import lleaves  # noqa: F401
        import llvmlite.binding as llvm

        return hasattr(llvm, "PassManagerBuilder")  # lleaves 1.3 needs llvmlite < 0.45
    except ImportError:
        return False


def _host_key() -> str:
    import llvmlite.binding as llvm

    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:  # LLVM cannot always read the CPU's features
        features = ""
    return "|".join([metadata.version("lleaves"), metadata.version("llvmlite"),
                     llvm.get_host_cpu_name(), features])


class CompiledMember:
    """One member of a model as lleaves code: a raw scorer whose block size can be tuned once on real rows."""

    def __init__(self, text: str, cache_dir: Path | None, threads: int) -> None:
        self.text, self.cache_dir, self.threads = text, cache_dir, threads
        host = f"{_host_key()}\n{text}"
        self._key = {size: hashlib.sha256(f"{host}|fblocksize={size}".encode()).hexdigest()[:24]
                     for size in BLOCK_SIZES}
        self._choice_file = (None if cache_dir is None
                             else cache_dir / f"compiled-{hashlib.sha256(host.encode()).hexdigest()[:24]}.block")
        chosen = self._read_choice()
        self.tuned = chosen is not None
        self.block = chosen if chosen is not None else BLOCK_SIZES[0]
        self._code = self.code_at(self.block)

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        return np.asarray(self._code.predict(matrix, n_jobs=self.threads))

    def tune(self, matrix: np.ndarray, clock: Callable[[], float] = time.thread_time) -> dict[int, float] | None:
        """Time every block size on the first :data:`TUNE_ROWS` rows of ``matrix`` and keep the fastest.

        Once per member: the choice is cached (with the code) and later loads
        use it. Each size runs :data:`TUNE_ROUNDS` times on one thread,
        alternating, timed by ``clock`` (this thread's CPU time, steadier
        than wall time beside other work); the best time of each counts.
        Returns the seconds by block size, or None when there was nothing
        to do (already tuned, or too few rows).
        """
        if self.tuned or len(matrix) < TUNE_ROWS:
            return None
        self.tuned = True
        rows = np.ascontiguousarray(matrix[:TUNE_ROWS])
        codes = {size: self._code if size == self.block else self.code_at(size) for size in BLOCK_SIZES}
        best = dict.fromkeys(codes, float("inf"))
        for _ in range(TUNE_ROUNDS):
            for size, code in codes.items():
                start = clock()
                code.predict(rows, n_jobs=1)
                best[size] = min(best[size], clock() - start)
        self.block = min(best, key=lambda size: (best[size], BLOCK_SIZES.index(size)))
        self._code = codes[self.block]
        self._write_choice(best)
        return best

    def _read_choice(self) -> int | None:
        if self._choice_file is None or not self._choice_file.is_file():
            return None
        try:
            size = int(self._choice_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return size if size in BLOCK_SIZES else None

    def _write_choice(self, seconds: dict[int, float]) -> None:
        if self._choice_file is None:
            return
        timings = " ".join(f"{size}:{s:.4f}" for size, s in seconds.items())
        self._save(self._choice_file, f"{self.block}\n# CPU-s on {TUNE_ROWS} rows by block size: {timings}\n".encode())
        for size in BLOCK_SIZES:  # only the chosen size's code is loaded again
            cached = self._object_file(size)
            if size != self.block and cached is not None:
                with contextlib.suppress(OSError):
                    cached.unlink()

    def _save(self, target: Path, data: bytes) -> None:
        try:
            tmp = target.with_name(f".{target.name}.{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError as exc:  # a read-only registry still scores, it just compiles each time
            log.info("compiled model not cached in %s: %s", target.parent, exc)

    def _object_file(self, size: int) -> Path | None:
        """Where the code compiled at block size ``size`` is cached, None without a cache."""
        return None if self.cache_dir is None else self.cache_dir / f"compiled-{self._key[size]}.o"

    def code_at(self, size: int) -> Any:
        """lleaves' model compiled at block size ``size``, from the cache when it holds it."""
        import lleaves

        work = Path(tempfile.mkdtemp(prefix="lleaves-"))
        try:
            model_file = work / "model.txt"
            model_file.write_text(self.text)
            code = lleaves.Model(model_file=str(model_file))
            cached = self._object_file(size)
            if cached is not None and cached.is_file():
                code.compile(cache=str(cached), raw_score=True, fblocksize=size)
            else:
                fresh = work / "compiled.o"
                code.compile(cache=str(fresh), raw_score=True, fblocksize=size)
                if cached is not None:
                    self._save(cached, fresh.read_bytes())
        finally:
            for f in work.iterdir():
                f.unlink()
            work.rmdir()
        return code


def compile_model(model: ChurnModel, cache_dir: Path | None = None,
                  threads: int | None = None) -> list[CompiledMember] | None:
    """One compiled raw scorer per member of ``model``, or None when it cannot be compiled.

    ``cache_dir`` holds the object code between runs; ``threads`` defaults to
    the machine's cores.
    """
    if not available() or getattr(model, "linear_tree", False):
        return None
    threads = threads or os.cpu_count() or 1
    try:
        return [
            CompiledMember(booster.model_to_string(num_iteration=best), cache_dir, threads)
            for booster, best in zip(model.boosters_, model.best_iterations_, strict=True)
        ]
    except Exception as exc:  # noqa: BLE001 - any compiler failure means: use LightGBM
        log.warning("lleaves could not compile the model, LightGBM predicts instead: %s", exc)
        return None


def tune(members: list[CompiledMember], matrix: np.ndarray) -> bool:
    """Tune each member's block size on ``matrix`` (:meth:`CompiledMember.tune`); True once all are tuned.

    A member that fails to compile at another size keeps the code it has.
    """
    for member in members:
        try:
            member.tune(matrix)
        except Exception as exc:  # noqa: BLE001 - the default block size still scores
            member.tuned = True
            log.warning("lleaves block sizes not tuned, keeping %d trees per block: %s", member.block, exc)
    return all(member.tuned for member in members)


def agrees_with_lightgbm(model: ChurnModel, scorers: list[RawScorer], matrix: np.ndarray) -> float | None:
    """Largest probability difference between the compiled scorers and LightGBM on ``matrix``.

    None when it exceeds :data:`TOLERANCE` (the compiled predictor must not be
    used), else the difference.
    """
    compiled = model.probability(matrix, [score(matrix) for score in scorers])
    reference = model.probability(matrix)
    gap = float(np.max(np.abs(compiled - reference), initial=0.0))
    if not gap <= TOLERANCE:  # NaN counts as a disagreement
        log.warning("compiled model differs from LightGBM by %.3g; LightGBM predicts instead", gap)
        return None
    return gap
