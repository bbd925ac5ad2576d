"""Campaigns in the store: the approval flow with its audit trail, YAML round trip, offers, lists."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tenure.domain.campaigns import Status, load_campaigns_yaml
from tenure.domain.errors import Conflict, PermissionDenied
from tenure.services import audit
from tenure.services.campaigns import CampaignService

from .campaign_builders import add_user, campaign_dict, campaign_yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "tenure" / "campaigns" / "examples"


def test_flow_draft_to_closed_is_audited(store) -> None:  # type: ignore[no-untyped-def]
    svc = CampaignService(store)
    analyst, manager = add_user(store, "analyst"), add_user(store, "retention_manager")
    [c] = svc.import_yaml(analyst, campaign_yaml(status="running"))
    cid = c.campaign.campaign_id
    assert c.campaign.status.value == "draft"  # imports always start as drafts
    svc.submit(analyst, cid)
    with pytest.raises(PermissionDenied):
        svc.approve(analyst, cid)  # an analyst cannot approve their own campaign
    assert svc.approve(manager, cid).campaign.status.value == "approved"
    assert svc.start(manager, cid).campaign.status.value == "running"
    with pytest.raises(Conflict):
        svc.submit(manager, cid)
    final = svc.close(manager, cid)
    assert final.campaign.status.value == "closed"
    assert final.version == 5
    log = audit.entries(store(), object_type="campaign", object_id=cid)
    actions = [e.action for e in reversed(log)]
    assert actions == ["campaign.create", "campaign.submitted", "campaign.approved", "campaign.running",
                       "campaign.closed"]
    approved = next(e for e in log if e.action == "campaign.approved")
    assert approved.actor == manager and approved.before["status"] == "submitted"


def test_only_drafts_can_be_edited(store) -> None:  # type: ignore[no-untyped-def]
    svc = CampaignService(store)
    analyst = add_user(store, "analyst")
    data = campaign_dict()
    svc.import_yaml(analyst, yaml.safe_dump(data))
    edited = svc.import_yaml(analyst, yaml.safe_dump({**data, "priority": 9}))[0]
    assert edited.version == 2 and edited.campaign.priority == 9
    assert svc.import_yaml(analyst, yaml.safe_dump({**data, "priority": 9}))[0].version == 2  # no change, no bump
    svc.submit(analyst, data["campaign_id"])
    with pytest.raises(Conflict):
        svc.import_yaml(analyst, yaml.safe_dump({**data, "priority": 1}))
    log = audit.entries(store(), object_type="campaign", object_id=data["campaign_id"])
    edit = next(e for e in log if e.action == "campaign.edit")
    assert edit.before["priority"] == 5 and edit.after["priority"] == 9


def test_export_import_round_trip_of_the_examples(store) -> None:  # type: ignore[no-untyped-def]
    svc = CampaignService(store)
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert files
    originals = [c for f in files for c in load_campaigns_yaml(f.read_text(encoding="utf-8"), str(f))]
    svc.import_files(None, files)
    ids = [c.campaign_id for c in originals]
    text = svc.export_yaml(ids)
    again = {c.campaign_id: c for c in load_campaigns_yaml(text)}
    for c in originals:
        # Everything survives; the status does not: imports enter the approval flow as drafts.
        assert again[c.campaign_id] == replace(c, status=Status.DRAFT)


def test_offers_are_seeded_and_can_be_added_and_retired(store) -> None:  # type: ignore[no-untyped-def]
    svc = CampaignService(store)
    manager = add_user(store, "retention_manager")
    seeded = svc.offers()
    assert any(o["offer_id"] == "bill_credit_20" for o in seeded)
    svc.add_offer(manager, "bill_credit_promotion", "bill_credit_15", "15 yuan bill credit", 15.0)
    assert len(svc.offers()) == len(seeded) + 1
    with pytest.raises(Conflict):
        svc.add_offer(manager, "bill_credit_promotion", "bill_credit_15", "again", 15.0)
    svc.retire_offer(manager, "bill_credit_promotion", "bill_credit_20")
    active = {o["offer_id"] for o in svc.offers()}
    assert "bill_credit_20" not in active and "bill_credit_15" in active
    assert len(svc.offers(include_retired=True)) == len(seeded) + 1


def test_suppression_lists(store) -> None:  # type: ignore[no-untyped-def]
    svc = CampaignService(store)
    assert svc.suppress(None, "S-x1", "sms", "opt_out")
    assert not svc.suppress(None, "S-x1", "sms", "opt_out")
    assert svc.unsuppress(None, "S-x1", "sms", "opt_out")
    assert not svc.unsuppress(None, "S-x1", "sms", "opt_out")


def test_cli_import_approve_export(tenure_home, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import typer

    from tenure.interfaces.cli.commands import campaigns as commands
    from tenure.interfaces.cli.commands import web

    app = typer.Typer()
    commands.register(app)
    web.register(app)
    runner = CliRunner()
    files = [str(p) for p in sorted(EXAMPLES.glob("*.yaml"))]
    r = runner.invoke(app, ["campaign", "import", *files, "--json"])
    assert r.exit_code == 0, r.output
    imported = yaml.safe_load(r.stdout)
    assert len(imported) == len(files)
    cid = imported[0]["campaign_id"]
    for name, role in (("ana", "analyst"), ("rm", "retention_manager")):
        assert runner.invoke(app, ["user", "add", name, "--role", role, "--no-password"]).exit_code == 0
    assert runner.invoke(app, ["campaign", "submit", cid, "--as", "ana"]).exit_code == 0
    denied = runner.invoke(app, ["campaign", "approve", cid, "--as", "ana"])
    assert denied.exit_code != 0
    r = runner.invoke(app, ["campaign", "approve", cid, "--as", "rm", "--json"])
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(r.stdout)["status"] == "approved"
    r = runner.invoke(app, ["campaign", "list", "--json"])
    assert {d["campaign_id"]: d["status"] for d in yaml.safe_load(r.stdout)}[cid] == "approved"
    out = tmp_path / "all.yaml"
    assert runner.invoke(app, ["campaign", "export", "--all", "--out", str(out)]).exit_code == 0
    assert len(load_campaigns_yaml(out.read_text(encoding="utf-8"))) == len(files)
