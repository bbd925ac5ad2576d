"""Page routes. Each parses input, calls one service and renders a template
(or only the partial when HTMX asks, ``HX-Request``)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tenure.domain.errors import AuthenticationFailed, Conflict, InputError, NotFound, TenureError
from tenure.domain.model import CHANNELS, MONTH_PATTERN
from tenure.domain.roles import Permission, Role
from tenure.interfaces.api.deps import (
    CSRF_FIELD,
    CSRF_HEADER,
    RowId,
    ServicesDep,
    check_csrf,
    csrf_token,
    session_principal,
)
from tenure.interfaces.web import charts
from tenure.interfaces.web.i18n import LANGUAGE_NAMES, LOCALES, Formatter
from tenure.services import audit
from tenure.services.auth import Principal

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.autoescape = True
TEMPLATES.env.globals["rules_available"] = True
router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """Raised by page dependencies when nobody is signed in; turned into a redirect."""


def page_user(request: Request, services: ServicesDep) -> Principal:
    principal = session_principal(request, services)
    if principal is None:
        raise SignInRequired()
    return principal


PageUser = Annotated[Principal, Depends(page_user)]


async def _csrf_form(request: Request) -> None:
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER))


CsrfChecked = Depends(_csrf_form)


def locale_of(request: Request, user: Principal | None) -> str:
    if user is not None and user.locale in LOCALES:
        return user.locale
    loc = request.session.get("locale")
    if loc in LOCALES:
        return loc
    return request.app.state.settings.default_locale


def render(request: Request, template: str, user: Principal | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    fmt = Formatter(locale_of(request, user))
    base = {
        "user": user, "fmt": fmt, "_": fmt.gettext, "csrf": csrf_token(request), "locale": fmt.locale,
        "languages": LANGUAGE_NAMES, "P": Permission, "path": request.url.path,
        "htmx": bool(request.headers.get("HX-Request")),
    }
    return TEMPLATES.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    user = None
    try:
        user = session_principal(request, request.app.state.services)
    except TenureError:
        pass
    return render(request, "error.html", user, status_code=status, status=status, message=message)


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect a signed-in user to another site.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/dashboard"
    return target


# -- sign-in -------------------------------------------------------------------
@router.get("/", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/dashboard") -> HTMLResponse:
    return render(request, "login.html", None, next=_safe_next(next), error=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfChecked])
def login(
    request: Request, services: ServicesDep,
    name: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=512)] = "/dashboard",
) -> Response:
    try:
        principal = services.auth.sign_in(name.strip(), password)
    except AuthenticationFailed as exc:
        return render(request, "login.html", None, status_code=401, next=_safe_next(next), error=str(exc), name=name)
    # A fresh session on sign-in (no fixation), with a new CSRF token.
    request.session.clear()
    request.session["user_id"] = principal.user_id
    csrf_token(request)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> RedirectResponse:
    locale = request.session.get("locale")
    request.session.clear()
    if locale:
        request.session["locale"] = locale
    return RedirectResponse("/login", status_code=303)


@router.post("/locale", dependencies=[CsrfChecked])
def switch_locale(
    request: Request, services: ServicesDep, locale: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=512)] = "/dashboard",
) -> RedirectResponse:
    if locale not in LOCALES:
        raise InputError(f"unknown language {locale!r}")
    request.session["locale"] = locale
    user = session_principal(request, services)
    if user is not None:
        services.users.update(user, user.name, locale=locale)
    return RedirectResponse(_safe_next(next), status_code=303)


# -- dashboard -------------------------------------------------------------------
@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, user: PageUser, services: ServicesDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    region: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    doc = services.dashboard.overview(user, month=month or None, region=region or None)
    fmt = Formatter(locale_of(request, user))
    figures = _dashboard_charts(doc, fmt) if not doc.get("empty") else {}
    template = "partials/dashboard_body.html" if request.headers.get("HX-Request") else "dashboard.html"
    return render(request, template, user, doc=doc, charts=figures)


def _dashboard_charts(doc: dict, fmt: Formatter) -> dict:
    _ = fmt.gettext
    out = {}
    regions = sorted({r["region"] for r in doc["subscribers"]["by_region"]})
    statuses = ("active", "suspended", "churned")
    counts = {(r["region"], r["status"]): r["n"] for r in doc["subscribers"]["by_region"]}
    out["by_region"] = charts.bar("chart-by-region", _("Subscribers by region and status"), regions,
                                  {_(s): [counts.get((r, s), 0) for r in regions] for s in statuses}, stacked=True)
    out["churn"] = charts.line("chart-churn", _("Churn rate by month"), [c["month"] for c in doc["churn"]],
                               {_("Churn rate"): [c["rate"] or 0 for c in doc["churn"]]}, percent=True)
    if doc.get("arpu"):
        out["arpu"] = charts.bar("chart-arpu", _("ARPU distribution (yuan)"), [b["bin"] for b in doc["arpu"]["bins"]],
                                 {_("Subscribers"): [b["n"] for b in doc["arpu"]["bins"]]})
    o = doc.get("output") or {}
    if o.get("core_by_grade"):
        g = o["core_by_grade"]
        out["grades"] = charts.bar("chart-grades", _("Core customers by card grade"), [_(r["grade"]) for r in g],
                                   {_("Core"): [r["core"] for r in g], _("All"): [r["all"] for r in g]})
    if o.get("stages"):
        out["stages"] = charts.pie("chart-stages", _("Lifecycle stages"),
                                   [_("stage " + s["stage"]) for s in o["stages"]], [s["n"] for s in o["stages"]])
    if o.get("transitions"):
        prev = sorted({t["previous"] for t in o["transitions"]})
        cur = sorted({t["stage"] for t in o["transitions"]})
        z = {(t["previous"], t["stage"]): t["n"] for t in o["transitions"]}
        out["transitions"] = charts.heatmap("chart-transitions", _("Stage transitions from last month"), cur, prev,
                                            [[z.get((p, c), 0) for c in cur] for p in prev], _("This month"),
                                            _("Last month"))
    if o.get("warnings_by_family"):
        w = o["warnings_by_family"]
        out["warnings"] = charts.bar("chart-warnings", _("Warnings by factor family"), [_(r["family"]) for r in w],
                                     {_("Warnings"): [r["n"] for r in w]})
    return out


# -- customers -------------------------------------------------------------------
@router.get("/search", response_class=HTMLResponse)
def search(
    request: Request, user: PageUser, services: ServicesDep, q: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    hits = services.customers.search(user, q, limit=50) if q.strip() else []
    template = "partials/search_results.html" if request.headers.get("HX-Request") else "search.html"
    return render(request, template, user, q=q, hits=hits, index_ready=services.index.month is not None or bool(hits))


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_page(request: Request, customer_id: str, user: PageUser, services: ServicesDep) -> HTMLResponse:
    doc = services.customers.customer_360(user, customer_id)
    fmt = Formatter(locale_of(request, user))
    _ = fmt.gettext
    figures = {}
    if doc["usage"]:
        months = [u["month"] for u in doc["usage"]]
        figures["revenue"] = charts.bar("chart-revenue", _("Revenue by month (yuan)"), months,
                                        {_("Revenue"): [u["revenue"] for u in doc["usage"]]})
        figures["usage"] = charts.line("chart-usage", _("Minutes of use by month"), months, {
            _("On-net"): [u["mou_onnet"] for u in doc["usage"]],
            _("Off-net"): [u["mou_offnet"] for u in doc["usage"]],
            _("All calls"): [u["mou"] for u in doc["usage"]],
        })
        figures["data"] = charts.bar("chart-data", _("Data volume by month (MB)"), months,
                                     {_("Data (MB)"): [u["data_mb"] for u in doc["usage"]]})
    return render(request, "customer.html", user, doc=doc, charts=figures, channels=CHANNELS)


# -- administration --------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def admin_users(request: Request, user: PageUser, services: ServicesDep) -> HTMLResponse:
    users = services.users.list(user)
    tokens = services.auth.list_tokens(user) if user.can(Permission.MANAGE_TOKENS) else []
    new_token = request.session.pop("new_token", None)
    return render(request, "admin_users.html", user, users=users, roles=[r.value for r in Role], tokens=tokens,
                  new_token=new_token, error=None)


def _admin_action(request: Request, user: Principal, action: Any) -> Response:
    try:
        action()
    except (InputError, Conflict, NotFound) as exc:
        services = request.app.state.services
        return render(request, "admin_users.html", user, status_code=422,
                      users=services.users.list(user), roles=[r.value for r in Role],
                      tokens=services.auth.list_tokens(user) if user.can(Permission.MANAGE_TOKENS) else [],
                      new_token=None, error=str(exc))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users", dependencies=[CsrfChecked])
def admin_add_user(
    request: Request, user: PageUser, services: ServicesDep,
    name: Annotated[str, Form(max_length=64)], role: Annotated[str, Form(max_length=32)],
    password: Annotated[str, Form(max_length=256)], display_name: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    return _admin_action(request, user, lambda: services.users.add(user, name.strip(), role, password=password,
                                                                  display_name=display_name.strip()))


@router.post("/admin/users/{name}", dependencies=[CsrfChecked])
def admin_update_user(
    request: Request, name: str, user: PageUser, services: ServicesDep,
    role: Annotated[str | None, Form(max_length=32)] = None, active: Annotated[str | None, Form()] = None,
) -> Response:
    return _admin_action(request, user, lambda: services.users.update(
        user, name, role=role or None, active=None if active is None else active == "true"))


@router.post("/admin/users/{name}/assignments", dependencies=[CsrfChecked])
def admin_assign(
    request: Request, name: str, user: PageUser, services: ServicesDep,
    customers: Annotated[str, Form(max_length=20000)] = "", regions: Annotated[str, Form(max_length=2000)] = "",
    remove: Annotated[str | None, Form()] = None,
) -> Response:
    return _admin_action(request, user, lambda: services.users.assign(
        user, name, customers=customers.replace(",", " ").split(), regions=regions.replace(",", " ").split(),
        remove=bool(remove)))


@router.post("/admin/tokens", dependencies=[CsrfChecked])
def admin_create_token(
    request: Request, user: PageUser, services: ServicesDep,
    token_user: Annotated[str, Form(max_length=64)], label: Annotated[str, Form(max_length=128)],
) -> Response:
    def create() -> None:
        token_id, clear = services.auth.create_token(user, token_user, label)
        request.session["new_token"] = {"id": token_id, "token": clear}

    return _admin_action(request, user, create)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def admin_revoke_token(request: Request, token_id: RowId, user: PageUser, services: ServicesDep) -> Response:
    return _admin_action(request, user, lambda: services.auth.revoke_token(user, token_id))


@router.get("/admin/audit", response_class=HTMLResponse)
def admin_audit(
    request: Request, user: PageUser, services: ServicesDep,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    user.require(Permission.VIEW_AUDIT)
    size = 50
    entries = audit.entries(services.uow(), limit=size + 1, offset=(page - 1) * size,
                            object_type=object_type or None, actor=actor or None)
    return render(request, "admin_audit.html", user, entries=[asdict(e) for e in entries[:size]], page=page,
                  has_more=len(entries) > size, object_type=object_type or "", actor=actor or "")
