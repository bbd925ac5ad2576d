"""Compiled tree predictors: a churn model's boosters as native code (lleaves).

LightGBM's own ``predict`` walks every tree as data; lleaves turns each
booster into machine code through LLVM, and on the 60-feature scoring matrix
it computes the same raw scores with about a quarter of the CPU time
(docs/performance.md). The raw scores agree with LightGBM's to about 1e-14
(the trees are summed in another order), and the calibration on top is
unchanged.

Compiling a 200-tree booster takes seconds, so the object code is cached in a
directory (the model's version directory in the registry): a file per member,
named after a hash of the booster's text, the lleaves and llvmlite versions
and the host CPU, so a cache written on another CPU or by another compiler is
never loaded. Files are written under a temporary name and renamed into place.

The compiled path is an optimisation only: :func:`compile_model` returns None
when lleaves is not installed, when the model uses linear trees (lleaves
ignores their coefficients) or when compilation fails, and
:func:`agrees_with_lightgbm` lets the caller check a sample of rows against
LightGBM before trusting it. Callers then fall back to LightGBM.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from tenure.ml.churn import ChurnModel

log = logging.getLogger(__name__)

RawScorer = Callable[[np.ndarray], np.ndarray]
"""Raw (log-odds) scores of one member for a ``ChurnModel.design_matrix``."""

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


def _compile_member(text: str, cache_dir: Path | None, threads: int) -> RawScorer:
    import lleaves

    key = hashlib.sha256(f"{_host_key()}\n{text}".encode()).hexdigest()[:24]
    work = Path(tempfile.mkdtemp(prefix="lleaves-"))
    try:
        model_file = work / "model.txt"
        model_file.write_text(text)
        compiled = lleaves.Model(model_file=str(model_file))
        cached = cache_dir / f"compiled-{key}.o" if cache_dir is not None else None
        if cached is not None and cached.is_file():
            compiled.compile(cache=str(cached), raw_score=True)
        else:
            fresh = work / "compiled.o"
            compiled.compile(cache=str(fresh), raw_score=True)
            if cached is not None:
                try:
                    tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
                    tmp.write_bytes(fresh.read_bytes())
                    os.replace(tmp, cached)
                except OSError as exc:  # a read-only registry still scores, it just compiles each time
                    log.info("compiled model not cached in %s: %s", cache_dir, exc)
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()

    def raw(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(compiled.predict(matrix, n_jobs=threads))

    return raw


def compile_model(model: ChurnModel, cache_dir: Path | None = None,
                  threads: int | None = None) -> list[RawScorer] | None:
    """One compiled raw scorer per member of ``model``, or None when it cannot be compiled.

    ``cache_dir`` holds the object code between runs; ``threads`` defaults to
    the machine's cores.
    """
    if not available() or getattr(model, "linear_tree", False):
        return None
    threads = threads or os.cpu_count() or 1
    try:
        return [
            _compile_member(booster.model_to_string(num_iteration=best), cache_dir, threads)
            for booster, best in zip(model.boosters_, model.best_iterations_, strict=True)
        ]
    except Exception as exc:  # noqa: BLE001 - any compiler failure means: use LightGBM
        log.warning("lleaves could not compile the model, LightGBM predicts instead: %s", exc)
        return None


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
