"""Model pages (registry, one model: metrics, calibration, lift, importance, drift, promote) and
the early-warning sections of the customer 360 page: manual warnings (list, raise, withdraw) and
churn reasons computed on demand (HTMX partials)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from tenure.domain.errors import InputError, PermissionDenied
from tenure.domain.roles import Permission
from tenure.interfaces.api.deps import RowId, ServicesDep
from tenure.interfaces.api.early_warning import (
    ModelName,
    ModelVersion,
    reason_service,
    warning_service,
)
from tenure.interfaces.web import charts
from tenure.interfaces.web.i18n import Formatter
from tenure.interfaces.web.pages import CsrfChecked, PageUser, locale_of, render
from tenure.services import model_report, models

router = APIRouter(include_in_schema=False)

CustomerKey = Annotated[str, Path(min_length=1, max_length=64)]


# -- the registry -------------------------------------------------------------------------------
@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    user.require(Permission.VIEW_MODELS)
    rows = models.list_models(services.settings)
    drift = model_report.latest_drift(services.settings)
    return render(request, "models.html", user, models=rows, drift=drift)


def _model_charts(doc: dict[str, Any], fmt: Formatter) -> dict[str, Markup]:
    _ = fmt.gettext
    out: dict[str, Markup] = {}
    card = doc["card"]
    report = doc["reports"][-1] if doc["reports"] else None
    # the newest held-out report if there is one, else the card's validation month
    source = report or card["metrics"]
    calib = [r for r in source.get("calibration") or [] if r["count"]]
    if calib:
        month = report["month"] if report else card["metrics"].get("validation_month")
        out["calibration"] = charts.calibration(
            "chart-calibration", _("Calibration on %(month)s") % {"month": month},
            [r["mean_predicted"] for r in calib], [r["observed_rate"] for r in calib], [r["count"] for r in calib],
            _("Mean predicted probability"), _("Observed rate"), _("Perfect calibration"))
    if report:
        d = report["deciles"]
        out["gains"] = charts.gains(
            "chart-gains", _("Lift and gains by risk decile on %(month)s") % {"month": report["month"]},
            [r["decile"] for r in d], [r["lift"] or 0 for r in d], [r["cumulative_gain"] for r in d],
            _("Lift"), _("Share of leavers caught"), _("Risk decile (1 = highest)"))
    top = doc["importance"][:20]
    if top:
        out["importance"] = charts.bar("chart-importance", _("Feature importance (share of split gain)"),
                                       [r["feature"] for r in top], {_("Share"): [round(r["share"], 4) for r in top]})
    if doc["drift"]:
        latest = doc["drift"][-1]
        feats = list(latest.get("features", {}).items())[:25]
        if feats:
            out["drift_features"] = charts.psi(
                "chart-drift-features", _("Feature PSI in %(month)s against training") % {"month": latest["month"]},
                [k for k, _v in feats], [v for _k, v in feats], doc["threshold"], _("warning at %(t)s") % {
                    "t": doc["threshold"]})
        out["drift_score"] = charts.psi(
            "chart-drift-score", _("Score PSI by scored month"), [d["month"] for d in doc["drift"]],
            [d.get("score_psi") or 0 for d in doc["drift"]], doc["threshold"],
            _("warning at %(t)s") % {"t": doc["threshold"]}, horizontal=False)
    return out


@router.get("/models/{name}/{version}", response_class=HTMLResponse)
def model_page(request: Request, name: ModelName, version: ModelVersion, user: PageUser,
               services: ServicesDep) -> HTMLResponse:
    user.require(Permission.VIEW_MODELS)
    doc = model_report.model_page(services.settings, f"{name}/{version}")
    fmt = Formatter(locale_of(request, user))
    return render(request, "model.html", user, doc=doc, card=doc["card"], charts=_model_charts(doc, fmt),
                  report=doc["reports"][-1] if doc["reports"] else None,
                  drift=doc["drift"][-1] if doc["drift"] else None)


@router.get("/models/{name}", response_class=HTMLResponse)
def model_by_name(name: ModelName, user: PageUser, services: ServicesDep) -> RedirectResponse:
    """The promoted (else newest) version of ``name``."""
    user.require(Permission.VIEW_MODELS)
    card = models.show_model(services.settings, name)
    return RedirectResponse(f"/models/{card['id']}", status_code=303)


@router.post("/models/{name}/{version}/promote", dependencies=[CsrfChecked])
def promote_model(request: Request, name: ModelName, version: ModelVersion, user: PageUser,
                  services: ServicesDep) -> Response:
    model_report.promote(services.settings, services.uow, user, f"{name}/{version}")
    return RedirectResponse(f"/models/{name}/{version}", status_code=303)


# -- manual warnings on the customer page -------------------------------------------------------
def _warnings_partial(request: Request, user: Any, services: Any, customer_id: str, error: str | None = None,
                      status_code: int = 200, form: dict | None = None) -> HTMLResponse:
    doc = warning_service(services).for_customer(user, customer_id)
    return render(request, "partials/customer_warnings.html", user, status_code=status_code, w=doc,
                  customer_id=customer_id, error=error, form=form or {})


@router.get("/customers/{customer_id}/warnings", response_class=HTMLResponse)
def customer_warnings(request: Request, customer_id: CustomerKey, user: PageUser,
                      services: ServicesDep) -> HTMLResponse:
    return _warnings_partial(request, user, services, customer_id)


@router.post("/customers/{customer_id}/warnings", response_class=HTMLResponse, dependencies=[CsrfChecked])
def raise_warning(
    request: Request, customer_id: CustomerKey, user: PageUser, services: ServicesDep,
    reason: Annotated[str, Form(max_length=32)], severity: Annotated[str, Form(max_length=2)],
    note: Annotated[str, Form(max_length=500)] = "", subscriber_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        warning_service(services).raise_warning(user, customer_id, reason, severity, note, subscriber_id or None)
    except InputError as exc:
        # the form comes back with what was typed and the reason it was refused; nothing is lost
        return _warnings_partial(request, user, services, customer_id, error=str(exc), status_code=422,
                                 form={"reason": reason, "severity": severity, "note": note,
                                       "subscriber_id": subscriber_id})
    if request.headers.get("HX-Request"):
        return _warnings_partial(request, user, services, customer_id)
    return RedirectResponse(f"/customers/{customer_id}#manual-warnings", status_code=303)


@router.post("/customers/{customer_id}/warnings/{warning_id}/withdraw", response_class=HTMLResponse,
             dependencies=[CsrfChecked])
def withdraw_warning(request: Request, customer_id: CustomerKey, warning_id: RowId, user: PageUser,
                     services: ServicesDep) -> Response:
    try:
        warning_service(services).withdraw(user, customer_id, warning_id)
    except PermissionDenied as exc:
        return _warnings_partial(request, user, services, customer_id, error=str(exc), status_code=403)
    if request.headers.get("HX-Request"):
        return _warnings_partial(request, user, services, customer_id)
    return RedirectResponse(f"/customers/{customer_id}#manual-warnings", status_code=303)


# -- churn reasons on demand on the customer page -----------------------------------------------
@router.get("/customers/{customer_id}/reasons", response_class=HTMLResponse)
def customer_reasons(request: Request, customer_id: CustomerKey, user: PageUser, services: ServicesDep,
                     subscriber_id: Annotated[str, Query(min_length=1, max_length=64)]) -> HTMLResponse:
    """The reasons of one scored subscription, for the Explain button of the churn-score section."""
    doc = reason_service(services).for_customer(user, customer_id, subscriber_id)
    return render(request, "partials/churn_reasons.html", user, r=doc)
