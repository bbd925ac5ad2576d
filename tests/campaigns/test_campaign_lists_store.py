"""Store side of the offer library, contact lists, preview cache and community-manager routing, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tenure.domain.campaigns import CampaignValidationError
from tenure.services.campaign_preview import CampaignPreviewService
from tenure.services.campaigns import CampaignService, offer_library
from tenure.services.contact_lists import ContactListService

from .campaign_builders import add_user, campaign_yaml, unique


def test_user_offers_join_the_library_and_retired_ones_stay_known(store) -> None:  # type: ignore[no-untyped-def]
    manager = add_user(store, "retention_manager")
    svc = CampaignService(store)
    offer_id = unique("o-")
    svc.add_offer(manager, "billing_retention", offer_id, "Tariff lock", 40.0, validity_days=45,
                  eligibility="churn_probability > 0.2")
    [c] = svc.import_yaml(manager, campaign_yaml(strategy="billing_retention", offer=offer_id))
    svc.retire_offer(manager, "billing_retention", offer_id)
    with store() as uow:
        lib = offer_library(uow)
    assert lib.is_retired("billing_retention", offer_id)
    assert lib.find("billing_retention", offer_id).validity_days == 45
    assert lib.find("tenure_reward", "tenure_gift").unit_cost == 30.0  # shipped offers stay in it
    assert svc.get(c.campaign.campaign_id).campaign.offer_cost == 40.0
    with pytest.raises(CampaignValidationError):
        svc.import_yaml(manager, campaign_yaml(strategy="billing_retention", offer=offer_id))


def test_list_entries_are_unique_and_uploads_idempotent(store) -> None:  # type: ignore[no-untyped-def]
    owner = add_user(store, "channel_owner")
    svc = ContactListService(store, pii_roles=("channel_owner",))
    a, b = unique("S"), unique("S")
    data = f"subscriber_id,msisdn,kind\n{a},13911112222,\n{b},,opt_out\n{a},,opt_out\n".encode()
    first = svc.upload(owner, data, "do_not_disturb", "sms")
    assert (first.added, first.duplicates, first.errors) == (3, 0, [])
    again = svc.upload(owner, data, "do_not_disturb", "sms")
    assert (again.added, again.duplicates) == (0, 3)
    assert svc.add(owner, a, "sms", "do_not_disturb") is False
    rows = svc.entries(owner, subscriber_id=a)
    assert sorted(r["kind"] for r in rows) == ["do_not_disturb", "opt_out"]
    assert {r["msisdn"] for r in rows} == {"13911112222", None}  # this role may see numbers
    counts = {(x["kind"], x["channel"]): x["entries"] for x in svc.overview(owner)}
    assert counts[("do_not_disturb", "sms")] >= 1 and counts[("opt_out", "sms")] >= 2
    removed = svc.remove(owner, rows[0]["id"])
    assert removed["subscriber_id"] == a and len(svc.entries(owner, subscriber_id=a)) == 1


def test_previews_are_stored_per_version_and_month(store) -> None:  # type: ignore[no-untyped-def]
    analyst = add_user(store, "analyst")
    calls: list[tuple[str, str]] = []

    class Planner:
        def preview(self, campaign, month):  # type: ignore[no-untyped-def]
            calls.append((campaign.campaign_id, month))
            return {"preview": {"matches": len(calls)}, "warnings": []}

    svc = CampaignPreviewService(store, Planner())
    [c] = CampaignService(store).import_yaml(analyst, campaign_yaml())
    cid = c.campaign.campaign_id
    assert svc.preview(analyst, cid, "2026-11")["preview"]["matches"] == 1
    assert svc.preview(analyst, cid, "2026-11")["cached"] is True
    assert svc.preview(analyst, cid, "2026-10")["preview"]["matches"] == 2  # another month, another preview
    CampaignService(store).import_yaml(analyst, campaign_yaml(campaign_id=cid, name="Edited"))
    fresh = svc.preview(analyst, cid, "2026-11")
    assert fresh["cached"] is False and fresh["preview"]["matches"] == 3 and len(calls) == 3
    with store() as uow:  # a preview stored by a planner that counted differently (no format recorded)
        row = CampaignPreviewService._row(uow, cid, fresh["version"], "2026-11")
        assert row is not None
        row.result = {k: v for k, v in row.result.items() if k != "preview_format"}
        uow.commit()
    again = svc.preview(analyst, cid, "2026-11")
    assert again["cached"] is False and again["preview"]["matches"] == 4 and len(calls) == 4
    assert svc.preview(analyst, cid, "2026-11")["cached"] is True


def test_portfolio_owners_by_role(store) -> None:  # type: ignore[no-untyped-def]
    customer = unique("C")
    am = add_user(store, "account_manager", customers=[customer])
    cm = add_user(store, "community_manager", customers=[customer])
    with store() as uow:
        ids = {uow.users.by_name(n).id: n for n in (am, cm)}
        by_am = uow.work_orders.portfolio_owners([customer], role="account_manager")
        by_cm = uow.work_orders.portfolio_owners([customer], role="community_manager")
        any_owner = uow.work_orders.portfolio_owners([customer])
        uow.users.by_name(cm).active = False
        uow.session.flush()
        gone = uow.work_orders.portfolio_owners([customer], role="community_manager")
    assert ids[by_am[customer]] == am and ids[by_cm[customer]] == cm
    assert ids[any_owner[customer]] == am  # the lowest user id, as before
    assert gone == {}
