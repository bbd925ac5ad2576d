"""Public churn data sets mapped into the canonical model: every row mapped, every row valid."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tenure.config import Settings
from tenure.domain.errors import InputError
from tenure.domain.model import TABLES
from tenure.engines.sources import read_source
from tenure.services.loading_checks import check_table
from tenure.services.public_data import load_public, map_ibm_telco, map_mlc_churn, write_mapping

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
IBM = DATA / "ibm-telco-churn" / "Telco-Customer-Churn.csv"
MLC = DATA / "mlc-churn"

pytestmark = pytest.mark.skipif(not IBM.exists() or not MLC.exists(), reason="shared public data sets not present")


def _validate(folder: Path, month: str) -> dict[str, int]:
    """Run the loader's row checks over each written table, in load order; return bad rows per table."""
    known: dict = {}
    bad = {}
    from tenure.services.loading import REFERENCED

    for name, spec in TABLES.items():
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= 1:
            continue  # header only: nothing to check
        checked = check_table(spec, read_source(path, None), month, known)
        good = checked.loaded()
        for ref in REFERENCED:
            table, column = ref.split(".")
            if table == name:
                known[ref] = good.column(column).combine_chunks()
        bad[name] = read_source(path, None).read - good.num_rows
    return bad


@pytest.mark.parametrize("mapper,source,rows,churned", [
    (map_ibm_telco, IBM, 7043, 1869),
    (map_mlc_churn, MLC, 5000, 707),
    (map_mlc_churn, MLC / "churn-bigml-80.csv", 2666, 388),
    (map_mlc_churn, MLC / "churn-bigml-20.csv", 667, 95),
])
def test_every_source_row_is_mapped_and_valid(tmp_path: Path, mapper, source: Path, rows: int, churned: int) -> None:
    m = mapper(source, "2026-10")
    assert m.source_rows == rows
    subs = m.tables["subscribers"].to_pandas()
    assert len(subs) == rows == m.tables["monthly_usage"].num_rows == m.tables["customers"].num_rows
    assert subs["subscriber_id"].is_unique and subs["msisdn"].is_unique
    assert (subs["status"] == "churned").sum() == churned
    assert subs.loc[subs.status == "churned", "churn_date"].str.startswith("2026-10").all()
    assert subs.loc[subs.status != "churned", ["churn_date", "churn_type"]].isna().all().all()
    extra = m.extra.to_pandas()
    assert len(extra) == rows and extra["subscriber_id"].tolist() == subs["subscriber_id"].tolist()
    assert int(extra["label_churn"].sum()) == churned
    write_mapping(m, tmp_path / "2026-10")
    bad = _validate(tmp_path / "2026-10", "2026-10")
    assert bad and all(v == 0 for v in bad.values()), bad


def test_ibm_contracts_and_charges(tmp_path: Path) -> None:
    m = map_ibm_telco(IBM, "2026-10")
    subs = m.tables["subscribers"].to_pandas()
    extra = m.extra.to_pandas()
    has_contract = extra["Contract"] != "Month-to-month"
    assert subs["contract_end_date"].notna().to_numpy().tolist() == has_contract.tolist()
    assert (subs.loc[has_contract.to_numpy(), "contract_end_date"] >= "2026-10-31").all()
    assert m.tables["agreements"].num_rows == int(has_contract.sum())
    usage = m.tables["monthly_usage"].to_pandas()
    assert np.allclose(usage["revenue"], extra["MonthlyCharges"].astype(float))


def test_mlc_service_calls_become_hotline_contacts() -> None:
    m = map_mlc_churn(MLC, "2026-10")
    calls = m.extra.to_pandas()["number_customer_service_calls"].astype(int).sum()
    contacts = m.tables["channel_contacts"].to_pandas()
    assert len(contacts) == calls
    assert set(contacts["channel"]) == {"hotline"} and contacts["contact_id"].is_unique


def test_wrong_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        map_ibm_telco(MLC / "mlc_churn.csv")
    with pytest.raises(InputError):
        map_mlc_churn(IBM)
    with pytest.raises(InputError):
        map_mlc_churn(tmp_path)


@pytest.mark.parametrize("dataset,source", [("ibm-telco", IBM), ("mlc-churn", MLC)])
def test_load_public_writes_and_loads_the_month(settings: Settings, dataset: str, source: Path) -> None:
    try:
        load_public(settings, dataset, source, "2026-10")
    finally:
        base = settings.home / "public" / dataset
        assert (base / "2026-10" / "subscribers.csv").exists()
        assert pq.read_table(base / "extra.parquet").num_rows in (7043, 5000)
    from tenure.engines.warehouse import Warehouse

    assert Warehouse(settings.warehouse_dir).has("subscribers", "2026-10")


def test_cli_load_public_json(tenure_home: Path) -> None:
    from tenure.interfaces.cli.main import app

    res = CliRunner().invoke(app, ["load-public", "nonesuch", str(IBM), "--json"])
    assert res.exit_code == 2
    res = CliRunner().invoke(app, ["load-public", "mlc-churn", str(MLC), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["rows"]["subscribers"] == 5000
    assert (tenure_home / "public" / "mlc-churn" / "extra.parquet").exists()
