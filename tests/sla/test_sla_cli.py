"""``tenure sla``: readable output, one JSON document with --json, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.interfaces.cli.main import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    # The error console wraps long lines; compare messages with spaces collapsed.
    return result.exit_code, result.stdout, " ".join(result.stderr.split())


def test_due_json(tenure_home: Path) -> None:
    # Urgent FR/ATM (13) from Mon 20 Jan 2025 is due Wed 12 Feb (see test_calendar).
    code, out, _ = run(
        "sla", "due", "--service", "fr-atm", "--tier", "urgent", "--start", "2025-01-20", "--json"
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["due_on"] == "2025-02-12"
    assert doc["working_days"] == 13
    assert "compensation" not in doc


def test_due_with_completion_and_fee_json(tenure_home: Path) -> None:
    # Express digital, Fri 27 Sep 2024 -> due Thu 10 Oct; done Mon 14 Oct -> 3 late;
    # 1000 x 150% = 1500; 1000 x 5% x 3 = 150.
    code, out, _ = run(
        "sla", "due", "--service", "digital", "--tier", "express", "--start", "2024-09-27",
        "--completed", "2024-10-14", "--fee", "1000", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["due_on"] == "2024-10-10"
    assert doc["working_days_late"] == 3
    assert doc["price_charged"] == 1500
    assert doc["compensation"] == 150
    assert doc["capped"] is False


def test_due_readable(tenure_home: Path) -> None:
    code, out, _ = run(
        "sla", "due", "--service", "ddn", "--tier", "express", "--start", "2026-09-18",
        "--completed", "2026-10-12", "--fee", "10000",
    )  # fmt: skip
    assert code == 0
    assert "2026-09-30" in out and "2000.00" in out and "working days late" in out


def test_star_level_in_cli(tenure_home: Path) -> None:
    code, out, _ = run(
        "sla", "due", "--service", "digital", "--tier", "urgent", "--start", "2026-03-06",
        "--fee", "1000", "--star", "4", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["price_charged"] == 1000 and doc["price_waived"] is True


def test_operator_calendar_from_home(tenure_home: Path) -> None:
    # A local holiday on Thu 26 Feb 2026 moves the express digital due date to Fri 27.
    args = (
        "sla",
        "due",
        "--service",
        "digital",
        "--tier",
        "express",
        "--start",
        "2026-02-12",
        "--json",
    )
    assert json.loads(run(*args)[1])["due_on"] == "2026-02-26"
    (tenure_home / "config").mkdir()
    (tenure_home / "config" / "calendar.yaml").write_text(
        "extra_holidays: [2026-02-26]\n", encoding="utf-8"
    )
    assert json.loads(run(*args)[1])["due_on"] == "2026-02-27"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--service", "isdn", "--tier", "express", "--start", "2026-03-06"),
            "unknown circuit service",
        ),
        (
            ("--service", "ddn", "--tier", "rush", "--start", "2026-03-06"),
            "unknown provisioning tier",
        ),
        (("--service", "ddn", "--tier", "express", "--start", "2026-13-01"), "not a date"),
        (
            ("--service", "ddn", "--tier", "express", "--start", "2026-03-06", "--fee", "abc"),
            "not an amount",
        ),
        (
            ("--service", "ddn", "--tier", "express", "--start", "2026-03-06", "--fee", "-5"),
            "zero or more",
        ),
        (
            (
                "--service",
                "ddn",
                "--tier",
                "express",
                "--start",
                "2026-03-06",
                "--completed",
                "2026-03-01",
            ),
            "before",
        ),
        (
            ("--service", "ddn", "--tier", "express", "--start", "2026-12-28"),
            "outside the working-day calendar",
        ),
        (
            ("--service", "ddn", "--tier", "express", "--start", "2026-03-06", "--star", "9"),
            "star level",
        ),
    ],
)
def test_bad_input(tenure_home: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = run("sla", "due", *args)
    assert code == 2
    assert message in err
    assert out == ""


def test_table_json(tenure_home: Path) -> None:
    code, out, _ = run("sla", "table", "--json")
    assert code == 0
    doc = json.loads(out)
    rows = {r["tier"]: r for r in doc["tiers"]}
    assert (rows["urgent"]["digital"], rows["urgent"]["ddn"], rows["urgent"]["fr_atm"]) == (
        10,
        13,
        13,
    )
    assert doc["penalty_cap"] == 1


def test_report_from_csv(tenure_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,service,tier,one_off_fee,accepted_on,completed_on\n"
        "o1,C1,digital,express,1000,2024-09-27,2024-10-14\n"  # 3 late -> 150.00
        "o2,C1,digital,express,400,2024-11-01,2024-11-12\n"  # 2 late -> 40.00
        "o3,C2,ddn,normal,333.33,2024-09-02,2024-10-09\n"  # 2 late -> 13.33
        "o4,C3,fr-atm,urgent,100,2024-10-09,\n",  # open
        encoding="utf-8",
    )
    code, out, _ = run("sla", "report", "--orders", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["totals"]["compensation"] == pytest.approx(203.33)
    assert doc["totals"]["open_orders"] == 1
    assert sum(line["orders"] for line in doc["lines"]) == doc["totals"]["orders"] == 3
    code, out, _ = run("sla", "report", "--orders", str(path))
    assert code == 0 and "203.33" in out
    path.write_text("customer_id,service\nC1,ddn\n", encoding="utf-8")
    code, _, err = run("sla", "report", "--orders", str(path))
    assert code == 2 and "missing columns" in err


def test_operator_enterprise_yaml_from_home(tenure_home: Path) -> None:
    import yaml

    from tenure.domain.grades_enterprise import packaged_config_text

    data = yaml.safe_load(packaged_config_text())
    data["sla"]["tiers"]["express"]["working_days"]["digital"] = 3
    (tenure_home / "config").mkdir()
    (tenure_home / "config" / "enterprise.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    # Fri 27 Sep 2024 + 3 working days: Sun 29 (1), Mon 30 (2), Tue 8 Oct (3).
    code, out, _ = run(
        "sla", "due", "--service", "digital", "--tier", "express", "--start", "2024-09-27", "--json"
    )
    assert code == 0
    assert json.loads(out)["due_on"] == "2024-10-08"
    (tenure_home / "config" / "enterprise.yaml").write_text("sla: [1, 2]\n", encoding="utf-8")
    code, _, err = run("sla", "table")
    assert code == 6 and "enterprise.yaml" in err
