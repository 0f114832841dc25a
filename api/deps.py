"""Annotated dependency aliases shared by the routers."""

import base64
import json
from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel

from api import logs
from api.access import Principal
from api.config import Settings
from api.db import get_session
from api.errors import InvalidCursor, NotAuthenticated
from api.rate_limits import RateLimiter, client_address
from api.services import auth as auth_service
from api.wechat.client import WeChatClient

bearer = HTTPBearer(auto_error=False, description="登录后获得的 access_token")

# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def` one in its
# thread pool, a thread hop on every request for reading an attribute.


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_wechat(request: Request) -> WeChatClient:
    client: WeChatClient = request.app.state.wechat
    return client


async def get_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
WeChatDep = Annotated[WeChatClient, Depends(get_wechat)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


async def get_client_address(request: Request, settings: SettingsDep) -> str:
    return client_address(request, settings.trusted_proxy_hops)


ClientAddress = Annotated[str, Depends(get_client_address)]


class SignedIn(SecurityBase):
    """The signed-in member of a request: the bearer scheme of the OpenAPI contract, and the
    principal its access token names.

    One dependency where the bearer credentials, the settings and the session were three more:
    FastAPI solves each dependency of a route on every request, even one whose value it has
    already (the probe under `wrk`, one worker: 1.15 → 1.09 ms of CPU per request)."""

    def __init__(self, *, member_scheme: bool = False) -> None:
        self.model = HTTPBearerModel(description="登录后获得的 access_token")
        self.scheme_name = "HTTPBearer"
        self.member_scheme = member_scheme

    async def __call__(self, request: Request) -> Principal:
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise NotAuthenticated()
        settings: Settings = request.app.state.settings
        session = await get_session(request)
        principal = await auth_service.load_principal(
            session, settings, token, member_scheme=self.member_scheme
        )
        logs.note_member(principal.member_id)
        return principal


get_principal = SignedIn()
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
# For the routes that read the member scheme in force at the member's own unit next (their
# score, their home screen, their claims): read with the principal, one statement fewer.
get_principal_and_scheme = SignedIn(member_scheme=True)
PrincipalAndScheme = Annotated[Principal, Depends(get_principal_and_scheme)]


async def get_uploader(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    limiter: LimiterDep,
    address: ClientAddress,
) -> Principal:
    """The signed-in member of an upload, known and counted before a byte of the body is read.

    Their session is closed before the body streams in, so a slow phone holds no database
    connection while it sends.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    async with request.app.state.sessionmaker() as session:
        principal = await auth_service.load_principal(session, settings, credentials.credentials)
    logs.note_member(principal.member_id)
    await limiter.upload(address, principal.member_id)
    return principal


Uploader = Annotated[Principal, Depends(get_uploader)]


class PageParams(BaseModel):
    page: int
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


async def get_page(
    page: Annotated[int, Query(ge=1, description="页码，从 1 开始")] = 1,
    size: Annotated[int, Query(ge=1, le=100, description="每页条数，最多 100")] = 20,
) -> PageParams:
    return PageParams(page=page, size=size)


PageDep = Annotated[PageParams, Depends(get_page)]


class CursorParams(BaseModel):
    """Where a scrolled list goes on: after the row whose sort key is `after` (None: from the
    start), `size` rows."""

    after: tuple[int, ...] | None
    size: int

    def after_key(self, length: int) -> tuple[int, ...] | None:
        """The sort key of a list ordered by `length` columns; a cursor of another list is
        refused rather than read wrongly."""
        if self.after is not None and len(self.after) != length:
            raise InvalidCursor()
        return self.after


def encode_cursor(key: Sequence[int]) -> str:
    """A row's sort key as an opaque cursor (the client passes it back as it is)."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, ...]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise InvalidCursor() from exc
    if not (isinstance(key, list) and key and all(type(k) is int for k in key)):
        raise InvalidCursor()
    return tuple(key)


async def get_cursor(
    cursor: Annotated[
        str | None,
        Query(max_length=200, description="上一页返回的 next_cursor；第一页不填"),
    ] = None,
    size: Annotated[int, Query(ge=1, le=100, description="每页条数，最多 100")] = 20,
) -> CursorParams:
    return CursorParams(after=_decode_cursor(cursor) if cursor else None, size=size)


CursorDep = Annotated[CursorParams, Depends(get_cursor)]
