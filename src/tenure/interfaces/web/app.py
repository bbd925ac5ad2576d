"""The web application: server-rendered pages (Jinja2 + HTMX) and the JSON API, one process."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from tenure.bootstrap import Services, build
from tenure.config import Settings
from tenure.domain.errors import TenureError
from tenure.interfaces.api.campaigns import router as campaigns_api_router
from tenure.interfaces.api.early_warning import router as early_warning_api_router
from tenure.interfaces.api.enterprise import router as enterprise_api_router
from tenure.interfaces.api.errors import error_body, status_for
from tenure.interfaces.api.evaluation import router as evaluation_api_router
from tenure.interfaces.api.events import router as events_api_router
from tenure.interfaces.api.insight import router as insight_api_router
from tenure.interfaces.api.routes import router as api_router
from tenure.interfaces.api.rules import router as rules_api_router
from tenure.interfaces.api.trigger_ops import router as trigger_ops_api_router
from tenure.interfaces.web import i18n
from tenure.interfaces.web.campaign_pages import router as campaign_pages_router
from tenure.interfaces.web.enterprise_pages import router as enterprise_pages_router
from tenure.interfaces.web.evaluation_pages import router as evaluation_pages_router
from tenure.interfaces.web.insight_pages import router as insight_pages_router
from tenure.interfaces.web.model_pages import router as model_pages_router
from tenure.interfaces.web.offer_list_pages import router as offer_list_pages_router
from tenure.interfaces.web.pages import SignInRequired, render_error
from tenure.interfaces.web.pages import router as pages_router
from tenure.interfaces.web.rules_pages import router as rules_pages_router
from tenure.interfaces.web.trigger_pages import router as trigger_pages_router

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the application for ``settings`` (``services`` may be given, e.g. by tests)."""
    i18n.compile_catalogues()
    services = services or build(settings)
    def _warm_read_model() -> None:
        # Build the customer read model now rather than on the first customer page.
        try:
            with services.index.cursor():
                pass
        except Exception:  # a failure here shows again, with its message, on first use
            log.exception("could not prepare the customer read model")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_warm_read_model, name="read-model", daemon=True).start()
        yield
        services.index.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Tenure",
        version="0.1.0",
        description="Customer lifecycle management and retention for telecom operators: JSON API.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.services = services
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie="tenure_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.https_only_cookies,
    )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    # Registered before the /static mount, which would otherwise answer first.
    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    app.include_router(api_router)
    app.include_router(rules_api_router)
    app.include_router(pages_router)
    app.include_router(rules_pages_router)
    app.include_router(campaigns_api_router)
    app.include_router(campaign_pages_router)
    app.include_router(offer_list_pages_router)
    app.include_router(enterprise_api_router)
    app.include_router(events_api_router)
    app.include_router(enterprise_pages_router)
    app.include_router(evaluation_api_router)
    app.include_router(evaluation_pages_router)
    app.include_router(trigger_ops_api_router)
    app.include_router(trigger_pages_router)
    app.include_router(insight_api_router)
    app.include_router(insight_pages_router)
    app.include_router(early_warning_api_router)
    app.include_router(model_pages_router)

    def _is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(TenureError)
    async def _tenure_error(request: Request, exc: TenureError) -> Response:
        status = status_for(exc)
        if _is_api(request):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            return JSONResponse(error_body(exc), status_code=status, headers=headers)
        return render_error(request, status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "HTTPError", "detail": exc.detail}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return render_error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "InputError", "detail": jsonable_errors(exc)}, status_code=422)
        return render_error(request, 422, "; ".join(str(e.get("msg")) for e in exc.errors()))

    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict]:
    return [{"loc": list(map(str, e.get("loc", ()))), "msg": str(e.get("msg"))} for e in exc.errors()]
