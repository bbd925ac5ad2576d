"""Churn reasons on demand: equal to the stored ones for the acted-on share, computed for anyone else
scored, only inside the caller's portfolio; the API and the customer page's Explain partial."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tenure.bootstrap import Services, build
from tenure.domain.errors import NotFound
from tenure.domain.roles import permissions_of
from tenure.engines.warehouse import Warehouse
from tenure.ml.registry import ModelRegistry
from tenure.services import models, scoring
from tenure.services import reasons_on_demand as on_demand
from tenure.services.auth import Principal
from tenure.services.reasons_on_demand import ReasonService
from tests.web.web_builders import PASSWORD, build_warehouse, csrf_from, make_settings, unique

from .model_builders import build_scored_month

MONTH = "2026-03"
BATCH_ROWS = 13


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, dict]]:
    """The web builders' customers with a promoted churn model that scored their newest month.

    Scoring reads batches of 13 rows (instead of 200,000) for the whole module, so some batches
    hold nulls of an integer column and others none, as a month of millions of rows does.
    """
    home = tmp_path_factory.mktemp("reasons-on-demand")
    settings = make_settings(home)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scoring, "BATCH_ROWS", BATCH_ROWS)
        ids = build_warehouse(settings.warehouse_dir, customers=60, last_month=MONTH)
        build_scored_month(settings, ids, MONTH)
        svc = build(settings)
        yield svc, ids
        svc.close()


@pytest.fixture(scope="module")
def stored(scored: tuple[Services, dict]) -> dict[str, list[dict[str, Any]]]:
    """The month's stored reasons by subscriber."""
    wh = Warehouse(scored[0].settings.warehouse_dir)
    out: dict[str, list[dict[str, Any]]] = {}
    for r in pq.read_table(wh.path("reasons", MONTH, "output")).to_pylist():
        out.setdefault(r["subscriber_id"], []).append(r)
    return out


def _owner(ids: dict, subscriber_id: str) -> str:
    return next(s[1] for s in ids["subscribers"] if s[0] == subscriber_id)


def _analyst() -> Principal:
    return Principal(1, "a", "a", "analyst", "en", permissions_of("analyst"), "all")


def _account_manager(*customers: str) -> Principal:
    return Principal(2, "am", "am", "account_manager", "en", permissions_of("account_manager"), "customers",
                     customer_ids=customers)


def _same_rows(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Equal rows; contributions to 1e-9 (scoring's tables equal LightGBM's to ~1e-14)."""
    assert [{k: v for k, v in r.items() if k != "contribution"} for r in got] == \
        [{k: v for k, v in r.items() if k != "contribution"} for r in want]
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g["contribution"], w["contribution"], rel_tol=1e-9, abs_tol=1e-12)


def _scores(settings: Any) -> list[dict[str, Any]]:
    wh = Warehouse(settings.warehouse_dir)
    return pq.read_table(wh.path("model_scores", MONTH, "output")).to_pylist()


def test_on_demand_reasons_equal_the_stored_ones_of_the_acted_on(scored, stored) -> None:  # type: ignore[no-untyped-def]
    services, ids = scored
    assert 0 < len(stored) < len(ids["subscribers"])
    for sid, want in stored.items():
        _same_rows(on_demand.explain(services.settings, MONTH, sid), want)
    # the service hands the stored ones over as they are
    sid = next(iter(stored))
    doc = ReasonService(services.settings, services.customers).for_customer(_analyst(), _owner(ids, sid), sid)
    [sub] = doc["subscriptions"]
    assert sub["source"] == "stored" and {r["source"] for r in sub["reasons"]} == {"stored"}
    _same_rows([{k: v for k, v in r.items() if k != "source"} for r in sub["reasons"]], stored[sid])


def test_every_subscriber_gets_the_reasons_scoring_would_store(scored) -> None:  # type: ignore[no-untyped-def]
    """Against scoring's own path over every batch, so every row is checked, not only the acted-on ones;
    a row explained alone and with a batch whose other rows hold nulls of its column read the same."""
    services, _ = scored
    settings = services.settings
    path = Warehouse(settings.warehouse_dir).path("features", MONTH, "output")
    model = models.registry(settings).load("churn", "v0001")
    names = [str(n) for n in model.feature_names_in_]
    by_id = {s["subscriber_id"]: s for s in _scores(settings)}
    texts = set()
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=["subscriber_id", *names]):
        keys = batch.column("subscriber_id").to_pylist()
        want = scoring.explain_rows(model, model.contribution_matrix(model.design_matrix(batch)), batch, keys, 5)
        for sid in keys:
            rows = want[want.key == sid].drop(columns="key").to_dict("records")
            s = by_id[sid]
            rows = [{"subscriber_id": sid, "churn_probability": s["churn_probability"],
                     "risk_decile": s["risk_decile"], **r, "model_id": "churn/v0001"} for r in rows]
            score = on_demand.Score("churn/v0001", s["churn_probability"], s["risk_decile"])
            got = on_demand.explain(settings, MONTH, sid, score, model)
            _same_rows([{k: g[k] for k in rows[0]} for g in got] if rows else got, rows)
            texts |= {r["value"] for r in got if r["feature"] == "contract_months_left" and r["value"] is not None}
    assert texts and all(t.isdigit() for t in texts)  # "7", whether or not the batch held a null of the column


def test_a_stored_value_reads_the_same_whether_or_not_its_batch_holds_a_null(  # type: ignore[no-untyped-def]
        scored, stored, tmp_path: Path) -> None:
    """One features file scored twice, the second time with a null in another row of the batch in an
    integer column that gives a subscriber a reason: its stored value text is the same, an integer
    ("7"; it read "7.0" when that null made the batch's column float64 in pandas)."""
    services, _ = scored
    settings = services.settings
    table = pq.read_table(Warehouse(settings.warehouse_dir).path("features", MONTH, "output"))
    sid, feature = next((sid, r["feature"]) for sid, rows in stored.items() for r in rows
                        if pa.types.is_integer(table.schema.field(r["feature"]).type) and r["value"] is not None)
    at = table.schema.get_field_index(feature)
    full = pc.fill_null(table.column(feature), 0).combine_chunks()
    row = table.column("subscriber_id").to_pylist().index(sid)
    start = row - row % BATCH_ROWS  # scoring reads the module's batches of 13 rows
    other = start if row != start else start + 1
    holed = pa.array([None if i == other else v for i, v in enumerate(full.to_pylist())], full.type)

    def stored_reasons(column: pa.Array, name: str) -> list[dict[str, Any]]:
        path = tmp_path / name
        pq.write_table(table.set_column(at, feature, column), path)
        result = scoring.score_features(settings, path)
        assert result is not None
        return [{k: r[k] for k in ("feature", "value", "reason_en", "reason_zh")}
                for r in result.reasons.to_pylist() if r["subscriber_id"] == sid]

    without, with_null = stored_reasons(full, "without.parquet"), stored_reasons(holed, "with.parquet")
    assert without == with_null
    [value] = [r["value"] for r in with_null if r["feature"] == feature]
    assert value.isdigit()


def test_a_subscriber_outside_the_acted_on_share_gets_five_reasons(scored, stored) -> None:  # type: ignore[no-untyped-def]
    services, ids = scored
    others = sorted((s for s in _scores(services.settings) if s["subscriber_id"] not in stored),
                    key=lambda s: -s["churn_probability"])
    sid = others[0]["subscriber_id"]
    doc = ReasonService(services.settings, services.customers).for_customer(_analyst(), _owner(ids, sid), sid)
    [sub] = doc["subscriptions"]
    assert doc["month"] == MONTH and sub["source"] == "on_demand" and sub["unavailable"] is None
    reasons = sub["reasons"]
    assert [r["rank"] for r in reasons] == [1, 2, 3, 4, 5]
    assert all(r["source"] == "on_demand" and r["model_id"] == "churn/v0001" for r in reasons)
    assert all(r["reason_en"] and r["reason_zh"] and r["family"] in ("service_care", "marketing_care")
               for r in reasons)
    contributions = [r["contribution"] for r in reasons]
    assert contributions == sorted(contributions, reverse=True) and contributions[-1] > 0
    assert reasons[0]["churn_probability"] == others[0]["churn_probability"]


def test_an_account_manager_gets_reasons_of_their_own_customers_only(scored) -> None:  # type: ignore[no-untyped-def]
    services, ids = scored
    mine, theirs = ids["customers"][0], ids["customers"][1]
    service = ReasonService(services.settings, services.customers)
    am = _account_manager(mine)
    doc = service.for_customer(am, mine)
    assert doc["subscriptions"] and all(s["reasons"] or s["source"] == "on_demand" for s in doc["subscriptions"])
    with pytest.raises(NotFound):
        service.for_customer(am, theirs)
    their_sub = next(s[0] for s in ids["subscribers"] if s[1] == theirs)
    with pytest.raises(NotFound):
        service.for_customer(am, theirs, their_sub)
    with pytest.raises(NotFound):  # another customer's subscription asked through one's own customer
        service.for_customer(am, mine, their_sub)


def test_a_model_gone_from_the_registry_is_said(scored, stored, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    services, ids = scored
    monkeypatch.setattr(models, "registry", lambda settings: ModelRegistry(tmp_path / "empty"))
    sid = next(s["subscriber_id"] for s in _scores(services.settings) if s["subscriber_id"] not in stored)
    with pytest.raises(NotFound, match="churn/v0001, the model that scored 2026-03, is no longer"):
        on_demand.explain(services.settings, MONTH, sid)
    doc = ReasonService(services.settings, services.customers).for_customer(_analyst(), _owner(ids, sid), sid)
    [sub] = doc["subscriptions"]
    assert sub["reasons"] == [] and "no longer in the model registry" in sub["unavailable"]


# -- the API and the page --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(scored: tuple[Services, dict]):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    return create_app(scored[0].settings, scored[0])


def _client(app, services: Services, role: str, customers: list[str] | None = None,  # type: ignore[no-untyped-def]
            locale: str = "en") -> TestClient:
    name = unique(role.split("_")[0][:8] + "_")
    services.users.add(None, name, role, password=PASSWORD, locale=locale)
    if customers:
        services.users.assign(None, name, customers=customers)
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def _mixed_customer(ids: dict, stored: dict) -> tuple[str, str, str]:
    """A customer with one acted-on subscription and one not, as (customer, acted on, not)."""
    for c in ids["customers"]:
        subs = [s[0] for s in ids["subscribers"] if s[1] == c]
        acted = [s for s in subs if s in stored]
        rest = [s for s in subs if s not in stored]
        if acted and rest:
            return c, acted[0], rest[0]
    pytest.fail("no customer with an acted-on and another subscription")


def test_api_returns_stored_and_on_demand_reasons(app, scored, stored) -> None:  # type: ignore[no-untyped-def]
    services, ids = scored
    customer, acted, other = _mixed_customer(ids, stored)
    client = _client(app, services, "account_manager", customers=[customer])
    r = client.get(f"/api/v1/customers/{customer}/reasons")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["month"] == MONTH
    by_sub = {s["subscriber_id"]: s for s in doc["subscriptions"]}
    assert by_sub[acted]["source"] == "stored" and by_sub[other]["source"] == "on_demand"
    assert [x["reason_en"] for x in by_sub[acted]["reasons"]] == [x["reason_en"] for x in stored[acted]]
    assert by_sub[other]["reasons"] and {x["source"] for x in by_sub[other]["reasons"]} == {"on_demand"}
    one = client.get(f"/api/v1/customers/{customer}/reasons", params={"subscriber_id": other}).json()
    assert [s["subscriber_id"] for s in one["subscriptions"]] == [other]
    assert one["subscriptions"][0]["reasons"] == by_sub[other]["reasons"]
    theirs = next(c for c in ids["customers"] if c != customer)
    assert client.get(f"/api/v1/customers/{theirs}/reasons").status_code == 404
    assert client.get(f"/api/v1/customers/{customer}/reasons", params={"subscriber_id": "nobody"}).status_code == 404


def test_customer_page_explains_a_subscription_on_request(app, scored, stored) -> None:  # type: ignore[no-untyped-def]
    services, ids = scored
    customer, acted, other = _mixed_customer(ids, stored)
    client = _client(app, services, "analyst")
    page = client.get(f"/customers/{customer}").text
    assert f'data-testid="explain-{other}"' in page and f'data-testid="explain-{acted}"' not in page
    assert f"/customers/{customer}/reasons?subscriber_id={other}" in page
    r = client.get(f"/customers/{customer}/reasons", params={"subscriber_id": other}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    first = on_demand.explain(services.settings, MONTH, other)[0]
    assert 'data-source="on_demand"' in r.text and first["reason_en"] in r.text.replace("&#39;", "'")
    assert "churn/v0001" in r.text
    zh = _client(app, services, "analyst", locale="zh_CN")
    r = zh.get(f"/customers/{customer}/reasons", params={"subscriber_id": other}, headers={"HX-Request": "true"})
    assert first["reason_zh"] in r.text and "评分所用的模型" in r.text
    assert "查看原因" in zh.get(f"/customers/{customer}").text
