"""Request bodies are bounded before anything reads them: per route, by size, at the ASGI level.

A body whose `Content-Length` is over its route's cap is refused before a byte of it is read;
one sent without a length (chunked) is counted as it streams and cut at the cap, whoever reads
it (FastAPI's JSON parsing, the upload reader, the callback endpoint). Every cap is in
`body_caps`: JSON bodies are small, uploads have their own.
"""

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from fastapi.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import Settings
from api.errors import AppError, BodyTooLarge, RosterFileTooLarge
from api.photos import PhotoTooLarge
from api.services.callbacks import MAX_PUSH_BYTES

# A form's boundaries and part headers around the file (a file name may be long).
FORM_OVERHEAD: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class BodyCap:
    max_bytes: int
    refusal: Callable[[], AppError]


def photo_too_large(max_bytes: int) -> AppError:
    return PhotoTooLarge(size=megabytes(max_bytes), detail={"max_bytes": max_bytes})


def roster_too_large(max_bytes: int) -> AppError:
    return RosterFileTooLarge(size=megabytes(max_bytes), detail={"max_bytes": max_bytes})


def body_too_large(max_bytes: int) -> AppError:
    return BodyTooLarge(detail={"max_bytes": max_bytes})


def body_caps(settings: Settings, prefix: str) -> tuple[BodyCap, dict[tuple[str, str], BodyCap]]:
    """The cap of every route, by method and path template, and the cap of all the others."""
    photo, roster = settings.photo_max_bytes, settings.roster_max_bytes
    routes = {
        ("POST", f"{prefix}/photos"): BodyCap(
            photo + FORM_OVERHEAD, lambda: photo_too_large(photo)
        ),
        ("POST", f"{prefix}/org/units/{{unit_id}}/roster/previews"): BodyCap(
            roster + FORM_OVERHEAD, lambda: roster_too_large(roster)
        ),
        **{
            ("POST", f"{prefix}/wechat/callback{app}"): BodyCap(
                MAX_PUSH_BYTES, lambda: body_too_large(MAX_PUSH_BYTES)
            )
            for app in ("", "/service")
        },
    }
    default = settings.body_max_bytes
    return BodyCap(default, lambda: body_too_large(default)), routes


class BodyLimit:
    """ASGI middleware: the request's body never exceeds its route's cap, declared or streamed.

    Past the cap, `receive` raises the route's refusal, and the client gets that refusal
    whatever the application made of the interrupted read (FastAPI answers a failed body read
    with a generic 400).
    """

    def __init__(
        self, app: ASGIApp, default: BodyCap, routes: Mapping[tuple[str, str], BodyCap]
    ) -> None:
        self.app = app
        self.default = default
        self.routes = [
            (method, compile_path(path)[0], cap) for (method, path), cap in routes.items()
        ]

    def cap_for(self, method: str, path: str) -> BodyCap:
        for route_method, pattern, cap in self.routes:
            if method == route_method and pattern.match(path):
                return cap
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > cap.max_bytes:
            await _answer(cap.refusal(), scope, receive, send)
            return
        guard = _StreamGuard(cap, receive, send)
        try:
            await self.app(scope, guard.receive, guard.send)
        except Exception:
            if guard.refusal is None or guard.started:
                raise
        if guard.refusal is not None and not guard.started:
            await _answer(guard.refusal, scope, receive, send)


class _StreamGuard:
    """Counts the body as the application reads it; after the cap, holds back its answer."""

    def __init__(self, cap: BodyCap, receive: Receive, send: Send) -> None:
        self.cap = cap
        self._receive = receive
        self._send = send
        self.streamed = 0
        self.refusal: AppError | None = None
        self.started = False

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise self.refusal
        message = await self._receive()
        if message["type"] == "http.request":
            self.streamed += len(message.get("body", b""))
            if self.streamed > self.cap.max_bytes:
                self.refusal = self.cap.refusal()
                raise self.refusal
        return message

    async def send(self, message: Message) -> None:
        if self.refusal is not None and not self.started:
            return
        self.started = True
        await self._send(message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else None
    return None


async def _answer(error: AppError, scope: Scope, receive: Receive, send: Send) -> None:
    body = error.body().model_dump(mode="json")
    # The rest of the body is never read: the connection cannot carry another request.
    response = JSONResponse(body, status_code=error.status, headers={"Connection": "close"})
    await response(scope, receive, send)


def megabytes(size: int) -> str:
    return f"{math.ceil(size / (1024 * 1024))} MB"
