"""Model registry: trained churn models with what is needed to trust and reproduce them.

Layout under ``<home>/models/``::

    <name>/
      v0001/
        model.pkl      the fitted estimator (pickle; read back only from this home)
        card.json      metrics, features, training window, data fingerprint,
                       parameters, library versions, checksum of model.pkl
      v0002/ ...
      production.json  which version is promoted, when and by whom

Scoring may add ``compiled-*.o`` files to a version directory: the model's
boosters as native code (``ml/compiled.py``), and ``contributions-*.pkl``:
its TreeSHAP tables (``ml/tree_shap.py``, up to about 0.5 GB each); both
are caches, rebuilt when missing or unreadable.

A version directory is written under a temporary name and renamed into place,
so a crash never leaves a half-written version that ``list`` would show.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tenure.domain.errors import Conflict, InputError, NotFound

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VERSION = re.compile(r"^v(\d{4,})$")


def data_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 over column names, dtypes and row contents (order-sensitive).

    Two training tables with the same fingerprint hold the same data, so a
    model can be traced to the exact rows it learned from.
    """
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    import lightgbm
    import numpy
    import sklearn

    return {
        "python": platform.python_version(),
        "lightgbm": lightgbm.__version__,
        "scikit_learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
    }


@dataclass(frozen=True)
class ModelCard:
    """Everything recorded about one registered model version."""

    name: str
    version: str
    created_at: str
    metrics: dict[str, Any]
    features: list[str]
    training_window: list[str] | None
    data_fingerprint: str
    rows: int
    params: dict[str, Any]
    libraries: dict[str, str]
    model_sha256: str
    notes: str = ""
    promoted: bool = field(default=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


class ModelRegistry:
    """Stores, lists, promotes and compares model versions under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not NAME.match(name):
            raise InputError(f"model name {name!r} must be lower-case letters, digits, - or _")
        return self.root / name

    def _versions(self, name: str) -> list[str]:
        base = self._dir(name)
        if not base.is_dir():
            return []
        found = [p.name for p in base.iterdir() if p.is_dir() and VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(VERSION.match(v).group(1)))  # type: ignore[union-attr]

    def register(
        self,
        name: str,
        model: Any,
        *,
        metrics: dict[str, Any],
        features: list[str],
        training: pd.DataFrame,
        training_window: tuple[str, str] | None = None,
        notes: str = "",
    ) -> ModelCard:
        """Save a fitted ``model`` as the next version of ``name``."""
        if not hasattr(model, "predict_proba"):
            raise InputError("only fitted estimators with predict_proba can be registered")
        base = self._dir(name)
        base.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        params = model.get_params() if hasattr(model, "get_params") else {}
        existing = self._versions(name)
        number = int(VERSION.match(existing[-1]).group(1)) + 1 if existing else 1  # type: ignore[union-attr]
        version = f"v{number:04d}"
        card = ModelCard(
            name=name,
            version=version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            metrics=_jsonable(metrics),
            features=list(features),
            training_window=list(training_window) if training_window else None,
            data_fingerprint=data_fingerprint(training),
            rows=len(training),
            params=_jsonable(params),
            libraries=library_versions(),
            model_sha256=hashlib.sha256(blob).hexdigest(),
            notes=notes,
        )
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=base))
        try:
            (staging / "model.pkl").write_bytes(blob)
            (staging / "card.json").write_text(json.dumps(card.as_dict(), indent=2, ensure_ascii=False))
            try:
                os.rename(staging, base / version)
            except OSError as exc:
                raise Conflict(f"{name} {version} was registered at the same time; retry") from exc
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return card

    def _production(self, name: str) -> str | None:
        pointer = self._dir(name) / "production.json"
        if not pointer.is_file():
            return None
        return str(json.loads(pointer.read_text())["version"])

    def show(self, name: str, version: str | None = None) -> ModelCard:
        """One version's card; without ``version`` the promoted one, else the newest."""
        versions = self._versions(name)
        if not versions:
            raise NotFound(f"no model named {name!r}")
        chosen = version or self._production(name) or versions[-1]
        path = self._dir(name) / chosen / "card.json"
        if not path.is_file():
            raise NotFound(f"model {name!r} has no version {chosen!r}")
        doc = json.loads(path.read_text())
        doc["promoted"] = chosen == self._production(name)
        return ModelCard(**doc)

    def list(self, name: str | None = None) -> list[ModelCard]:
        """Every version of ``name`` (or of every model), oldest first."""
        if name is None:
            if not self.root.is_dir():
                return []
            names = sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))
        else:
            names = [name]
        return [self.show(n, v) for n in names for v in self._versions(n)]

    def load(self, name: str, version: str | None = None) -> Any:
        """The fitted estimator; refuses a file whose checksum differs from its card."""
        card = self.show(name, version)
        blob = (self._dir(name) / card.version / "model.pkl").read_bytes()
        if hashlib.sha256(blob).hexdigest() != card.model_sha256:
            raise Conflict(f"{name} {card.version}: model file does not match its card")
        return pickle.loads(blob)  # written by register() into this home only

    def promote(self, name: str, version: str, by: str = "") -> ModelCard:
        """Make ``version`` the one used for scoring; the pointer is replaced atomically."""
        card = self.show(name, version)
        pointer = self._dir(name) / "production.json"
        tmp = pointer.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(
                {"version": version, "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"), "by": by}
            )
        )
        os.replace(tmp, pointer)
        return ModelCard(**{**card.as_dict(), "promoted": True})

    def compare(self, name: str, a: str, b: str) -> dict[str, Any]:
        """What changed from version ``a`` to ``b``: metric deltas, features, params, data."""
        ca, cb = self.show(name, a), self.show(name, b)
        deltas: dict[str, Any] = {}
        for metric in sorted(set(ca.metrics) & set(cb.metrics)):
            va, vb = ca.metrics[metric], cb.metrics[metric]
            if isinstance(va, (int, float)) and isinstance(vb, (int, float)):
                deltas[metric] = {"a": va, "b": vb, "change": vb - va}
        return {
            "name": name,
            "a": a,
            "b": b,
            "metrics": deltas,
            "features_added": sorted(set(cb.features) - set(ca.features)),
            "features_removed": sorted(set(ca.features) - set(cb.features)),
            "params_changed": {
                k: {"a": ca.params.get(k), "b": cb.params.get(k)}
                for k in sorted(set(ca.params) | set(cb.params))
                if ca.params.get(k) != cb.params.get(k)
            },
            "same_data": ca.data_fingerprint == cb.data_fingerprint,
            "training_window": {"a": ca.training_window, "b": cb.training_window},
        }
