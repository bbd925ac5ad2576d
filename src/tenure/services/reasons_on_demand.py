"""Churn reasons on demand: one subscriber's reasons when the monthly cycle stored none.

``tenure run-month`` scores every subscriber but keeps reasons for the
acted-on share only (``services/scoring.py``). For anyone else the month
scored, :func:`explain` computes the same reason rows when asked:

- the row: DuckDB finds the subscriber's position in the month's features
  file reading the ``subscriber_id`` column alone (the file is in bucket
  order, so row-group statistics cannot skip much); then only the row group
  holding it is read, with the model's columns, in the file's own Arrow
  types, the types scoring read;
- the model: the version that scored the month (the ``model_id`` recorded
  with the scores), not the one promoted now; NotFound, saying so, when that
  version has left the registry;
- the contributions: ``ChurnModel.contribution_matrix`` of
  ``ChurnModel.design_matrix``, by LightGBM. Scoring reads the same values
  from TreeSHAP tables (``ml/tree_shap.py``), checked against LightGBM and
  equal to it to ~1e-14; building the tables takes seconds and pays off
  over thousands of rows, not one;
- the phrases: ``scoring.explain_rows``, the function the stored reasons go
  through; a value reads the same whichever rows it is explained with.

:class:`ReasonService` is what the API and the customer 360 page call: a
customer's scored subscriptions, read through the caller's portfolio, each
with its stored reasons (``source: stored``) or computed ones
(``source: on_demand``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.domain.errors import ConfigurationError, NotFound
from tenure.domain.model import parse_month
from tenure.engines.warehouse import Warehouse
from tenure.services import models, scoring
from tenure.services.auth import Principal
from tenure.services.customers import CustomerService

STORED = "stored"
ON_DEMAND = "on_demand"


@dataclass(frozen=True)
class Score:
    """A subscriber's churn score in a month, as the monthly cycle recorded it."""

    model_id: str
    churn_probability: float
    risk_decile: int


def month_score(settings: Settings, month: str, subscriber_id: str) -> Score:
    """The subscriber's row of the month's ``model_scores``; NotFound when the month or the subscriber was not scored."""
    wh = Warehouse(settings.warehouse_dir)
    if not wh.has("model_scores", parse_month(month), "output"):
        raise NotFound(f"{month} has no churn scores: no churn model was promoted when it was run")
    found = _lookup(settings, wh.path("model_scores", month, "output"), subscriber_id,
                    "model_id, churn_probability, risk_decile")
    if found is None:
        raise NotFound(f"subscriber {subscriber_id!r} was not scored in {month}")
    return Score(str(found[0]), float(found[1]), int(found[2]))


def scoring_model(settings: Settings, model_id: str, month: str) -> Any:
    """The fitted model ``model_id``, which scored ``month``; NotFound when the registry no longer has it."""
    name, version = models.parse_model_id(model_id)
    gone = NotFound(f"{model_id}, the model that scored {month}, is no longer in the model registry: "
                    f"reasons cannot be computed for {month}")
    if version is None:
        raise gone
    try:
        return models.registry(settings).load(name, version)
    except (NotFound, FileNotFoundError) as exc:
        raise gone from exc


def explain(settings: Settings, month: str, subscriber_id: str, score: Score | None = None,
            model: Any | None = None) -> list[dict[str, Any]]:
    """The churn reasons of one subscriber of ``month``, as the stored ``reasons`` rows.

    ``score`` is the subscriber's recorded score (read from the month's
    ``model_scores`` when not given) and ``model`` the fitted model it names
    (loaded from the registry when not given). Returns up to
    ``reasons_per_customer`` rows (``<home>/config/early_warning.yaml``),
    strongest first, with the columns of ``scoring.REASON_SCHEMA``.
    """
    month = parse_month(month)
    score = score or month_score(settings, month, subscriber_id)
    model = model if model is not None else scoring_model(settings, score.model_id, month)
    names = [str(n) for n in model.feature_names_in_]
    path = Warehouse(settings.warehouse_dir).path("features", month, "output")
    file = pq.ParquetFile(path)
    available = set(file.schema_arrow.names)
    missing = [c for c in names if c not in available]
    if missing:
        raise ConfigurationError(f"model {score.model_id} needs features {month} lacks: {missing[:10]}")
    found = _lookup(settings, path, subscriber_id, "file_row_number")
    if found is None:
        raise NotFound(f"subscriber {subscriber_id!r} is not in the features of {month}")
    position = int(found[0])
    row = _row(file, position, ["subscriber_id", *names])
    contributions = model.contribution_matrix(model.design_matrix(row))
    top = scoring.load_config(settings.home).reasons_per_customer
    table = scoring.explain_rows(model, contributions, row, [subscriber_id], top)
    table = table.drop(columns="key").assign(subscriber_id=subscriber_id, churn_probability=score.churn_probability,
                                             risk_decile=score.risk_decile, model_id=score.model_id)
    columns = [f.name for f in scoring.REASON_SCHEMA]
    out: list[dict[str, Any]] = pa.Table.from_pandas(table[columns], schema=scoring.REASON_SCHEMA,
                                                     preserve_index=False).to_pylist()
    return out


def _lookup(settings: Settings, path: Path, subscriber_id: str, columns: str) -> tuple | None:
    """``columns`` of the subscriber's row of one Parquet file (``file_row_number``: its position)."""
    with duckdb.connect(config={"threads": settings.duckdb_threads,
                                "memory_limit": settings.duckdb_memory_limit}) as con:
        found: tuple | None = con.execute(
            f"select {columns} from read_parquet(?, file_row_number = true) where subscriber_id = ? limit 1",
            [str(path), subscriber_id]).fetchone()
    return found


def _row(file: pq.ParquetFile, position: int, columns: list[str]) -> pa.RecordBatch:
    """File row ``position`` with ``columns``, reading only its row group."""
    group, offset = _row_group(file.metadata, position)
    return file.read_row_group(group, columns=columns).slice(offset, 1).combine_chunks().to_batches()[0]


def _row_group(meta: pq.FileMetaData, position: int) -> tuple[int, int]:
    """(row group, row within it) of file row ``position``."""
    start = 0
    for g in range(meta.num_row_groups):
        rows = meta.row_group(g).num_rows
        if position < start + rows:
            return g, position - start
        start += rows
    raise IndexError(f"row {position} is past the end of the file ({start} rows)")


class ReasonService:
    """A customer's churn reasons: stored for the acted-on subscriptions, computed for the other scored ones."""

    def __init__(self, settings: Settings, customers: CustomerService) -> None:
        self.settings = settings
        self.customers = customers

    def for_customer(self, principal: Principal, customer_id: str, subscriber_id: str | None = None) -> dict[str, Any]:
        """Reasons of the customer's scored subscriptions (or of ``subscriber_id`` only).

        NotFound when the customer is absent or outside the caller's
        portfolio, or when ``subscriber_id`` is not a scored subscription of
        theirs. Each subscription has ``source`` (``stored`` or
        ``on_demand``) and ``reasons``, every reason its ``source`` too;
        ``unavailable`` says why none could be computed (the model that
        scored the month has left the registry).
        """
        doc = self.customers.churn_scores(principal, customer_id)
        month = doc["month"]
        scores = doc["scores"]
        if subscriber_id is not None:
            scores = [s for s in scores if s["subscriber_id"] == subscriber_id]
            if not scores:
                raise NotFound(f"customer {customer_id!r} has no subscription {subscriber_id!r} "
                               f"with a churn score{f' in {month}' if month else ''}")
        stored: dict[str, list[dict[str, Any]]] = {}
        for r in doc["reasons"]:
            stored.setdefault(r["subscriber_id"], []).append(r)
        loaded: dict[str, Any] = {}  # model id -> fitted model, loaded once per call
        out = []
        for s in scores:
            sid, model_id = s["subscriber_id"], s["model_id"]
            if sid in stored:
                out.append({**s, "source": STORED, "reasons": [{**r, "source": STORED} for r in stored[sid]],
                            "unavailable": None})
                continue
            try:
                if model_id not in loaded:
                    loaded[model_id] = scoring_model(self.settings, model_id, month)
            except NotFound as exc:
                out.append({**s, "source": ON_DEMAND, "reasons": [], "unavailable": str(exc)})
                continue
            score = Score(model_id, float(s["churn_probability"]), int(s["risk_decile"]))
            rows = explain(self.settings, month, sid, score, loaded[model_id])
            out.append({**s, "source": ON_DEMAND, "reasons": [{**r, "source": ON_DEMAND} for r in rows],
                        "unavailable": None})
        return {"customer_id": customer_id, "month": month, "subscriptions": out}
