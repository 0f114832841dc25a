"""The paths WeChat pushes to, one per app: URL check, then events (plain or safe mode, XML or
JSON). `/wechat/callback` is the mini-program's, `/wechat/callback/service` the service
account's; each is checked with that app's own token, safe-mode key and AppID."""

from typing import Annotated

from fastapi import BackgroundTasks, Query, Request
from fastapi.responses import PlainTextResponse

from api.db import SessionDep
from api.deps import SettingsDep
from api.models import utcnow
from api.routers import DomainRouter
from api.services import callbacks as service
from api.services.callbacks import WeChatApp

router = DomainRouter(prefix="/wechat/callback", tags=["微信推送"])

SignatureQuery = Annotated[str, Query()]
PATHS = {WeChatApp.mini: "", WeChatApp.service: "/service"}
NAMES = {WeChatApp.mini: "小程序", WeChatApp.service: "服务号"}
VERIFY = {
    WeChatApp.mini: (
        "微信服务器在配置消息推送时以 GET 校验签名，返回 echostr；签名或时间戳不对时拒绝。"
    ),
    WeChatApp.service: "微信服务器在配置服务号消息推送时以 GET 校验签名，返回 echostr。",
}
RECEIVE = {
    WeChatApp.mini: (
        "接收小程序的消息与事件推送（明文或安全模式，XML 或 JSON），"
        "校验签名、防重放后保存并在后台处理。"
    ),
    WeChatApp.service: (
        "接收服务号的消息与事件推送（关注、取消关注等），校验签名、防重放后保存并在后台处理。"
    ),
}


async def _head(request: Request, limit: int) -> bytes:
    """At most `limit` bytes of the body: enough to tell a push from something far too big."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


async def _apply_later(request: Request, app: WeChatApp, event_id: int) -> None:
    service_account = request.app.state.service_wechat
    lookup = service_account.follower_unionid if service_account else None
    async with request.app.state.sessionmaker() as session:
        await service.apply_stored(session, app, event_id, lookup)
        await session.commit()


def _routes(app: WeChatApp) -> None:
    @router.get(
        PATHS[app],
        summary=f"微信服务器配置校验（{NAMES[app]}）",
        description=VERIFY[app],
        response_class=PlainTextResponse,
        name=f"verify_{app}",
    )
    async def verify(
        settings: SettingsDep,
        signature: SignatureQuery,
        timestamp: SignatureQuery,
        nonce: SignatureQuery,
        echostr: SignatureQuery,
    ) -> PlainTextResponse:
        pushing = service.push_app(settings, app)
        service.verify_url(pushing, signature, timestamp, nonce, now=utcnow())
        return PlainTextResponse(echostr)

    @router.post(
        PATHS[app],
        summary=f"接收微信消息推送（{NAMES[app]}）",
        description=RECEIVE[app],
        response_class=PlainTextResponse,
        name=f"receive_{app}",
    )
    async def receive(
        request: Request, session: SessionDep, settings: SettingsDep, tasks: BackgroundTasks
    ) -> PlainTextResponse:
        body = await _head(request, service.MAX_PUSH_BYTES + 1)
        query, now = dict(request.query_params), utcnow()
        message = service.parse(service.push_app(settings, app), body, query, now=now)
        await service.remember_nonce(session, app, query, now=now)
        event_id = await service.store(session, message)
        if event_id is not None:
            tasks.add_task(_apply_later, request, app, event_id)
        return PlainTextResponse("success")


for _app in WeChatApp:
    _routes(_app)
