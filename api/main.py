"""The application factory: settings, lifespan resources, error rendering, routers."""

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import console, contract, docs, logs
from api.config import Settings, get_settings
from api.db import SessionRoute, create_engine, create_sessionmaker, pool_sizes
from api.errors import (
    AppError,
    Conflict,
    ErrorBody,
    InternalError,
    InvalidJson,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    TooManyItems,
    ValidationFailed,
    error_catalogue,
)
from api.limits import BodyLimit, body_caps
from api.photos import PhotoDecoder, return_large_buffers_to_the_system
from api.rate_limits import RateLimiter
from api.routers import (
    appeals,
    auth,
    callbacks,
    claims,
    commitments,
    deductions,
    evaluations,
    follow_up,
    health,
    home,
    ledger,
    meetings,
    members,
    notices,
    org,
    periods,
    photos,
    publication,
    roster,
    schemes,
    sessions,
    share,
    templates,
    wishes,
)
from api.schemas.values import FORMATS
from api.storage import open_photo_store
from api.telemetry import RequestTelemetry, route_templates
from api.validation import describe, summary
from api.wechat.client import WeChatClient
from api.wechat.tokens import DatabaseTokenStore

API_PREFIX = "/api/v1"
ROUTED_DOMAINS = (
    auth,
    sessions,
    members,
    home,
    org,
    roster,
    schemes,
    periods,
    ledger,
    photos,
    claims,
    deductions,
    appeals,
    follow_up,
    notices,
    wishes,
    commitments,
    evaluations,
    meetings,
    templates,
    callbacks,
    publication,
    share,
)
log = logging.getLogger("api")


def create_app(
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
    *,
    serving: bool = False,
) -> FastAPI:
    """Build the app; tests pass their own settings and an httpx client wired to a fake WeChat.

    `serving`: the app is the process's only one and lives as long as it (uvicorn's `app`), so
    what it builds at startup is settled out of the garbage collector's way.
    """
    settings = settings or get_settings()
    logs.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url, **pool_sizes(settings))
        client = http or httpx.AsyncClient()
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        tokens = DatabaseTokenStore(app.state.sessionmaker, settings)
        app.state.wechat = WeChatClient(settings, client, store=tokens)
        app.state.service_wechat = (
            WeChatClient(
                settings,
                client,
                settings.service_app_id,
                settings.service_app_secret.get_secret_value(),
                tokens,
            )
            if settings.service_app_id
            else None
        )
        app.state.photo_decoder = PhotoDecoder(settings.photo_limits, settings.photo_decodes)
        return_large_buffers_to_the_system()
        app.state.limiter = RateLimiter(app.state.sessionmaker, settings)
        if serving:
            settle_startup_heap()
        try:
            async with open_photo_store(settings) as store:
                app.state.photos = store
                yield
        finally:
            if http is None:
                await client.aclose()
            await engine.dispose()

    app = PioneerAPI(
        hsts=settings.env == "prod",
        title=TITLE,
        version="1.0.0",
        description=_description(),
        lifespan=lifespan,
        openapi_tags=contract.TAGS,
        generate_unique_id_function=contract.operation_id,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    default_cap, route_caps = body_caps(settings, API_PREFIX)
    app.add_middleware(BodyLimit, default=default_cap, routes=route_caps)
    _install_error_handlers(app)
    routers = [(health.router, ""), *((module.router, API_PREFIX) for module in ROUTED_DOMAINS)]
    for router, prefix in routers:
        router.mount_at(prefix)
        app.include_router(router, prefix=prefix)
    contract.declare_errors(routers, route_caps, default_cap)
    app.route_templates = route_templates(routers)
    if settings.docs_enabled:
        docs.install(app, title=TITLE)
    console.install(app, settings.console_dir)
    return app


TITLE = "先锋积分 · Pioneer Points API"


# The API answers JSON (and images, sheets): nothing in it may run, load or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Swagger UI and ReDoc, every asset ours: their scripts style elements inline, and ReDoc runs
# a worker from a blob.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The console: its own scripts and styles only, images of ours (photos, posters, the QR code
# it draws), and requests to this service alone.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "manifest-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
# Pages with a policy of their own, by path prefix; everything else is the API's.
PAGE_POLICIES = (
    ((docs.DOCS_URL, docs.REDOC_URL), DOCS_CSP),
    ((console.CONSOLE_URL,), CONSOLE_CSP),
)


class SecurityHeaders:
    """Adds the security headers to every response, the pages with their own policy."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode()))
        self.app = app
        self.api = [*common, (b"content-security-policy", API_CSP.encode())]
        self.pages = [
            (prefixes, [*common, (b"content-security-policy", policy.encode())])
            for prefixes, policy in PAGE_POLICIES
        ]

    def _headers(self, path: str) -> list[tuple[bytes, bytes]]:
        for prefixes, headers in self.pages:
            if any(path == prefix or path.startswith(f"{prefix}/") for prefix in prefixes):
                return headers
        return self.api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        added = self._headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PioneerAPI(FastAPI):
    """FastAPI with the security headers and the request's telemetry (its id, access line and
    metrics) outside everything else, so that even the answer to an unexpected error (written
    by the outermost middleware) carries them."""

    def __init__(self, *, hsts: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.router.route_class = SessionRoute  # for routes added to the app itself
        self.hsts = hsts
        self.route_templates: dict[int, str] = {}

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = contract.complete(super().openapi())
        return self.openapi_schema

    def build_middleware_stack(self) -> ASGIApp:
        stack = RequestTelemetry(super().build_middleware_stack(), self.route_templates)
        return SecurityHeaders(stack, hsts=self.hsts)


def _description() -> str:
    rows = "\n".join(
        f"| `{error.code}` | {error.status} | {error.message} |" for error in error_catalogue()
    )
    return (
        "党员积分制管理小程序的后端接口。所有错误都以 `{code, message, detail, request_id}` 返回，"
        "`message` 可直接展示给用户。每个接口按状态码列出它可能返回的错误码（由代码推导），"
        "下表是全部错误码。\n\n"
        + FORMATS
        + "\n\n| code | HTTP | message |\n| --- | --- | --- |\n"
        + rows
    )


def _render(error: AppError) -> JSONResponse:
    return JSONResponse(
        status_code=error.status,
        content=error.body().model_dump(mode="json"),
        headers=error.headers,
    )


def _install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return _render(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        broken = [e for e in errors if e.get("type") == "json_invalid"]
        if broken:
            error = broken[0]
            where = {"position": error["loc"][-1], "reason": str(error.get("ctx", {}).get("error"))}
            return _render(InvalidJson(detail=where))
        problems = [describe(error) for error in errors]
        return _render(ValidationFailed(problems=summary(problems), detail=problems))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _render(NotFound())
        if exc.status_code == 405:
            return _render(MethodNotAllowed())
        if exc.status_code == 400:
            # FastAPI's answer to a body it cannot even decode (bytes that are not UTF-8): for
            # the client, JSON it sent and we could not read.
            return _render(InvalidJson())
        return JSONResponse(
            status_code=exc.status_code,
            content=ErrorBody(
                code=contract.HTTP_ERROR, message="请求有误", detail=exc.detail
            ).model_dump(),
        )

    async def on_integrity(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IntegrityError)
        log.warning("integrity error turned into 409: %s", _constraint_violated(exc))
        return _render(Conflict())

    async def on_database(_request: Request, exc: Exception) -> JSONResponse:
        """A lost or refused database connection: the change rolled back, the client retries."""
        assert isinstance(exc, DBAPIError)
        if refusal := _unstorable(exc):
            log.warning("unstorable value turned into 422: %s", exc)
            return _render(ValidationFailed(problems=refusal))
        if _over_driver_limit(exc):
            log.warning("statement over the driver's limits turned into 422: %s", exc)
            return _render(TooManyItems())
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            log.warning("database unavailable: %s", exc)
            return _render(ServiceUnavailable(detail={"database": "unavailable"}))
        log.exception("database error", exc_info=exc)
        return _render(InternalError())

    async def on_out_of_range(_request: Request, exc: Exception) -> JSONResponse:
        """A number the database cannot hold (an id of 10**30): bad input, not a server fault."""
        log.warning("out-of-range value turned into 422: %s", exc)
        return _render(ValidationFailed(problems=OUT_OF_RANGE))

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _render(InternalError())

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(IntegrityError, on_integrity)
    app.add_exception_handler(DBAPIError, on_database)
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(Exception, on_unexpected)


OUT_OF_RANGE = "数值超出范围"
# PostgreSQL's character_not_in_repertoire (a NUL in text) and untranslatable_character.
_UNSTORABLE_TEXT = {"22021", "22P05"}


def _unstorable(exc: BaseException) -> str | None:
    """Why the database refused a value from the request, if it did: a number beyond its
    integers (asyncpg's "value out of int32 range") or text it cannot hold (NUL)."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OverflowError):
            return OUT_OF_RANGE
        if getattr(cause, "sqlstate", None) in _UNSTORABLE_TEXT:
            return "含有无法保存的字符"
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _constraint_violated(exc: IntegrityError) -> str:
    """The driver's one-line reason (the constraint), never the statement's values or the
    database's DETAIL line, which quotes the row."""
    lines = str(exc.orig).strip().splitlines()
    return f"{type(exc.orig).__name__}: {lines[0] if lines else ''}"


# The drivers' words for a statement with more bound values or terms than they take: asyncpg
# ("the number of query arguments cannot exceed 32767"), SQLite ("too many SQL variables",
# "Expression tree is too large", "too many terms in compound SELECT"). Only a request with too
# many items makes one; the service is fine.
_DRIVER_LIMITS = re.compile(
    r"number of query arguments cannot exceed|too many SQL variables"
    r"|Expression tree is too large|too many terms in compound SELECT",
    re.IGNORECASE,
)


def _over_driver_limit(exc: DBAPIError) -> bool:
    return bool(_DRIVER_LIMITS.search(str(exc.orig)))


def settle_startup_heap() -> None:
    """Keep the cyclic garbage collector off what every request shares.

    The route table, the models, the schemas and validators of every body live as long as the
    process, yet each full collection walked all of them again: a pause of every request in
    flight, the tail of the latency. Frozen after startup, they are never walked; the youngest
    generation is collected after 20 000 allocations rather than 700, which the short-lived
    objects of one request seldom reach, and the older ones twice as seldom as by default, as
    little now survives to them (the probe under `wrk`: 530 → 720 req/s, p99 95 → 50 ms;
    bench/RESULTS.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


app = create_app(serving=True)
