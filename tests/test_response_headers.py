"""Every response carries the security headers; no cache keeps a response that carries a token."""

import httpx
from fastapi import FastAPI

from api.main import API_CSP
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.test_login import BIND_INVITE, LOGIN, _bind_phone, _ticket

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
STRONG = "x" * 48


def _security_headers(response: httpx.Response) -> dict[str, str | None]:
    return {name: response.headers.get(name) for name in SECURITY_HEADERS}


async def _answers(app: FastAPI, org: Org) -> dict[str, httpx.Response]:
    """A response of each kind: success, refusals, a validation error, a crash, the docs."""

    async def crash() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/crash", crash)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return {
            "probe": await client.get("/healthz"),
            "signed in": await client.get("/api/v1/me", headers=org.headers("member_a1")),
            "no token": await client.get("/api/v1/me"),
            "no route": await client.get("/api/v1/nowhere"),
            "bad body": await client.post("/api/v1/auth/refresh", json={}),
            "crash": await client.get("/crash"),
            "openapi": await client.get("/openapi.json"),
            "docs": await client.get("/docs"),
        }


async def test_every_response_carries_the_security_headers(app: FastAPI, org: Org) -> None:
    answers = await _answers(app, org)
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "probe": 200,
        "signed in": 200,
        "no token": 401,
        "no route": 404,
        "bad body": 422,
        "crash": 500,
        "openapi": 200,
        "docs": 200,
    }
    for name, answer in answers.items():
        assert _security_headers(answer) == SECURITY_HEADERS, name
        assert "strict-transport-security" not in answer.headers, name
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy, name
        assert policy == API_CSP or name == "docs", name
    docs_policy = answers["docs"].headers["content-security-policy"]
    # The docs' assets are ours: the page may load nothing from elsewhere, nor run inline code.
    assert "script-src 'self';" in docs_policy
    assert "http" not in docs_policy


async def test_production_answers_require_https(
    database_url: str, wechat: FakeWeChat, org: Org
) -> None:
    settings = make_settings(database_url, env="prod", data_key=STRONG)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            answers = [await client.get("/healthz"), await client.get("/api/v1/nowhere")]
    for answer in answers:
        assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert _security_headers(answer) == SECURITY_HEADERS


async def test_every_response_carrying_a_token_is_stored_by_no_cache(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, database_url: str
) -> None:
    carrying: dict[str, httpx.Response] = {}
    wechat.add_login("c1", "openid-1")
    carrying["login, unbound"] = await client.post(LOGIN, json={"code": "c1"})
    ticket = carrying["login, unbound"].json()["binding_ticket"]
    carrying["bind by phone"] = await _bind_phone(client, wechat, ticket, "13900000005")
    wechat.add_login("c2", "openid-1")
    carrying["login, bound"] = await client.post(LOGIN, json={"code": "c2"})
    refresh_token = carrying["login, bound"].json()["refresh_token"]
    carrying["refresh"] = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": refresh_token}
    )
    invite = await client.post(
        f"/api/v1/members/{org.id('member_a2')}/invite-codes", headers=org.headers("secretary_a")
    )
    carrying["bind by invite"] = await client.post(
        BIND_INVITE,
        json={
            "binding_ticket": await _ticket(client, wechat, "c3", "openid-2"),
            "invite_code": invite.json()["code"],
        },
    )
    dev = make_settings(database_url, wechat_app_id="", wechat_app_secret="")
    async with running_app(dev, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as dev_client:
            carrying["dev login"] = await dev_client.post(
                "/api/v1/auth/dev/login", json={"phone": "13900000003"}
            )
    for name, answer in carrying.items():
        assert answer.status_code == 200, f"{name}: {answer.text}"
        assert answer.headers.get("cache-control") == "no-store", name
