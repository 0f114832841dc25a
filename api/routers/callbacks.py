"""The one endpoint WeChat pushes to: URL check, then events (plain or safe mode, XML or JSON)."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import PlainTextResponse

from api.db import SessionDep
from api.deps import SettingsDep
from api.models import CallbackEvent
from api.services import callbacks as service

router = APIRouter(prefix="/wechat/callback", tags=["wechat"])

# The replies are plain text, but errors are JSON like everywhere else; without this the app-wide
# 4XX entry would take this route's media type and promise errors as text/plain.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {
        "description": "错误（见上方错误码表）",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
}


@router.get(
    "",
    summary="微信服务器配置校验",
    response_class=PlainTextResponse,
    responses=JSON_ERRORS,
)
async def verify(
    settings: SettingsDep,
    signature: Annotated[str, Query()],
    timestamp: Annotated[str, Query()],
    nonce: Annotated[str, Query()],
    echostr: Annotated[str, Query()],
) -> PlainTextResponse:
    service.verify_url(settings, signature, timestamp, nonce)
    return PlainTextResponse(echostr)


async def _head(request: Request, limit: int) -> bytes:
    """At most `limit` bytes of the body: enough to tell a push from something far too big."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


async def _apply_later(request: Request, event_id: int) -> None:
    async with request.app.state.sessionmaker() as session:
        event = await session.get(CallbackEvent, event_id)
        if event is not None:
            service_account = request.app.state.service_wechat
            lookup = service_account.follower_unionid if service_account else None
            await service.apply(session, event.payload, lookup)
            await session.commit()


@router.post(
    "",
    summary="接收微信消息推送",
    response_class=PlainTextResponse,
    responses=JSON_ERRORS,
)
async def receive(
    request: Request, session: SessionDep, settings: SettingsDep, tasks: BackgroundTasks
) -> PlainTextResponse:
    body = await _head(request, service.MAX_PUSH_BYTES + 1)
    message = service.parse(settings, body, dict(request.query_params))
    event_id = await service.store(session, message)
    if event_id is not None:
        tasks.add_task(_apply_later, request, event_id)
    return PlainTextResponse("success")
