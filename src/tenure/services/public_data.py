"""Public churn data sets mapped into the canonical model for one month, then loaded.

Two data sets are supported (see ``docs/public-data.md`` for the column
mapping and what cannot be mapped):

* ``ibm-telco``: IBM's Telco Customer Churn sample (7,043 customers);
* ``mlc-churn``: the MLC++ / UCI "churn" data (5,000 rows, or the BigML
  80/20 files with the same columns under other names).

Each becomes ``<home>/public/<dataset>/<month>/<table>.csv`` (canonical
columns, documented defaults where the source says nothing) plus
``<home>/public/<dataset>/extra.parquet``: every original column and the
original label, keyed by ``subscriber_id``, for the model benchmark. The
month is then loaded through the ordinary loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tenure.config import Settings
from tenure.domain.errors import InputError
from tenure.domain.model import TABLES, parse_month
from tenure.synthetic.tables import SCHEMAS, canonical_table

DATASETS = ("ibm-telco", "mlc-churn")
DEFAULT_MONTH = "2026-10"
IBM_FILE = "Telco-Customer-Churn.csv"
MLC_FILE = "mlc_churn.csv"
PUBLIC_REGION = "public"  # the data sets carry no operator branch


@dataclass
class PublicMapping:
    """Canonical tables of one month built from a public data set, and the side table."""

    dataset: str
    month: str
    tables: dict[str, pa.Table]
    extra: pa.Table
    source_rows: int


@dataclass
class PublicLoad:
    """What ``load_public`` wrote and loaded."""

    dataset: str
    month: str
    source: str
    source_rows: int
    folder: str
    extra_file: str
    rows: dict[str, int] = field(default_factory=dict)
    load: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset, "month": self.month, "source": self.source,
            "source_rows": self.source_rows, "folder": self.folder, "extra_file": self.extra_file,
            "rows": self.rows, "load": self.load,
        }


# -- shared helpers ----------------------------------------------------------------
def _month_days(month: str) -> tuple[np.datetime64, np.datetime64]:
    first = np.datetime64(month, "M").astype("datetime64[D]")
    last = (np.datetime64(month, "M") + 1).astype("datetime64[D]") - 1
    return first, last


def _days_text(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"), unit="D").astype(object)


def _msisdns(n: int, prefix: str) -> np.ndarray:
    """Distinct, valid numbers: a fixed 4-digit prefix and the row number."""
    return np.array([f"{prefix}{i:07d}" for i in range(1, n + 1)], dtype=object)


def _churn_days(n: int, month: str, activation: np.ndarray) -> np.ndarray:
    """A day inside the month, spread by row, never before the day after activation."""
    first, last = _month_days(month)
    day = first + (np.arange(n) * 7 % 28).astype("timedelta64[D]")
    return np.minimum(np.maximum(day, activation + 1), last)


def _only(mask: np.ndarray, values: Any) -> np.ndarray:
    """``values`` where ``mask`` holds, empty (None) elsewhere."""
    out = np.full(len(mask), None, dtype=object)
    out[mask] = values[mask] if isinstance(values, np.ndarray) else values
    return out


def _empty(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def _usage(month: str, sub_ids: np.ndarray, revenue: np.ndarray, mou: np.ndarray,
           bundle_bb: np.ndarray, bundle_tv: np.ndarray) -> pa.Table:
    n = len(sub_ids)
    zeros = np.zeros(n)
    izeros = np.zeros(n, dtype="int64")
    return canonical_table("monthly_usage", {
        "month": np.full(n, month, dtype=object), "subscriber_id": sub_ids,
        "revenue": np.round(revenue, 2), "mou": np.round(mou, 1), "mou_onnet": zeros, "mou_offnet": zeros,
        "data_mb": zeros, "sms": izeros, "roaming_mou": zeros, "recharge_count": izeros,
        "recharge_amount": zeros, "arrears": zeros, "bundle_broadband": bundle_bb, "bundle_tv": bundle_tv,
        "other_op_cs_calls": izeros, "other_op_ip_spend": zeros,
    })


def _extra(df: pd.DataFrame, sub_ids: np.ndarray, label: np.ndarray) -> pa.Table:
    out = df.copy()
    out.insert(0, "subscriber_id", sub_ids)
    out["label_churn"] = label.astype(bool)
    return pa.Table.from_pandas(out, preserve_index=False)


# -- IBM Telco Customer Churn ----------------------------------------------------------
def map_ibm_telco(path: Path, month: str = DEFAULT_MONTH) -> PublicMapping:
    """Map IBM's Telco Customer Churn file into the canonical tables of ``month``."""
    path = Path(path)
    if path.is_dir():
        path = path / IBM_FILE
    if not path.is_file():
        raise InputError(f"{path}: not found; give {IBM_FILE} or the folder that holds it")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    needed = {"customerID", "gender", "tenure", "Contract", "MonthlyCharges", "Churn", "InternetService"}
    missing = needed - set(df.columns)
    if missing:
        raise InputError(f"{path}: not the IBM Telco file (missing {', '.join(sorted(missing))})")
    n = len(df)
    first, last = _month_days(month)
    ids = df["customerID"].to_numpy(dtype=object)
    tenure = pd.to_numeric(df["tenure"], errors="coerce").fillna(0).astype(int).to_numpy()
    churned = (df["Churn"].str.strip().str.lower() == "yes").to_numpy()
    charges = pd.to_numeric(df["MonthlyCharges"], errors="coerce").fillna(0).to_numpy()
    internet = df["InternetService"].str.strip().to_numpy()
    contract = df["Contract"].str.strip().to_numpy()
    # tenure = whole months with the operator, this month included: activation is
    # that many months back from the month, on a day spread by row.
    act_month = np.datetime64(month, "M") - tenure.astype("timedelta64[M]")
    activation = act_month.astype("datetime64[D]") + (np.arange(n) % 28).astype("timedelta64[D]")
    activation = np.minimum(activation, last - 1)
    churn_day = _churn_days(n, month, activation)

    brand = np.select([internet == "DSL", internet == "Fiber optic"], ["dsl", "fiber_optic"], "no_internet").astype(object)
    term = np.select([contract == "One year", contract == "Two year"], [12, 24], 0)
    term_code = np.select([term == 12, term == 24], ["1Y", "2Y"], "M2M").astype(object)
    plan_id = ("IBM-" + pd.Series(brand).str.upper().str.replace("_", "-") + "-" + pd.Series(term_code)).to_numpy(dtype=object)
    plan_df = pd.DataFrame({"plan_id": plan_id, "brand": brand, "fee": charges, "term": term_code,
                            "bundle": (internet != "No") & (df["PhoneService"].to_numpy() == "Yes")})
    plans = plan_df.groupby("plan_id", sort=True).agg(brand=("brand", "first"), fee=("fee", "median"),
                                                      term=("term", "first"), bundle=("bundle", "max")).reset_index()
    # One- and two-year contracts renew on the activation anniversary: the current
    # term started cycle * term months after activation and ends the day before the next one.
    has_c = term > 0
    cycle = np.where(has_c, tenure // np.maximum(term, 1), 0)
    term_start = act_month + (cycle * term).astype("timedelta64[M]")
    c_start = np.maximum(term_start.astype("datetime64[D]"), activation)
    contract_end = (term_start + term.astype("timedelta64[M]")).astype("datetime64[D]") - 1

    gender = df["gender"].map({"Female": "F", "Male": "M"}).to_numpy(dtype=object)
    tables = {
        "customers": canonical_table("customers", {
            "customer_id": ids, "customer_type": np.full(n, "individual", dtype=object),
            "name": np.array([f"IBM customer {i}" for i in ids], dtype=object), "id_number": np.full(n, None),
            "region": np.full(n, PUBLIC_REGION, dtype=object), "city": np.full(n, "unknown", dtype=object),
            "vip_card": np.full(n, "none", dtype=object), "credit_limit": np.full(n, np.nan),
            "deposit": np.full(n, np.nan), "join_date": _days_text(activation), "birth_year": np.full(n, None),
            "gender": gender,
        }),
        "plans": canonical_table("plans", {
            "plan_id": plans["plan_id"].to_numpy(dtype=object),
            "name": ("IBM " + plans["brand"] + " " + plans["term"]).to_numpy(dtype=object),
            "brand": plans["brand"].to_numpy(dtype=object), "payment_type": np.full(len(plans), "postpaid", dtype=object),
            "monthly_fee": np.round(plans["fee"].to_numpy(), 2), "voice_minutes": np.zeros(len(plans), dtype="int64"),
            "data_mb": np.zeros(len(plans), dtype="int64"), "is_bundle": plans["bundle"].to_numpy(dtype=bool),
            "premium": np.zeros(len(plans), dtype=bool),
        }),
        "subscribers": canonical_table("subscribers", {
            "subscriber_id": ids, "msisdn": _msisdns(n, "1390"), "customer_id": ids, "plan_id": plan_id,
            "payment_type": np.full(n, "postpaid", dtype=object), "brand": brand,
            "region": np.full(n, PUBLIC_REGION, dtype=object), "city": np.full(n, "unknown", dtype=object),
            "activation_date": _days_text(activation),
            "status": np.where(churned, "churned", "active").astype(object),
            "churn_date": _only(churned, _days_text(churn_day)),
            "churn_type": _only(churned, "voluntary"),
            "contract_end_date": _only(has_c, _days_text(np.where(has_c, contract_end, first))),
        }),
        "agreements": canonical_table("agreements", {
            "agreement_id": np.array([f"IBM-K-{i}" for i in ids[has_c]], dtype=object),
            "customer_id": ids[has_c], "group_id": np.full(int(has_c.sum()), None),
            "subscriber_id": ids[has_c], "kind": np.full(int(has_c.sum()), "plan_contract", dtype=object),
            "start_date": _days_text(c_start[has_c]), "end_date": _days_text(contract_end[has_c]),
            "value": np.round(charges[has_c] * term[has_c], 2),
        }),
        "monthly_usage": _usage(month, ids, charges, np.zeros(n), internet != "No",
                                (df["StreamingTV"].to_numpy() == "Yes")),
    }
    for name in TABLES:
        tables.setdefault(name, _empty(name))
    return PublicMapping("ibm-telco", month, tables, _extra(df, ids, churned), n)


# -- MLC++ / UCI churn -----------------------------------------------------------------
BIGML_NAMES = {"customer_service_calls": "number_customer_service_calls"}
MLC_COLUMNS = ("state", "account_length", "area_code", "international_plan", "voice_mail_plan",
               "number_vmail_messages", "total_day_minutes", "total_day_calls", "total_day_charge",
               "total_eve_minutes", "total_eve_calls", "total_eve_charge", "total_night_minutes",
               "total_night_calls", "total_night_charge", "total_intl_minutes", "total_intl_calls",
               "total_intl_charge", "number_customer_service_calls", "churn")


def _yes(s: pd.Series) -> np.ndarray:
    return s.astype(str).str.strip().str.lower().isin(("yes", "true", "1")).to_numpy()


def map_mlc_churn(path: Path, month: str = DEFAULT_MONTH) -> PublicMapping:
    """Map the MLC++ churn data (or a BigML split of it) into the canonical tables of ``month``."""
    path = Path(path)
    if path.is_dir():
        path = path / MLC_FILE
    if not path.is_file():
        raise InputError(f"{path}: not found; give {MLC_FILE} (or churn-bigml-*.csv) or its folder")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.columns = [BIGML_NAMES.get(c, c) for c in (c.strip().lower().replace(" ", "_") for c in df.columns)]
    missing = [c for c in MLC_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{path}: not the MLC churn data (missing {', '.join(missing)})")
    n = len(df)
    first, last = _month_days(month)
    num = {c: pd.to_numeric(df[c], errors="coerce").fillna(0).to_numpy() for c in MLC_COLUMNS[5:19]}
    length = pd.to_numeric(df["account_length"], errors="coerce").fillna(0).astype(int).to_numpy()
    churned = _yes(df["churn"])
    intl, vmail = _yes(df["international_plan"]), _yes(df["voice_mail_plan"])
    sub_ids = np.array([f"MLC-{i:05d}" for i in range(1, n + 1)], dtype=object)
    cust_ids = np.array([f"MLC-C{i:05d}" for i in range(1, n + 1)], dtype=object)
    # account_length is taken as days with the operator up to the end of the month.
    activation = np.minimum(last - length.astype("timedelta64[D]"), last - 1)
    churn_day = _churn_days(n, month, activation)
    revenue = num["total_day_charge"] + num["total_eve_charge"] + num["total_night_charge"] + num["total_intl_charge"]
    mou = num["total_day_minutes"] + num["total_eve_minutes"] + num["total_night_minutes"] + num["total_intl_minutes"]
    code = np.select([intl & vmail, intl, vmail], ["INTL-VM", "INTL", "VM"], "BASIC").astype(object)
    plan_id = ("MLC-" + pd.Series(code)).to_numpy(dtype=object)
    plans = pd.DataFrame({"plan_id": plan_id, "rev": revenue}).groupby("plan_id", sort=True)["rev"].median().reset_index()
    region = df["state"].str.strip().to_numpy(dtype=object)
    city = ("area " + df["area_code"].str.strip()).to_numpy(dtype=object)
    # Each customer-service call becomes an inbound hotline contact, spread over the month.
    calls = num["number_customer_service_calls"].astype(int)
    rows = np.repeat(np.arange(n), calls)
    k = np.arange(len(rows)) - np.repeat(np.cumsum(calls) - calls, calls)
    lo = np.maximum(activation, first)
    hi = np.where(churned, churn_day, last + 1)
    span = np.maximum((hi - lo).astype(int), 1)
    call_day = lo[rows] + ((k * 5 + rows) % span[rows]).astype("timedelta64[D]")
    contacted = np.char.add(np.datetime_as_string(call_day, unit="D"), " 10:00:00").astype(object)
    tables = {
        "customers": canonical_table("customers", {
            "customer_id": cust_ids, "customer_type": np.full(n, "individual", dtype=object),
            "name": np.array([f"MLC customer {i:05d}" for i in range(1, n + 1)], dtype=object),
            "id_number": np.full(n, None), "region": region, "city": city,
            "vip_card": np.full(n, "none", dtype=object), "credit_limit": np.full(n, np.nan),
            "deposit": np.full(n, np.nan), "join_date": _days_text(activation), "birth_year": np.full(n, None),
            "gender": np.full(n, None),
        }),
        "plans": canonical_table("plans", {
            "plan_id": plans["plan_id"].to_numpy(dtype=object),
            "name": ("MLC " + plans["plan_id"].str[4:]).to_numpy(dtype=object),
            "brand": np.full(len(plans), "mlc", dtype=object),
            "payment_type": np.full(len(plans), "postpaid", dtype=object),
            "monthly_fee": np.round(plans["rev"].to_numpy(), 2),
            "voice_minutes": np.zeros(len(plans), dtype="int64"), "data_mb": np.zeros(len(plans), dtype="int64"),
            "is_bundle": np.zeros(len(plans), dtype=bool), "premium": np.zeros(len(plans), dtype=bool),
        }),
        "subscribers": canonical_table("subscribers", {
            "subscriber_id": sub_ids, "msisdn": _msisdns(n, "1380"), "customer_id": cust_ids, "plan_id": plan_id,
            "payment_type": np.full(n, "postpaid", dtype=object), "brand": np.full(n, "mlc", dtype=object),
            "region": region, "city": city, "activation_date": _days_text(activation),
            "status": np.where(churned, "churned", "active").astype(object),
            "churn_date": _only(churned, _days_text(churn_day)),
            "churn_type": _only(churned, "voluntary"),
            "contract_end_date": np.full(n, None),
        }),
        "monthly_usage": _usage(month, sub_ids, revenue, mou, np.zeros(n, bool), np.zeros(n, bool)),
        "channel_contacts": canonical_table("channel_contacts", {
            "contact_id": np.array([f"MLC-CT-{r + 1:05d}-{j + 1:02d}" for r, j in zip(rows, k)], dtype=object),
            "subscriber_id": sub_ids[rows], "contacted_at": contacted,
            "channel": np.full(len(rows), "hotline", dtype=object),
            "direction": np.full(len(rows), "inbound", dtype=object),
            "purpose": np.full(len(rows), "inquiry", dtype=object),
        }),
    }
    for name in TABLES:
        tables.setdefault(name, _empty(name))
    return PublicMapping("mlc-churn", month, tables, _extra(df, sub_ids, churned), n)


MAPPERS: dict[str, Callable[[Path, str], PublicMapping]] = {"ibm-telco": map_ibm_telco, "mlc-churn": map_mlc_churn}


def write_mapping(mapping: PublicMapping, folder: Path) -> dict[str, int]:
    """Write the canonical CSVs of ``mapping`` into ``folder``; optional tables without rows are left out."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, table in mapping.tables.items():
        target = folder / f"{name}.csv"
        if table.num_rows == 0 and not TABLES[name].required_file:
            target.unlink(missing_ok=True)
            continue
        pacsv.write_csv(table, target)
        rows[name] = table.num_rows
    return rows


def load_public(settings: Settings, dataset: str, path: Path, month: str = DEFAULT_MONTH,
                load: bool = True, on_progress: Callable[[str], None] | None = None) -> PublicLoad:
    """Map a public data set into ``<home>/public/<dataset>/<month>/`` and load that month."""
    if dataset not in MAPPERS:
        raise InputError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    try:
        month = parse_month(month)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    mapping = MAPPERS[dataset](Path(path), month)
    base = settings.home / "public" / dataset
    rows = write_mapping(mapping, base / month)
    extra_file = base / "extra.parquet"
    pq.write_table(mapping.extra, extra_file)
    result = PublicLoad(dataset, month, str(path), mapping.source_rows, str(base / month), str(extra_file), rows)
    if load:
        from tenure.services.loading import load_directory

        report = load_directory(settings, base, month=month, on_progress=on_progress)
        result.load = report.to_dict()
    return result
