"""Every request's id, access line and metrics, outside everything else in the app.

The request gets its id first (the caller's `X-Request-ID` when well-formed, else a new one),
so every line logged while it is served, and its answer's headers and error body, carry it,
even an answer to an unexpected error. It ends with one access line and the request counted
by route template and status: no query, no work that grows with the request.
"""

import logging
import time
from collections.abc import Iterable, Mapping

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import logs, metrics

log = logging.getLogger("api.access")
HEADER = b"x-request-id"
UNMATCHED = "unmatched"  # no route: the path is not a label (any client could invent one)
# Probes and scrapes come every few seconds: their access lines are DEBUG.
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# HTTP allows any token as a method: others are one label, not one each.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_templates(routers: Iterable[tuple[APIRouter, str]]) -> dict[int, str]:
    """Each route's full template (`/api/v1/members/{member_id}`), by the route object the
    router puts in the scope (FastAPI keeps an included router's routes with their own path,
    without the prefix)."""
    return {
        id(route): prefix + route.path
        for router, prefix in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    }


class RequestTelemetry:
    def __init__(self, app: ASGIApp, templates: Mapping[int, str]) -> None:
        self.app = app
        self.templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = logs.request_id_from(_header(scope, HEADER))
        context = logs.begin(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _record(scope, self._route(scope), status, time.perf_counter() - started)
            logs.end(context)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")
        found = self.templates.get(id(route)) or getattr(route, "path", None)
        return found or UNMATCHED


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _record(scope: Scope, route: str, status: int, elapsed: float) -> None:
    method = scope["method"] if scope["method"] in METHODS else "other"
    metrics.REQUESTS.labels(method, route, str(status)).inc()
    metrics.LATENCY.labels(method, route).observe(elapsed)
    query = scope.get("query_string", b"").decode("latin-1")
    path = logs.redact(f"{scope['path']}?{query}") if query else scope["path"]
    client = scope.get("client")
    log.log(
        logging.DEBUG if scope["path"] in QUIET_PATHS else logging.INFO,
        "%s %s %d",
        method,
        path,
        status,
        extra={
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": round(elapsed * 1000, 1),
            "client": client[0] if client else None,
        },
    )
