"""WeChat pushes as an attacker and as WeChat send them: each app checked against its own
token, key and AppID; stale, replayed and plain-mode pushes refused; both XML and JSON shapes of
the subscribe-message events applied; no signature or nonce in the access log."""

import asyncio
import base64
import hashlib
import itertools
import json
import logging
import socket
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel, select
from wechatpy.crypto import PrpCrypto

from api.config import Settings
from api.models import CallbackEvent, ServiceFollower, SubscriptionQuota, WeChatAccount
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import APP_ID, SERVICE_APP_ID, SERVICE_APP_SECRET, FakeWeChat

Maker = async_sessionmaker[AsyncSession]
MINI = "/api/v1/wechat/callback"
SERVICE = "/api/v1/wechat/callback/service"
MINI_TOKEN, MINI_KEY = "mini-token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SERVICE_TOKEN, SERVICE_KEY = "service-token", "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
_NONCES = itertools.count()


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def plain(token: str = MINI_TOKEN, at: float | None = None, nonce: str = "") -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    nonce = nonce or f"n{next(_NONCES)}"
    return {"timestamp": timestamp, "nonce": nonce, "signature": sign(token, timestamp, nonce)}


def sealed(message: str, key: str, app_id: str) -> str:
    cipher: bytes = PrpCrypto(base64.b64decode(key + "=")).encrypt(message, app_id)
    return cipher.decode()


def safe(encrypt: str, token: str, at: float | None = None) -> dict[str, str]:
    timestamp, nonce = str(int(time.time() if at is None else at)), f"n{next(_NONCES)}"
    return {
        "encrypt_type": "aes",
        "timestamp": timestamp,
        "nonce": nonce,
        "msg_signature": sign(token, timestamp, nonce, encrypt),
    }


def envelope(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    )


def follow(openid: str, at: int = 1700000000) -> str:
    return (
        f"<xml><ToUserName>gh_service</ToUserName><FromUserName>{openid}</FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType>event</MsgType><Event>subscribe</Event>"
        "<UnionId>u-a1</UnionId></xml>"
    )


async def count(sessionmaker: Maker, model: type[SQLModel]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Plain mode for the mini-program (no key); the service account in safe mode."""
    return make_settings(
        database_url,
        photo_dir=str(tmp_path / "photos"),
        wechat_callback_token=MINI_TOKEN,
        service_app_id=SERVICE_APP_ID,
        service_app_secret=SERVICE_APP_SECRET,
        service_callback_token=SERVICE_TOKEN,
        service_encoding_aes_key=SERVICE_KEY,
    )


@pytest.fixture
async def bound(org: Org, sessionmaker: Maker) -> None:
    async with sessionmaker() as session:
        session.add(
            WeChatAccount(
                openid="o-a1", unionid="u-a1", session_key="k", member_id=org.id("member_a1")
            )
        )
        await session.commit()


# --- 8: plain mode, time window, nonces ------------------------------------------------------


async def test_with_a_safe_mode_key_a_plain_push_is_refused(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    """The forged follow of the review: any body under a captured plain-mode signature."""
    response = await client.post(
        SERVICE, params=plain(SERVICE_TOKEN), content=follow("s-attacker").encode()
    )
    assert (response.status_code, response.json()["code"]) == (403, "callback_plain_mode_refused")
    assert await count(sessionmaker, ServiceFollower) == 0


async def test_with_a_safe_mode_key_the_mini_program_takes_no_plain_push(
    settings: Settings, wechat: FakeWeChat, org: Org, bound: None, sessionmaker: Maker
) -> None:
    with_key = settings.model_copy(update={"wechat_encoding_aes_key": SecretStr(MINI_KEY)})
    async with running_app(with_key, wechat) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            forged = popup("o-a1", [("T-1", "accept")], 1700000000)
            response = await http.post(MINI, params=plain(), content=forged.encode())
    assert (response.status_code, response.json()["code"]) == (403, "callback_plain_mode_refused")
    assert await count(sessionmaker, CallbackEvent) == 0


@pytest.mark.parametrize("skew", [-310, 310, -(10**6)])
async def test_a_push_signed_outside_five_minutes_is_refused(
    client: httpx.AsyncClient, sessionmaker: Maker, skew: int
) -> None:
    body = json.dumps({"FromUserName": "o-a1", "CreateTime": 1, "Event": "unknown"})
    stale = await client.post(MINI, params=plain(at=time.time() + skew), content=body)
    assert (stale.status_code, stale.json()["code"]) == (403, "callback_stale")
    check = await client.get(MINI, params={**plain(at=time.time() + skew), "echostr": "x"})
    assert (check.status_code, check.json()["code"]) == (403, "callback_stale")
    assert await count(sessionmaker, CallbackEvent) == 0
    inside = await client.post(
        MINI, params=plain(at=time.time() + skew / abs(skew) * 240), content=body
    )
    assert inside.text == "success"


async def test_a_nonce_is_accepted_once_in_every_api_process(
    app: FastAPI,
    client: httpx.AsyncClient,
    settings: Settings,
    wechat: FakeWeChat,
    sessionmaker: Maker,
) -> None:
    query = plain()
    first = json.dumps({"FromUserName": "o-1", "CreateTime": 1, "Event": "unknown"})
    assert (await client.post(MINI, params=query, content=first)).text == "success"
    replay = json.dumps({"FromUserName": "o-2", "CreateTime": 2, "Event": "unknown"})
    again = await client.post(MINI, params=query, content=replay)
    assert (again.status_code, again.json()["code"]) == (403, "callback_replayed")
    async with running_app(settings, wechat) as other_process:
        transport = httpx.ASGITransport(app=other_process)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as other:
            elsewhere = await other.post(MINI, params=query, content=replay)
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (403, "callback_replayed")
    assert await count(sessionmaker, CallbackEvent) == 1


async def test_a_safe_mode_push_replayed_is_refused(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    encrypt = sealed(follow("s-a1"), SERVICE_KEY, SERVICE_APP_ID)
    query = safe(encrypt, SERVICE_TOKEN)
    assert (await client.post(SERVICE, params=query, content=envelope(encrypt))).text == "success"
    again = await client.post(SERVICE, params=query, content=envelope(encrypt))
    assert (again.status_code, again.json()["code"]) == (403, "callback_replayed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_no_signature_or_nonce_reaches_the_access_log(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """The app served by uvicorn as in production, its access log captured."""
    caplog.set_level(logging.DEBUG)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(500):  # at most five seconds to bind
        if server.started:
            break
        await asyncio.sleep(0.01)
    query = plain(nonce="nonce-4f1c9a")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.get(MINI, params={**query, "echostr": "echo-7d2e"})
            assert response.text == "echo-7d2e"
    finally:
        server.should_exit = True
        await serving
    access = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert any("/api/v1/wechat/callback" in line for line in access), caplog.text
    for secret in (query["signature"], query["nonce"], "echo-7d2e", query["timestamp"]):
        assert secret not in caplog.text


# --- 9: the XML shape of subscribe-message events --------------------------------------------


def popup(openid: str, items: list[tuple[str, str]], at: int) -> str:
    lists = "".join(
        f"<List><TemplateId><![CDATA[{template}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{status}]]></SubscribeStatusString>"
        "<PopupScene>0</PopupScene></List>"
        for template, status in items
    )
    return (
        f"<xml><ToUserName>gh_mini</ToUserName><FromUserName>{openid}</FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType>event</MsgType>"
        f"<Event>subscribe_msg_popup_event</Event>"
        f"<SubscribeMsgPopupEvent>{lists}</SubscribeMsgPopupEvent></xml>"
    )


async def quota(sessionmaker: Maker, org: Org, template_id: str) -> int | None:
    async with sessionmaker() as session:
        row = await session.get(SubscriptionQuota, (org.id("member_a1"), template_id))
        return None if row is None else row.remaining


async def test_xml_subscribe_events_with_one_or_many_items_are_applied(
    client: httpx.AsyncClient, org: Org, bound: None, sessionmaker: Maker
) -> None:
    one = popup("o-a1", [("T-1", "accept")], 1700000001)
    many = popup("o-a1", [("T-1", "accept"), ("T-2", "accept"), ("T-3", "reject")], 1700000002)
    for body in (one, many):
        assert (await client.post(MINI, params=plain(), content=body.encode())).text == "success"
    assert [await quota(sessionmaker, org, t) for t in ("T-1", "T-2", "T-3")] == [2, 1, None]

    change = (
        "<xml><FromUserName>o-a1</FromUserName><CreateTime>1700000003</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe_msg_change_event</Event>"
        "<SubscribeMsgChangeEvent><List><TemplateId>T-1</TemplateId>"
        "<SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgChangeEvent>"
        "</xml>"
    )
    assert (await client.post(MINI, params=plain(), content=change.encode())).text == "success"
    assert await quota(sessionmaker, org, "T-1") == 0


async def test_a_json_event_wrapped_like_the_xml_one_is_applied(
    client: httpx.AsyncClient, org: Org, bound: None, sessionmaker: Maker
) -> None:
    push = {
        "FromUserName": "o-a1",
        "CreateTime": 1700000004,
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "SubscribeMsgPopupEvent": {
            "List": [
                {"TemplateId": "T-4", "SubscribeStatusString": "accept", "PopupScene": "0"},
                {"TemplateId": "T-5", "SubscribeStatusString": "accept", "PopupScene": "0"},
            ]
        },
    }
    assert (await client.post(MINI, params=plain(), content=json.dumps(push))).text == "success"
    assert [await quota(sessionmaker, org, t) for t in ("T-4", "T-5")] == [1, 1]


# --- 10: each app checked against its own settings -------------------------------------------


async def test_the_service_accounts_safe_mode_push_is_decrypted_with_its_own_key(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    encrypt = sealed(follow("s-a1"), SERVICE_KEY, SERVICE_APP_ID)
    accepted = await client.post(
        SERVICE, params=safe(encrypt, SERVICE_TOKEN), content=envelope(encrypt)
    )
    assert accepted.text == "success", accepted.text
    async with sessionmaker() as session:
        follower = await session.get(ServiceFollower, "s-a1")
        assert follower is not None and follower.unionid == "u-a1"


async def test_a_push_is_checked_against_the_app_it_names(
    client: httpx.AsyncClient, sessionmaker: Maker
) -> None:
    as_mini = sealed(follow("s-x"), SERVICE_KEY, APP_ID)  # the service's key, another AppID
    refused = await client.post(
        SERVICE, params=safe(as_mini, SERVICE_TOKEN), content=envelope(as_mini)
    )
    assert refused.status_code == 403
    with_mini_token = await client.post(
        SERVICE, params=safe(as_mini, MINI_TOKEN), content=envelope(as_mini)
    )
    assert with_mini_token.status_code == 403
    # Signed for the mini-program, a follow changes nothing: followers are the service's.
    sent_to_mini = await client.post(MINI, params=plain(), content=follow("s-y").encode())
    assert sent_to_mini.text == "success"
    assert await count(sessionmaker, ServiceFollower) == 0


async def test_the_service_accounts_url_check_uses_its_own_token(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.get(SERVICE, params={**plain(SERVICE_TOKEN), "echostr": "hi"})
    assert ok.text == "hi"
    wrong = await client.get(SERVICE, params={**plain(MINI_TOKEN), "echostr": "hi"})
    assert wrong.status_code == 403


async def test_without_a_service_token_its_pushes_are_refused(
    database_url: str, wechat: FakeWeChat
) -> None:
    settings = make_settings(database_url, wechat_callback_token=MINI_TOKEN)
    async with running_app(settings, wechat) as application:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post(SERVICE, params=plain(""), content=follow("s-z").encode())
    assert (response.status_code, response.json()["code"]) == (403, "callback_refused")
