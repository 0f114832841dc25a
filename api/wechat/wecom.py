"""WeCom (企业微信) group robot: `POST /cgi-bin/webhook/send?key=KEY`.

Answers are HTTP 200 with `errcode`/`errmsg`. 45009: over 20 messages a minute for this robot;
93000: the key is invalid (the robot was removed or the key mistyped).
"""

import base64
import hashlib
from typing import Any

import httpx

from api.config import Settings
from api.wechat.client import UNANSWERED

RATE_LIMITED = 45009
INVALID_KEY = 93000
MARKDOWN_LIMIT = 4096  # bytes of UTF-8
IMAGE_LIMIT = 2 * 1024 * 1024


class RobotFailed(Exception):
    """WeCom refused the message (errcode), or could not be reached (errcode None); or the
    message went out and no answer came (`unanswered`: it may be in the chat)."""

    def __init__(self, errcode: int | None, errmsg: str, *, unanswered: bool = False) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.unanswered = unanswered


def markdown_message(content: str) -> dict[str, Any]:
    if len(content.encode()) > MARKDOWN_LIMIT:
        raise ValueError(f"markdown is over {MARKDOWN_LIMIT} bytes")
    return {"msgtype": "markdown", "markdown": {"content": content}}


def image_message(png: bytes) -> tuple[dict[str, Any], str]:
    """The message and the md5 of the raw bytes (WeCom checks it)."""
    if len(png) > IMAGE_LIMIT:
        raise ValueError("image is over 2 MB")
    md5 = hashlib.md5(png).hexdigest()
    body = {"msgtype": "image", "image": {"base64": base64.b64encode(png).decode(), "md5": md5}}
    return body, md5


class RobotClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient) -> None:
        self._base = settings.wecom_api_base.rstrip("/")
        self._http = http
        self._timeout = settings.wechat_timeout_seconds

    async def send(self, key: str, message: dict[str, Any]) -> None:
        try:
            response = await self._http.post(
                f"{self._base}/cgi-bin/webhook/send",
                params={"key": key},
                json=message,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            unanswered = isinstance(exc, UNANSWERED)
            reason = f"企业微信{'未应答' if unanswered else '无法连接'}：{type(exc).__name__}"
            raise RobotFailed(None, reason, unanswered=unanswered) from exc
        if response.status_code >= 500:
            raise RobotFailed(None, f"企业微信返回 HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise RobotFailed(None, "企业微信返回了无法解析的内容") from exc
        errcode = int(body.get("errcode", 0) or 0)
        if errcode:
            raise RobotFailed(errcode, str(body.get("errmsg", "")))
