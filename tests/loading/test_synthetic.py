"""The synthetic operator's dirty output: every recorded defect is set aside at its line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tenure.interfaces.cli.main import app
from tenure.services.loading import load_directory

from .conftest import read_quarantine

pytest.importorskip("tenure.synthetic")


def test_every_injected_defect_is_quarantined_at_its_line(settings, tmp_path):
    out = tmp_path / "synth"
    args = ["synth", "--subscribers", "2000", "--months", "3", "--seed", "1", "--dirty", "0.01"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    # Rows that point at a quarantined subscriber follow it into the quarantine,
    # so the share of bad rows is above the injected 1 %.
    report = load_directory(settings, out, max_bad_share=0.5)
    assert len(report.months) == 3 and all(m.published for m in report.months)
    quarantined: set[tuple[str, str, str]] = set()
    for m in report.months:
        for t in m.tables:
            assert t.read == t.loaded + t.quarantined
            if t.quarantine_file:
                quarantined |= {
                    (m.month, t.table, r["line"]) for r in read_quarantine(Path(t.quarantine_file))
                }
    with open(out / "ground_truth" / "defects.csv", encoding="utf-8", newline="") as fh:
        defects = list(csv.DictReader(fh))
    assert defects
    missed = [d for d in defects if (d["month"], d["table"], d["line"]) not in quarantined]
    assert missed == []
