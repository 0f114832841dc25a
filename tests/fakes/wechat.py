"""A local fake of the WeChat server APIs, speaking the same protocol (HTTP 200 + errcode).

Tests register login and phone codes, script failures, and read what was called. The
mini-program code and link APIs check WeChat's limits (scene, page, query) against the pages
the fake's published version has; a 小程序码 is a small PNG of its own colours per scene.
"""

import asyncio
import base64
import hashlib
import io
import itertools
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from api.wechat import pages

APP_ID = "wx-test-app"
APP_SECRET = "test-app-secret"
SERVICE_APP_ID = "wx-test-service"
SERVICE_APP_SECRET = "test-service-secret"
CREDENTIALS = {APP_ID: APP_SECRET, SERVICE_APP_ID: SERVICE_APP_SECRET}
HTTP_502 = 502  # scripted as an errcode: answer with HTTP 502 instead of JSON
STALE = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
# getwxacodeunlimit: at most 32 visible characters of this set; generate_urllink: a query of at
# most 1024 of this one.
SCENE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}")
LINK_QUERY = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@\-._~%]{0,1024}")
ENV_VERSIONS = frozenset({"release", "trial", "develop"})
# The pages of the mini-program's published version.
PUBLISHED_PAGES = frozenset(
    {pages.SCAN, pages.BOARD, pages.SHARE, pages.MEMBER_CARD, pages.CHECKIN}
)
CODE_SIDE = 280


@dataclass
class FakeWeChat:
    login_codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    phone_codes: dict[str, Any] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    failures: dict[str, deque[dict[str, Any]]] = field(default_factory=lambda: defaultdict(deque))
    calls: Counter[str] = field(default_factory=Counter)
    valid_tokens: set[str] = field(default_factory=set)
    session_keys: dict[str, str] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    followers: dict[str, str] = field(default_factory=dict)  # service openid → unionid
    # Sends per second the fake accepts before answering 45009, like WeChat's frequency limits.
    rate_limit: float | None = None
    attempts: list[str] = field(default_factory=list)
    # When each send was accepted (seconds since the epoch), and how many were refused with 45009.
    accepted_at: list[float] = field(default_factory=list)
    refused: int = 0
    # A slow WeChat: each accepted send is answered this many seconds after it was taken.
    answer_delay: float = 0.0
    # Runs once, after the next send (or group-robot post) was accepted and before it is
    # answered: what happens while a worker waits for WeChat (another worker, a crash).
    while_answering: Callable[[], Awaitable[object]] | None = None
    _window: deque[float] = field(default_factory=deque)
    token_apps: dict[str, str] = field(default_factory=dict)
    # WeCom group robots: valid webhook keys, what they received, 20 a minute per robot on the
    # fake's own clock (a test may replace it to play a minute out quickly).
    robot_keys: set[str] = field(default_factory=set)
    robot_messages: list[dict[str, Any]] = field(default_factory=list)
    robot_limit: int = 20
    robot_clock: Callable[[], float] = time.monotonic
    _robot_windows: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _serial: "itertools.count[int]" = field(default_factory=itertools.count)
    # 小程序码 and URL Links: the published pages, what was asked and answered, and a slow
    # WeChat (seconds before a code is answered).
    published_pages: set[str] = field(default_factory=lambda: set(PUBLISHED_PAGES))
    wxacode_requests: list[dict[str, Any]] = field(default_factory=list)
    wxacodes: dict[str, bytes] = field(default_factory=dict)
    wxacode_delay: float = 0.0
    url_link_requests: list[dict[str, Any]] = field(default_factory=list)

    def add_login(self, code: str, openid: str, unionid: str | None = None) -> None:
        self.login_codes[code] = (openid, unionid)

    def add_phone(self, code: str, phone: str, country_code: Any = "86") -> None:
        self.phone_codes[code] = {"purePhoneNumber": phone, "countryCode": country_code}

    def fail(self, api: str, errcode: int, errmsg: str = "", times: int = 1) -> None:
        for _ in range(times):
            self.failures[api].append({"errcode": errcode, "errmsg": errmsg or f"fake {errcode}"})

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/sns/jscode2session")
        async def jscode2session(request: Request) -> JSONResponse:
            self.calls["jscode2session"] = self.calls["jscode2session"] + 1
            query = request.query_params
            if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
                return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
            if query.get("grant_type") != "authorization_code":
                return JSONResponse({"errcode": 40002, "errmsg": "invalid grant_type"})
            if failure := self._scripted("jscode2session"):
                return JSONResponse(failure)
            code = query.get("js_code", "")
            if code in self.used_codes:
                return JSONResponse({"errcode": 40163, "errmsg": "code been used"})
            if code not in self.login_codes:
                return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
            self.used_codes.add(code)
            openid, unionid = self.login_codes[code]
            session_key = f"SESSIONKEY{next(self._serial)}=="
            self.session_keys[openid] = session_key
            body = {"openid": openid, "session_key": session_key}
            if unionid:
                body["unionid"] = unionid
            return JSONResponse(body)

        @app.post("/cgi-bin/stable_token")
        async def stable_token(request: Request) -> JSONResponse:
            self.calls["stable_token"] = self.calls["stable_token"] + 1
            body = await request.json()
            if CREDENTIALS.get(body.get("appid", "")) != body.get("secret"):
                return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
            if failure := self._scripted("stable_token"):
                return JSONResponse(failure)
            token = f"ACCESS{next(self._serial)}"
            self.valid_tokens.add(token)
            self.token_apps[token] = body["appid"]
            return JSONResponse({"access_token": token, "expires_in": 7200})

        @app.post("/wxa/business/getuserphonenumber")
        async def phone_number(request: Request) -> JSONResponse:
            self.calls["getuserphonenumber"] = self.calls["getuserphonenumber"] + 1
            if request.query_params.get("access_token") not in self.valid_tokens:
                return JSONResponse(STALE)
            if failure := self._scripted("getuserphonenumber"):
                return JSONResponse(failure)
            code = (await request.json()).get("code", "")
            if code in self.used_codes or code not in self.phone_codes:
                return JSONResponse({"errcode": 40029, "errmsg": "invalid code"})
            self.used_codes.add(code)
            info = self.phone_codes[code]
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "phone_info": {
                        "phoneNumber": info["purePhoneNumber"],
                        **info,
                        "watermark": {"timestamp": 1700000000, "appid": APP_ID},
                    },
                }
            )

        @app.post("/cgi-bin/message/subscribe/send")
        async def subscribe_send(request: Request) -> JSONResponse:
            return await self._send(request, "subscribe_send", APP_ID)

        @app.post("/cgi-bin/message/template/send")
        async def template_send(request: Request) -> JSONResponse:
            return await self._send(request, "template_send", SERVICE_APP_ID)

        @app.get("/cgi-bin/user/info")
        async def user_info(request: Request) -> JSONResponse:
            token = request.query_params.get("access_token", "")
            if token not in self.valid_tokens or self.token_apps.get(token) != SERVICE_APP_ID:
                return JSONResponse(STALE)
            openid = request.query_params.get("openid", "")
            if openid not in self.followers:
                return JSONResponse({"errcode": 40003, "errmsg": "invalid openid"})
            return JSONResponse(
                {"subscribe": 1, "openid": openid, "unionid": self.followers[openid]}
            )

        @app.post("/wxa/getwxacodeunlimit")
        async def wxacode(request: Request) -> Response:
            return await self._wxacode(request)

        @app.post("/wxa/generate_urllink")
        async def url_link(request: Request) -> JSONResponse:
            return JSONResponse(await self._url_link(request))

        @app.post("/cgi-bin/webhook/send")
        async def webhook_send(request: Request) -> JSONResponse:
            return JSONResponse(await self._robot(request))

        @app.get("/_log")
        async def log() -> JSONResponse:
            """For benchmarks in another process: what was accepted and when, every attempt,
            and the sends refused for the rate."""
            ids = [s.get("client_msg_id") for s in self.sent if s["api"] == "template_send"]
            subscribed = [
                f"{s['touser']} {s['page']}" for s in self.sent if s["api"] == "subscribe_send"
            ]
            return JSONResponse(
                {
                    "sent": ids,
                    "subscribed": subscribed,
                    "attempts": self.attempts,
                    "accepted_at": self.accepted_at,
                    "refused": self.refused,
                }
            )

        return app

    async def _send(self, request: Request, api: str, app_id: str) -> JSONResponse:
        """Both send APIs: the caller's own token, scripted faults, and WeChat's limits."""
        self.calls[api] = self.calls[api] + 1
        if self._over_rate():
            self.refused += 1
            return JSONResponse({"errcode": 45009, "errmsg": "reach max api frequency limit"})
        token = request.query_params.get("access_token", "")
        if token not in self.valid_tokens or self.token_apps.get(token) != app_id:
            return JSONResponse(STALE)
        if failure := self._scripted(api):
            if failure["errcode"] == HTTP_502:
                return JSONResponse({"message": "bad gateway"}, status_code=502)
            return JSONResponse(failure)
        body = await request.json()
        for key, item in body.get("data", {}).items():
            if key.startswith("thing") and len(item["value"]) > 20:
                return JSONResponse({"errcode": 47003, "errmsg": f"argument invalid! data.{key}"})
        if api == "template_send":
            self.attempts.append(body["client_msg_id"])
            repeated = [s for s in self.sent if s.get("client_msg_id") == body["client_msg_id"]]
            if repeated:
                return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": repeated[0]["msgid"]})
        msgid = next(self._serial)
        self.sent.append({**body, "api": api, "msgid": msgid})
        self.accepted_at.append(time.time())
        await self._answering()
        await asyncio.sleep(self.answer_delay)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def _answering(self) -> None:
        if self.while_answering is not None:
            hook, self.while_answering = self.while_answering, None
            await hook()

    def _mini_token(self, request: Request) -> bool:
        token = request.query_params.get("access_token", "")
        return token in self.valid_tokens and self.token_apps.get(token) == APP_ID

    def _page_error(self, page: str, check: bool, errcode: int) -> dict[str, Any] | None:
        """WeChat's answer to a page with a leading "/" or parameters, or (when checked) one
        its published version does not have."""
        if page.startswith("/") or "?" in page or (check and page not in self.published_pages):
            return {"errcode": errcode, "errmsg": f"invalid page rid: fake-{page[:20]}"}
        return None

    async def _wxacode(self, request: Request) -> Response:
        """getwxacodeunlimit: an image body on success, JSON on every error."""
        self.calls["wxacode"] += 1
        if not self._mini_token(request):
            return JSONResponse(STALE)
        if failure := self._scripted("wxacode"):
            return JSONResponse(failure)
        body = await request.json()
        self.wxacode_requests.append(body)
        scene = body.get("scene")
        if not isinstance(scene, str) or len(scene) > 32:
            return JSONResponse({"errcode": 40169, "errmsg": "invalid length for scene"})
        if not SCENE.fullmatch(scene):
            return JSONResponse({"errcode": 40129, "errmsg": "invalid scene"})
        if body.get("env_version", "release") not in ENV_VERSIONS:
            return JSONResponse({"errcode": 40097, "errmsg": "invalid args"})
        page = body.get("page")
        if page is not None:
            error = self._page_error(str(page), body.get("check_path", True) is not False, 41030)
            if error:
                return JSONResponse(error)
        await asyncio.sleep(self.wxacode_delay)
        image = self.wxacodes.setdefault(scene, code_png(scene))
        return Response(image, media_type="image/png")

    async def _url_link(self, request: Request) -> dict[str, Any]:
        """generate_urllink: a https://wxaurl.cn link valid at most 30 days."""
        self.calls["urllink"] += 1
        if not self._mini_token(request):
            return STALE
        if failure := self._scripted("urllink"):
            return failure
        body = await request.json()
        self.url_link_requests.append(body)
        if error := self._page_error(str(body.get("path", "")), True, 40165):
            return error
        if not LINK_QUERY.fullmatch(str(body.get("query", ""))):
            # WeChat names no code of its own for a bad query: the fake answers invalid args.
            return {"errcode": 40097, "errmsg": "invalid args: query"}
        days = body.get("expire_interval")
        if body.get("expire_type") != 1 or not isinstance(days, int) or not 1 <= days <= 30:
            return {"errcode": 40097, "errmsg": "invalid args: expire_interval"}
        if body.get("env_version", "release") not in ENV_VERSIONS:
            return {"errcode": 40097, "errmsg": "invalid args: env_version"}
        return {
            "errcode": 0,
            "errmsg": "ok",
            "url_link": f"https://wxaurl.cn/fake{next(self._serial)}",
        }

    async def _robot(self, request: Request) -> dict[str, Any]:
        self.calls["webhook"] += 1
        key = request.query_params.get("key", "")
        if key not in self.robot_keys:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        now = self.robot_clock()
        window = self._robot_windows[key]
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.robot_limit:
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        if failure := self._scripted("webhook"):
            return failure
        body = await request.json()
        if body.get("msgtype") == "image":
            raw = base64.b64decode(body["image"]["base64"])
            if hashlib.md5(raw).hexdigest() != body["image"]["md5"]:
                return {"errcode": 40009, "errmsg": "invalid image md5"}
        if body.get("msgtype") == "markdown" and len(body["markdown"]["content"].encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        window.append(now)
        self.robot_messages.append({"key": key, "at": now, **body})
        await self._answering()
        return {"errcode": 0, "errmsg": "ok"}

    def _over_rate(self) -> bool:
        if self.rate_limit is None:
            return False
        now = time.monotonic()
        while self._window and self._window[0] <= now - 1:
            self._window.popleft()
        if len(self._window) >= self.rate_limit:
            return True
        self._window.append(now)
        return False

    def _scripted(self, api: str) -> dict[str, Any] | None:
        queue = self.failures[api]
        return queue.popleft() if queue else None


def code_png(scene: str) -> bytes:
    """A fake 小程序码: four quadrants in colours of the scene's own."""
    digest = hashlib.sha256(scene.encode()).digest()
    image = Image.new("RGB", (CODE_SIDE, CODE_SIDE))
    half = CODE_SIDE // 2
    for quadrant in range(4):
        colour = tuple(digest[3 * quadrant : 3 * quadrant + 3])
        left, top = (quadrant % 2) * half, (quadrant // 2) * half
        image.paste(Image.new("RGB", (half, half), colour), (left, top))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
