"""Builders for small canonical input months (unique ids per builder)."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tenure.config import Settings
from tenure.domain.model import TABLES

_serial = itertools.count(1)


class MonthBuilder:
    """A valid month of every required table; tests then spoil rows on purpose.

    ``rows[table]`` is a list of dicts of text values in model column order.
    """

    def __init__(self, month: str = "2026-05", subscribers: int = 6) -> None:
        self.month = month
        self.tag = f"{next(_serial):04d}"
        self.rows: dict[str, list[dict[str, str]]] = {
            t: [] for t in TABLES if TABLES[t].required_file
        }
        plan = self.plan()
        enterprise = self.customer(
            customer_type="enterprise", name="杭州某某科技有限公司", gender="", birth_year=""
        )
        group = self.group(customer_id=enterprise["customer_id"])
        for i in range(subscribers):
            cust = self.customer()
            sub = self.subscriber(customer_id=cust["customer_id"], plan_id=plan["plan_id"])
            self.usage(subscriber_id=sub["subscriber_id"])
            if i == 0:
                self.member(group_id=group["group_id"], subscriber_id=sub["subscriber_id"])
                self.agreement(
                    customer_id=enterprise["customer_id"], subscriber_id=sub["subscriber_id"]
                )
                self.complaint(subscriber_id=sub["subscriber_id"])
                self.order(subscriber_id=sub["subscriber_id"])
                self.contact(subscriber_id=sub["subscriber_id"])

    def _id(self, prefix: str, table: str) -> str:
        return f"{prefix}{self.tag}{len(self.rows[table]) + 1:05d}"

    def _add(self, table: str, row: dict[str, str], over: dict[str, str]) -> dict[str, str]:
        row.update(over)
        assert list(row) == list(TABLES[table].column_names), table
        self.rows[table].append(row)
        return row

    def customer(self, **over: str) -> dict[str, str]:
        return self._add(
            "customers",
            {
                "customer_id": self._id("C", "customers"),
                "customer_type": "individual",
                "name": "张三",
                "id_number": "",
                "region": "杭州",
                "city": "西湖区",
                "vip_card": "none",
                "credit_limit": "100.00",
                "deposit": "0",
                "join_date": "2020-01-15",
                "birth_year": "1980",
                "gender": "F",
            },
            over,
        )

    def plan(self, **over: str) -> dict[str, str]:
        return self._add(
            "plans",
            {
                "plan_id": self._id("P", "plans"),
                "name": "全球通58元",
                "brand": "premium",
                "payment_type": "postpaid",
                "monthly_fee": "58.00",
                "voice_minutes": "300",
                "data_mb": "10240",
                "is_bundle": "false",
                "premium": "true",
            },
            over,
        )

    def subscriber(self, **over: str) -> dict[str, str]:
        n = len(self.rows["subscribers"]) + 1
        return self._add(
            "subscribers",
            {
                "subscriber_id": self._id("S", "subscribers"),
                "msisdn": f"138{int(self.tag):04d}{n:04d}",
                "customer_id": "",
                "plan_id": "",
                "payment_type": "postpaid",
                "brand": "premium",
                "region": "杭州",
                "city": "西湖区",
                "activation_date": "2021-03-01",
                "status": "active",
                "churn_date": "",
                "churn_type": "",
                "contract_end_date": "",
            },
            over,
        )

    def group(self, **over: str) -> dict[str, str]:
        return self._add(
            "enterprise_groups",
            {
                "group_id": self._id("G", "enterprise_groups"),
                "customer_id": "",
                "name": "某某集团",
                "group_class": "A",
                "industry": "finance",
                "region": "杭州",
                "headcount": "120",
                "account_manager": "",
            },
            over,
        )

    def member(self, **over: str) -> dict[str, str]:
        return self._add(
            "group_members",
            {
                "group_id": "",
                "subscriber_id": "",
                "role": "member",
                "title": "",
                "joined_date": "2022-01-01",
            },
            over,
        )

    def agreement(self, **over: str) -> dict[str, str]:
        return self._add(
            "agreements",
            {
                "agreement_id": self._id("A", "agreements"),
                "customer_id": "",
                "group_id": "",
                "subscriber_id": "",
                "kind": "plan_contract",
                "start_date": "2025-01-01",
                "end_date": "2026-12-31",
                "value": "1200",
            },
            over,
        )

    def usage(self, **over: str) -> dict[str, str]:
        return self._add(
            "monthly_usage",
            {
                "month": self.month,
                "subscriber_id": "",
                "revenue": "58.456",
                "mou": "300",
                "mou_onnet": "100",
                "mou_offnet": "150.5",
                "data_mb": "2048.5",
                "sms": "10",
                "roaming_mou": "0",
                "recharge_count": "0",
                "recharge_amount": "0",
                "arrears": "0",
                "bundle_broadband": "true",
                "bundle_tv": "N",
                "other_op_cs_calls": "0",
                "other_op_ip_spend": "0",
            },
            over,
        )

    def complaint(self, **over: str) -> dict[str, str]:
        return self._add(
            "complaints",
            {
                "complaint_id": self._id("K", "complaints"),
                "subscriber_id": "",
                "created_at": f"{self.month}-03 10:00:00",
                "category": "network",
                "severity": "2",
                "resolved_at": f"{self.month}-04 11:30",
            },
            over,
        )

    def order(self, **over: str) -> dict[str, str]:
        return self._add(
            "service_orders",
            {
                "order_id": self._id("O", "service_orders"),
                "subscriber_id": "",
                "created_at": f"{self.month}-05T09:30:00",
                "kind": "fault",
                "from_plan": "",
                "to_plan": "",
                "closed_at": "",
            },
            over,
        )

    def contact(self, **over: str) -> dict[str, str]:
        return self._add(
            "channel_contacts",
            {
                "contact_id": self._id("CC", "channel_contacts"),
                "subscriber_id": "",
                "contacted_at": f"{self.month}-06 14:00",
                "channel": "hotline",
                "direction": "inbound",
                "purpose": "inquiry",
            },
            over,
        )

    @property
    def subscriber_ids(self) -> list[str]:
        return [r["subscriber_id"] for r in self.rows["subscribers"]]

    def write(
        self, root: Path, fmt: str = "csv", encoding: str = "utf-8", folder: Path | None = None
    ) -> Path:
        """Write every table under ``root/<month>/`` (or ``folder``); returns that folder."""
        out = folder or root / self.month
        out.mkdir(parents=True, exist_ok=True)
        for table, rows in self.rows.items():
            write_table(out, table, rows, fmt, encoding)
        return out


def write_table(
    folder: Path,
    table: str,
    rows: list[dict[str, str]],
    fmt: str = "csv",
    encoding: str = "utf-8",
    columns: list[str] | None = None,
) -> Path:
    columns = columns or list(TABLES[table].column_names)
    if fmt == "parquet":
        path = folder / f"{table}.parquet"
        pq.write_table(
            pa.table({c: pa.array([r.get(c) or None for r in rows], pa.string()) for c in columns}),
            path,
        )
        return path
    path = folder / f"{table}.csv"
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow([r.get(c, "") for c in columns])
    return path


def read_quarantine(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes, to prove nothing changed."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def month_builder() -> type[MonthBuilder]:
    return MonthBuilder


@pytest.fixture
def src_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "in"
    d.mkdir()
    yield d


@pytest.fixture
def load_settings(settings: Settings) -> Settings:
    return settings
