"""Model pages and API, held-out calibration, drift on the dashboard and the run summary."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tenure.bootstrap import Services, build
from tenure.domain.errors import InputError
from tenure.engines.warehouse import Warehouse
from tenure.interfaces.cli.main import app as cli_app
from tenure.services import audit, model_report, models
from tests.support.browser import chromium, serve
from tests.web.web_builders import PASSWORD, csrf_from, make_settings, unique

from .model_builders import build_operator

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, str]]:
    """The small operator of model_builders, a churn model trained up to 2026-06 (snapshots to 2026-04)."""
    home = tmp_path_factory.mktemp("model-pages")
    settings = make_settings(home)
    op = build_operator(settings.warehouse_dir)
    wh = Warehouse(settings.warehouse_dir)
    for m in op.months:  # the dashboard also reads region, churn date and revenue
        subs = wh.read_arrow("subscribers", m)
        subs = subs.append_column("region", pa.array(["north"] * subs.num_rows)).append_column(
            "churn_date", pa.array([None] * subs.num_rows, pa.date32()))
        usage = wh.read_arrow("monthly_usage", m)
        usage = usage.append_column("revenue", pa.array([50.0] * usage.num_rows))
        with wh.write_month(m, "input") as out:
            out.write("subscribers", subs)
            out.write("monthly_usage", usage)
    card = models.train(settings, "churn", horizon=2, until="2026-06")["model"]
    ident = models.model_id(card["name"], card["version"])
    # what run-month records when it scores: a drift section in the month's run summary
    drift = {"model_id": ident, "reference_window": card["training_window"], "threshold": 0.2, "score_psi": 0.31,
             "features": {"complaints_3m": 0.45, "arpu_avg3": 0.01}, "drifted_features": ["complaints_3m"],
             "warning": True, "message": f"population shifted since {ident} was trained"}
    with wh.write_month("2026-08", "output", meta={"run_summary": {"month": "2026-08", "drift": drift}}):
        pass
    svc = build(settings)
    yield svc, ident
    svc.close()


@pytest.fixture(scope="module")
def app(trained: tuple[Services, str]):  # type: ignore[no-untyped-def]
    from tenure.interfaces.web.app import create_app

    return create_app(trained[0].settings, trained[0])


def _client(app, services: Services, role: str) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    name = unique(role[:8] + "_")
    services.users.add(None, name, role, password=PASSWORD, locale="en")
    client = TestClient(app)
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client, csrf_from(client.get("/dashboard").text)


def test_heldout_calibration_on_a_later_month(trained: tuple[Services, str]) -> None:
    services, ident = trained
    settings = services.settings
    with pytest.raises(InputError, match="inside the training window"):
        model_report.heldout_report(settings, ident, "2026-04")
    doc = model_report.heldout_report(settings, ident, "2026-05")
    assert doc["rows"] > 400 and 0 < doc["positives"] < doc["rows"]
    table = doc["calibration"]
    assert sum(r["count"] for r in table) == doc["rows"]
    # the table is the truth: recompute the observed rate of the fullest bin by hand
    full = max(table, key=lambda r: r["count"])
    assert 0 <= full["observed_rate"] <= 1 and full["gap"] == pytest.approx(full["observed_rate"] - full["mean_predicted"])
    assert doc["max_gap"] == max(abs(r["gap"]) for r in table if r["count"] >= doc["min_bin"])
    # deciles: 10 groups covering everyone, cumulative gain ends at 100%, the riskiest decile lifts
    assert [d["decile"] for d in doc["deciles"]] == list(range(1, 11))
    assert sum(d["count"] for d in doc["deciles"]) == doc["rows"]
    assert doc["deciles"][-1]["cumulative_gain"] == pytest.approx(1.0)
    assert doc["deciles"][0]["lift"] > 2
    # this operator's risk signs are strong: the probabilities hold on the held-out month
    assert doc["within_tolerance"], doc["calibration"]
    assert abs(doc["mean_predicted"] - doc["base_rate"]) < 0.03
    assert [r["month"] for r in model_report.stored_reports(settings, ident)] == ["2026-05"]


def test_heldout_report_on_a_sample_of_a_large_month(trained: tuple[Services, str]) -> None:
    services, ident = trained
    settings = services.settings
    whole = model_report.heldout_report(settings, ident, "2026-05", save=False)
    assert whole["sample_share"] == 1.0
    budget = whole["rows"] // 2
    doc = model_report.heldout_report(settings, ident, "2026-05", save=False, max_rows=budget)
    assert 0 < doc["sample_share"] < 1 and 0 < doc["rows"] <= budget
    assert 0 < doc["positives"] <= whole["positives"] and sum(r["count"] for r in doc["calibration"]) == doc["rows"]
    # the sample's labels are the month's: the same subscribers sampled from the training frame's reader
    wh = Warehouse(settings.warehouse_dir)
    kept = models.read_snapshot(wh, "2026-05", doc["sample_share"], 1, columns=["subscriber_id"]).subscriber_id
    labels = set(models.churn_labels(wh, "2026-05", whole["horizon"]).subscriber_id)
    assert len(kept) == doc["rows"] and sum(s in labels for s in kept) == doc["positives"]
    assert model_report.heldout_report(settings, ident, "2026-05", save=False, max_rows=budget) == doc


def test_calibration_command(trained: tuple[Services, str], monkeypatch: pytest.MonkeyPatch) -> None:
    services, ident = trained
    monkeypatch.setenv("TENURE_HOME", str(services.settings.home))
    from tenure.config import get_settings

    get_settings.cache_clear()
    try:
        r = runner.invoke(cli_app, ["model", "calibration", ident, "--month", "2026-06", "--json"])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        assert doc["month"] == "2026-06" and len(doc["calibration"]) == 10 and "max_gap" in doc
        r = runner.invoke(cli_app, ["model", "calibration", ident, "--month", "2026-06"])
        assert r.exit_code == 0 and "max gap" in r.output and "lift and gains" in r.output
        assert "stable sample" not in r.output
        r = runner.invoke(cli_app, ["model", "calibration", ident, "--month", "2026-06", "--max-rows", "300"])
        assert r.exit_code == 0 and "stable sample" in r.output, r.output
        r = runner.invoke(cli_app, ["model", "calibration", ident, "--month", "2026-03"])
        assert r.exit_code != 0 and "training window" in r.output
    finally:
        get_settings.cache_clear()


def test_model_pages_and_api_by_role(app, trained: tuple[Services, str]) -> None:
    services, ident = trained
    model_report.heldout_report(services.settings, ident, "2026-05")
    analyst, _ = _client(app, services, "analyst")
    page = analyst.get("/models")
    assert page.status_code == 200 and ident in page.text and 'data-testid="model-registry"' in page.text
    assert 'data-testid="drift-warning"' in page.text and "complaints_3m" in page.text
    one = analyst.get(f"/models/{ident}")
    assert one.status_code == 200
    for chart in ("chart-calibration", "chart-gains", "chart-importance", "chart-drift-features", "chart-drift-score"):
        assert f'id="{chart}"' in one.text, chart
    assert 'data-testid="promote-form"' in one.text  # analysts may promote
    assert "complaints_3m" in one.text and 'data-testid="model-drift-warning"' in one.text

    api = analyst.get("/api/v1/models").json()["models"]
    assert [m["id"] for m in api] == [ident] and api[0]["horizon"] == 2
    detail = analyst.get(f"/api/v1/models/{ident}").json()
    assert detail["features"] and detail["importance"][0]["share"] > 0
    assert detail["heldout"][0]["month"] == "2026-05" and detail["drift"][0]["month"] == "2026-08"
    assert analyst.get("/api/v1/models/churn/v9999").status_code == 404
    assert analyst.get("/api/v1/models/Bad..Name/v0001").status_code == 422

    # a retention manager reads but may not promote; account managers and viewers do not see models
    rm, rm_csrf = _client(app, services, "retention_manager")
    assert rm.get(f"/models/{ident}").status_code == 200
    assert 'data-testid="promote-form"' not in rm.get(f"/models/{ident}").text
    assert rm.post(f"/api/v1/models/{ident}/promote", headers={"X-CSRF-Token": rm_csrf}).status_code == 403
    for role in ("account_manager", "viewer"):
        c, _ = _client(app, services, role)
        assert c.get("/models").status_code == 403
        assert c.get("/api/v1/models").status_code == 403
    anonymous = TestClient(app)
    assert anonymous.get("/api/v1/models").status_code == 401
    assert anonymous.get("/models", follow_redirects=False).status_code == 303


def test_promote_from_the_page_is_audited(app, trained: tuple[Services, str]) -> None:
    services, ident = trained
    admin, csrf = _client(app, services, "administrator")
    assert admin.post(f"/models/{ident}/promote", data={}, follow_redirects=False).status_code == 403  # no CSRF
    r = admin.post(f"/models/{ident}/promote", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert models.show_model(services.settings, "churn")["promoted"] is True
    entries = audit.entries(services.uow(), object_type="model", object_id=ident)
    assert entries and entries[0].action == "promote_model" and entries[0].after == {"promoted": ident}


def test_dashboard_warns_of_drift_naming_the_features(trained: tuple[Services, str]) -> None:
    services, ident = trained
    # the dashboard reads the month's run summary
    svc = services.dashboard
    wh = Warehouse(services.settings.warehouse_dir)
    assert wh.metadata("2026-08", "output")["run_summary"]["drift"]["warning"] is True
    principal = services.auth.sign_in(_admin(services), PASSWORD)
    doc = svc.overview(principal, month="2026-08")
    assert doc["output"]["drift"]["drifted_features"] == ["complaints_3m"]
    assert doc["output"]["drift"]["model_id"] == ident


def _admin(services: Services) -> str:
    name = unique("admin_")
    services.users.add(None, name, "administrator", password=PASSWORD, locale="en")
    return name


def test_dashboard_page_shows_the_drift_warning(app, trained: tuple[Services, str]) -> None:
    services, ident = trained
    analyst, _ = _client(app, services, "analyst")
    html = analyst.get("/dashboard", params={"month": "2026-08"}).text
    assert 'data-testid="dashboard-drift-warning"' in html
    assert "complaints_3m" in html and f'href="/models/{ident}"' in html
    # no warning for a month without drift
    assert 'data-testid="dashboard-drift-warning"' not in analyst.get("/dashboard", params={"month": "2026-07"}).text


def test_a_daily_run_keeps_the_months_run_summary(trained: tuple[Services, str]) -> None:
    services, _ident = trained
    from datetime import date

    from tenure.services import daily

    wh = Warehouse(services.settings.warehouse_dir)
    daily._store(wh, "2026-08", date(2026, 8, 3), daily.SCHEMA.empty_table())
    assert wh.has("daily_warnings", "2026-08", "output")
    assert wh.metadata("2026-08", "output")["run_summary"]["drift"]["drifted_features"] == ["complaints_3m"]


def test_run_summary_prints_the_drift_warning() -> None:
    from tenure.interfaces.cli.commands.month import _render_summary
    from tenure.interfaces.cli.output import console

    doc = {"month": "2026-08", "engine": "duckdb", "subscribers": 1, "groups": 0, "warnings": 0, "stages": {},
           "core": {}, "card_grades": {}, "value_levels": {}, "credit_ratings": {}, "warning_families": {},
           "group_grades": {}, "segments": {}, "stage_transitions": {}, "loss_equivalence": {"basis": "x"},
           "timings": {}, "drift": {"warning": True, "message": "population shifted", "threshold": 0.2,
                                    "drifted_features": ["complaints_3m"]}}
    with console.capture() as cap:
        _render_summary(doc)
    assert "Drift warning" in cap.get() and "complaints_3m" in cap.get()


@pytest.mark.browser
def test_model_page_renders_its_charts(app, trained: tuple[Services, str]) -> None:
    services, ident = trained
    model_report.heldout_report(services.settings, ident, "2026-05")
    name = unique("analyst_")
    services.users.add(None, name, "analyst", password=PASSWORD, locale="en")
    for base in serve(app):
        for browser in chromium():
            page = browser.new_page()
            page.goto(f"{base}/login?next=/models/{ident}")
            page.fill("input[name=name]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit].primary")
            # plotly draws an svg into each chart div once plotly.min.js (served locally) has run
            for chart in ("chart-calibration", "chart-gains", "chart-drift-features"):
                page.wait_for_selector(f"#{chart} svg.main-svg", timeout=20_000)
            assert page.locator("[data-testid=calibration-table] tbody tr").count() == 10


def test_model_page_says_when_the_model_learnt_from_a_sample(app, trained: tuple[Services, str],
                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    services, ident = trained
    analyst, _ = _client(app, services, "analyst")
    assert 'data-testid="sample-share"' not in analyst.get(f"/models/{ident}").text  # every subscriber
    # a second home whose model learnt from a sample of its subscribers
    settings = make_settings(tmp_path / "sampled")
    build_operator(settings.warehouse_dir)
    doc = models.train(settings, "churn", horizon=2, until="2026-08", snapshots=4, max_rows=1200)
    sampled = build(settings)
    try:
        from tenure.interfaces.web.app import create_app

        name = unique("sampler_")
        sampled.users.add(None, name, "analyst", password=PASSWORD, locale="en")
        client = TestClient(create_app(settings, sampled))
        token = csrf_from(client.get("/login").text)
        client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
        html = client.get(f"/models/{models.model_id('churn', doc['model']['version'])}").text
        assert 'data-testid="sample-share"' in html
        assert f"{doc['sample_share'] * 100:.2f}%" in html
    finally:
        sampled.close()
