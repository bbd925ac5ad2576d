"""Pages of the strategy library (``/offers``) and of the do-not-disturb and opt-out lists (``/contact-lists``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenure.domain.contact_policy import SUPPRESSION_KINDS
from tenure.domain.errors import Conflict, InputError, PermissionDenied
from tenure.domain.strategies import strategies
from tenure.interfaces.api.campaigns import campaign_service, contact_list_service
from tenure.interfaces.api.deps import RowId, ServicesDep
from tenure.interfaces.web.pages import CsrfChecked, PageUser, render
from tenure.services.campaigns import OFFER_ROLES
from tenure.services.contact_lists import EDIT_ROLES, LIST_CHANNELS, MAX_UPLOAD_BYTES, READ_ROLES

router = APIRouter(include_in_schema=False)

OFFER_READERS = frozenset({"administrator", "analyst", "retention_manager", "channel_owner"})
"""Roles that see the strategy library page (those who write, approve or staff campaigns)."""
SHOWN_ERRORS = 200
"""Bad lines of an upload shown on the page (the count covers all of them)."""


def _check(role: str, roles: frozenset[str], what: str) -> None:
    if role not in roles:
        raise PermissionDenied(f"your role ({role}) may not {what}")


@router.get("/offers", response_class=HTMLResponse)
def offers(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    _check(user.role, OFFER_READERS, "see the strategy library")
    rows = campaign_service(services).offers(include_retired=True)
    by_strategy: dict[str, list[dict]] = {}
    for o in rows:
        by_strategy.setdefault(o["strategy_id"], []).append(o)
    families = [(fam, [(s, by_strategy.get(s.strategy_id, [])) for s in strategies(fam)])
                for fam in ("marketing", "service")]
    return render(request, "offers.html", user, families=families, can_edit=user.role in OFFER_ROLES,
                  all_strategies=strategies(), message=request.session.pop("offers_message", None),
                  error=request.session.pop("offers_error", None))


@router.post("/offers", dependencies=[CsrfChecked])
def add_offer(
    request: Request, user: PageUser, services: ServicesDep,
    strategy_id: Annotated[str, Form(max_length=64)],
    offer_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=255)],
    unit_cost: Annotated[float, Form(ge=0, le=1_000_000)],
    validity_days: Annotated[int, Form(ge=1, le=3660)] = 30,
    name_zh: Annotated[str, Form(max_length=255)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    eligibility: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _check(user.role, OFFER_ROLES, "change the strategy library")
    try:
        o = campaign_service(services).add_offer(user.name, strategy_id, offer_id, name, unit_cost, validity_days,
                                                 name_zh, description, eligibility)
        request.session["offers_message"] = f"{o['strategy_id']}/{o['offer_id']}"
    except (InputError, Conflict) as exc:
        request.session["offers_error"] = str(exc)  # the form's values are re-entered; nothing was stored
    return RedirectResponse("/offers", status_code=303)


@router.post("/offers/{strategy_id}/{offer_id}/retire", dependencies=[CsrfChecked])
def retire_offer(strategy_id: str, offer_id: str, user: PageUser, services: ServicesDep) -> Response:
    _check(user.role, OFFER_ROLES, "change the strategy library")
    campaign_service(services).retire_offer(user.name, strategy_id, offer_id)
    return RedirectResponse("/offers", status_code=303)


@router.get("/contact-lists", response_class=HTMLResponse)
def contact_lists(request: Request, user: PageUser, services: ServicesDep, kind: str | None = None,
                  channel: str | None = None, subscriber_id: str | None = None) -> HTMLResponse:
    _check(user.role, READ_ROLES, "see the contact lists")
    return _lists_page(request, user, services, kind, channel, subscriber_id,
                       message=request.session.pop("list_message", None), error=request.session.pop("list_error", None))


def _lists_page(request: Request, user, services, kind: str | None = None,  # type: ignore[no-untyped-def]
                channel: str | None = None, subscriber_id: str | None = None, upload: dict | None = None,
                message: str | None = None, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    kind = kind if kind in SUPPRESSION_KINDS else None
    channel = channel if channel in LIST_CHANNELS else None
    svc = contact_list_service(services)
    return render(request, "contact_lists.html", user, status_code=status_code, lists=svc.overview(user.name),
                  entries=svc.entries(user.name, kind, channel, (subscriber_id or "").strip()[:64] or None),
                  kinds=SUPPRESSION_KINDS, channels=LIST_CHANNELS, kind=kind, channel=channel,
                  subscriber_id=subscriber_id or "", can_edit=user.role in EDIT_ROLES,
                  upload=upload, message=message, error=error)


@router.post("/contact-lists", dependencies=[CsrfChecked])
def add_entry(
    request: Request, user: PageUser, services: ServicesDep,
    subscriber_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=16)],
    channel: Annotated[str, Form(max_length=32)] = "*",
    msisdn: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    _check(user.role, EDIT_ROLES, "change the contact lists")
    try:
        added = contact_list_service(services).add(user.name, subscriber_id, channel, kind, msisdn or None)
        request.session["list_message"] = "added" if added else "already listed"
    except InputError as exc:
        request.session["list_error"] = str(exc)
    return RedirectResponse("/contact-lists", status_code=303)


@router.post("/contact-lists/{entry_id}/remove", dependencies=[CsrfChecked])
def remove_entry(request: Request, entry_id: RowId, user: PageUser, services: ServicesDep) -> Response:
    _check(user.role, EDIT_ROLES, "change the contact lists")
    contact_list_service(services).remove(user.name, entry_id)
    request.session["list_message"] = "removed"
    return RedirectResponse("/contact-lists", status_code=303)


@router.post("/contact-lists/upload", dependencies=[CsrfChecked])
def upload(
    request: Request, user: PageUser, services: ServicesDep,
    file: Annotated[UploadFile, File()],
    kind: Annotated[str, Form(max_length=16)],
    channel: Annotated[str, Form(max_length=32)] = "*",
) -> Response:
    """The page again, with the upload's counts and its bad lines (line number and reason)."""
    _check(user.role, EDIT_ROLES, "change the contact lists")
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    try:
        result = contact_list_service(services).upload(user.name, data, kind, channel,
                                                       source=(file.filename or "upload")[:128]).to_dict()
    except InputError as exc:
        return _lists_page(request, user, services, error=str(exc), status_code=400)
    shown = {**result, "errors": result["errors"][:SHOWN_ERRORS], "bad_lines": len(result["errors"]),
             "file": file.filename or ""}
    return _lists_page(request, user, services, upload=shown)
