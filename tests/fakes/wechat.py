"""A local fake of the WeChat server APIs, speaking the same protocol (HTTP 200 + errcode).

Tests register login and phone codes, script failures, and read what was called.
"""

import itertools
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

APP_ID = "wx-test-app"
APP_SECRET = "test-app-secret"
STALE = {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}


@dataclass
class FakeWeChat:
    login_codes: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    phone_codes: dict[str, Any] = field(default_factory=dict)
    used_codes: set[str] = field(default_factory=set)
    failures: dict[str, deque[dict[str, Any]]] = field(default_factory=lambda: defaultdict(deque))
    calls: Counter[str] = field(default_factory=Counter)
    valid_tokens: set[str] = field(default_factory=set)
    session_keys: dict[str, str] = field(default_factory=dict)
    _serial: "itertools.count[int]" = field(default_factory=itertools.count)

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
            if body.get("appid") != APP_ID or body.get("secret") != APP_SECRET:
                return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
            if failure := self._scripted("stable_token"):
                return JSONResponse(failure)
            token = f"ACCESS{next(self._serial)}"
            self.valid_tokens.add(token)
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

        return app

    def _scripted(self, api: str) -> dict[str, Any] | None:
        queue = self.failures[api]
        return queue.popleft() if queue else None
