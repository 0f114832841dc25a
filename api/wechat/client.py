"""An async client for the WeChat server APIs the service calls, over one shared httpx client.

Every WeChat API answers HTTP 200 with `errcode`/`errmsg`; a non-zero `errcode` is an error and is
turned into an `AppError` the mini-program can show. Busy answers (-1) are retried a few times; an
access token WeChat calls stale is reloaded once through `stable_token` (normal mode, which never
invalidates the token other workers hold).
"""

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from api.config import Settings
from api.errors import (
    AppError,
    WeChatBusy,
    WeChatCodeInvalid,
    WeChatError,
    WeChatNotConfigured,
    WeChatPageInvalid,
    WeChatRateLimited,
    WeChatUnavailable,
    WeChatUserBlocked,
)
from api.wechat.tokens import TokenStore

BUSY = -1
STALE_TOKEN_CODES = frozenset({40001, 40014, 42001})
ERRORS_BY_CODE: dict[int, type[AppError]] = {
    40029: WeChatCodeInvalid,
    40163: WeChatCodeInvalid,  # code already used
    45011: WeChatRateLimited,
    45009: WeChatRateLimited,
    40226: WeChatUserBlocked,
    41030: WeChatPageInvalid,  # getwxacodeunlimit: the page is not in the published version
    40165: WeChatPageInvalid,  # generate_urllink: the same
}
TOKEN_REFRESH_MARGIN_SECONDS = 300
# getwxacodeunlimit answers the image itself (JSON only for an error); a 430 px code is some
# 50 KB, and an answer is read no further than this.
CODE_WIDTH = 430
IMAGE_LIMIT = 1_000_000
IMAGE = "image"


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str
    unionid: str | None


class WeChatCallFailed(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    def as_app_error(self) -> AppError:
        error = ERRORS_BY_CODE.get(
            self.errcode, WeChatBusy if self.errcode == BUSY else WeChatError
        )
        return error(detail={"errcode": self.errcode, "errmsg": self.errmsg})


# Failures after the request went out: WeChat may have acted on it without our hearing back.
UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)


class WeChatClient:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient,
        app_id: str | None = None,
        app_secret: str | None = None,
        store: TokenStore | None = None,
    ) -> None:
        """The mini-program's client by default; pass the service account's credentials for
        a client that sends service-account template messages with its own token."""
        self._settings = settings
        self._http = http
        self._app_id = settings.wechat_app_id if app_id is None else app_id
        self._app_secret = (
            settings.wechat_app_secret.get_secret_value() if app_secret is None else app_secret
        )
        self._base = settings.wechat_api_base.rstrip("/")
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._token_lock = asyncio.Lock()
        self._store = store

    async def code_to_session(self, js_code: str) -> WeChatSession:
        """`wx.login` code → openid and session_key (the code works once, for 5 minutes)."""
        params = {
            "appid": self._app_id,
            "secret": self._app_secret,
            "js_code": js_code,
            "grant_type": "authorization_code",
        }
        body = await self._call("GET", "/sns/jscode2session", params=params)
        openid, session_key = body.get("openid"), body.get("session_key")
        if not isinstance(openid, str) or not isinstance(session_key, str):
            raise WeChatError(detail={"reason": "code2Session answered without openid"})
        unionid = body.get("unionid")
        return WeChatSession(openid, session_key, unionid if isinstance(unionid, str) else None)

    async def phone_number(self, phone_code: str) -> str:
        """`getPhoneNumber` code → the bare phone number (no country code)."""
        body = await self._call_with_token(
            "POST", "/wxa/business/getuserphonenumber", json={"code": phone_code}
        )
        info = body.get("phone_info") or {}
        phone = info.get("purePhoneNumber") or info.get("phoneNumber")
        if not phone:
            raise WeChatError(detail={"reason": "getuserphonenumber answered without a number"})
        return str(phone)

    async def access_token(self) -> str:
        async with self._token_lock:
            if self._token and time.monotonic() < self._token_expires_at:
                return self._token
            if self._store is None:
                token, expires_in = await self._stable_token()
            else:
                token, expires_at = await self._store.token(self._app_id, self._stable_token)
                expires_in = int((expires_at - datetime.now(UTC)).total_seconds())
            lifetime = max(expires_in - TOKEN_REFRESH_MARGIN_SECONDS, 60)
            self._token, self._token_expires_at = token, time.monotonic() + lifetime
            return token

    async def _stable_token(self) -> tuple[str, int]:
        """`stable_token` in normal mode; never `force_refresh`, which breaks other holders."""
        body = await self._call(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self._app_id,
                "secret": self._app_secret,
                "force_refresh": False,
            },
        )
        token, expires_in = body.get("access_token"), body.get("expires_in", 7200)
        if not isinstance(token, str):
            raise WeChatError(detail={"reason": "stable_token answered without a token"})
        return token, int(expires_in)

    async def send_subscribe(
        self, openid: str, template_id: str, page: str, data: dict[str, Any], state: str
    ) -> str | None:
        """小程序订阅消息; returns WeChat's msgid when it gives one."""
        body = await self._call_with_token(
            "POST",
            "/cgi-bin/message/subscribe/send",
            json={
                "touser": openid,
                "template_id": template_id,
                "page": page,
                "miniprogram_state": state,
                "lang": "zh_CN",
                "data": data,
            },
        )
        msgid = body.get("msgid")
        return str(msgid) if msgid is not None else None

    async def send_template(
        self,
        openid: str,
        template_id: str,
        mini_app_id: str,
        page: str,
        data: dict[str, Any],
        client_msg_id: str,
    ) -> str | None:
        """服务号模板消息 opening the mini-program; `client_msg_id` makes a resend a no-op."""
        body = await self._call_with_token(
            "POST",
            "/cgi-bin/message/template/send",
            json={
                "touser": openid,
                "template_id": template_id,
                "miniprogram": {"appid": mini_app_id, "pagepath": page},
                "client_msg_id": client_msg_id,
                "data": data,
            },
        )
        msgid = body.get("msgid")
        return str(msgid) if msgid is not None else None

    async def follower_unionid(self, openid: str) -> str | None:
        """服务号 user/info: the follower's unionid (present when both apps share an Open
        Platform account)."""
        body = await self._call_with_token(
            "GET", "/cgi-bin/user/info", params_extra={"openid": openid, "lang": "zh_CN"}
        )
        unionid = body.get("unionid")
        return str(unionid) if unionid else None

    async def wxacode_unlimited(
        self, scene: str, *, page: str, check_path: bool, env_version: str
    ) -> bytes:
        """小程序码 (getwxacodeunlimit) opening `page` with `scene`: the image's bytes."""
        body = await self._call_with_token(
            "POST",
            "/wxa/getwxacodeunlimit",
            json={
                "scene": scene,
                "page": page,
                "check_path": check_path,
                "env_version": env_version,
                "width": CODE_WIDTH,
            },
            image=True,
        )
        image = body.get(IMAGE)
        if not isinstance(image, bytes):
            raise WeChatError(detail={"reason": "getwxacodeunlimit answered without an image"})
        return image

    async def generate_urllink(self, *, path: str, query: str, env_version: str, days: int) -> str:
        """URL Link (generate_urllink): a https link that opens `path?query` from outside
        WeChat, valid for `days` (WeChat: 30 at most)."""
        body = await self._call_with_token(
            "POST",
            "/wxa/generate_urllink",
            json={
                "path": path,
                "query": query,
                "env_version": env_version,
                "expire_type": 1,
                "expire_interval": days,
            },
        )
        link = body.get("url_link")
        if not isinstance(link, str) or not link.startswith("https://") or len(link) > 200:
            raise WeChatError(detail={"reason": "generate_urllink answered without a link"})
        return link

    async def forget_access_token(self, stale: str) -> None:
        """WeChat called `stale` invalid: drop it, here and in the store, unless a fresh one
        has replaced it. Under the token's lock, so that no call takes it from the store again
        while it is being dropped."""
        async with self._token_lock:
            if self._token == stale:
                self._token = None
            if self._store is not None:
                await self._store.forget(self._app_id, stale)

    async def _call_with_token(
        self,
        method: str,
        path: str,
        params_extra: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        for attempt in range(2):
            token = await self.access_token()
            params = {"access_token": token, **(params_extra or {})}
            try:
                return await self._call(method, path, params=params, **kwargs)
            except AppError as error:
                errcode = (error.detail or {}).get("errcode")
                if attempt == 0 and errcode in STALE_TOKEN_CODES:
                    await self.forget_access_token(token)
                    continue
                raise
        raise AssertionError("unreachable")

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        if not self._app_id:
            raise WeChatNotConfigured()
        retries = self._settings.wechat_busy_retries
        for attempt in range(retries + 1):
            try:
                return await self._request(method, path, **kwargs)
            except WeChatCallFailed as failure:
                if failure.errcode == BUSY and attempt < retries:
                    await asyncio.sleep(self._settings.wechat_retry_backoff_seconds * (attempt + 1))
                    continue
                raise failure.as_app_error() from failure
        raise AssertionError("unreachable")

    async def _request(
        self, method: str, path: str, *, image: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """WeChat's JSON answer; with `image`, an image answer as `{IMAGE: bytes}`."""
        if image:
            return _checked(await self._image_or_json(method, path, **kwargs))
        try:
            response = await self._http.request(
                method, self._base + path, timeout=self._settings.wechat_timeout_seconds, **kwargs
            )
            if response.status_code >= 500:
                raise WeChatUnavailable(detail={"status": response.status_code})
            body = response.json()
        except httpx.HTTPError as exc:
            detail: dict[str, Any] = {"reason": type(exc).__name__}
            if isinstance(exc, UNANSWERED):
                detail["unanswered"] = True
            raise WeChatUnavailable(detail=detail) from exc
        except ValueError as exc:
            raise WeChatError(detail={"reason": "answer is not JSON"}) from exc
        return _checked(body)

    async def _image_or_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """An answer that is an image on success and JSON on failure, read at most
        IMAGE_LIMIT bytes far."""
        try:
            async with self._http.stream(
                method, self._base + path, timeout=self._settings.wechat_timeout_seconds, **kwargs
            ) as response:
                if response.status_code >= 500:
                    raise WeChatUnavailable(detail={"status": response.status_code})
                content = bytearray()
                async for chunk in response.aiter_bytes():
                    content += chunk
                    if len(content) > IMAGE_LIMIT:
                        raise WeChatError(detail={"reason": "answer is too large"})
                kind = response.headers.get("content-type", "")
        except httpx.HTTPError as exc:
            raise WeChatUnavailable(detail={"reason": type(exc).__name__}) from exc
        if kind.startswith("image/"):
            return {IMAGE: bytes(content)}
        try:
            return json.loads(content)
        except ValueError as exc:
            raise WeChatError(detail={"reason": "answer is neither an image nor JSON"}) from exc


def _checked(body: Any) -> dict[str, Any]:
    """The answer, unless it is not an object or carries a non-zero errcode."""
    if not isinstance(body, dict):
        raise WeChatError(detail={"reason": "answer is not a JSON object"})
    errcode = body.get("errcode", 0)
    if errcode:
        raise WeChatCallFailed(int(errcode), str(body.get("errmsg", "")))
    return body
