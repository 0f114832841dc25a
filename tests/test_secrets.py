"""No secret in any log line, and none stored in the clear: a full flow with every log
captured at DEBUG, scanned for every secret value it used."""

import base64
import hashlib
import itertools
import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select
from wechatpy.crypto import PrpCrypto

from api.config import Settings
from api.models import StoredToken, WeChatAccount, utcnow
from api.secrets import unseal
from api.services import robots
from api.services.delivery import Senders, run_once
from api.wechat.client import WeChatClient
from api.wechat.wecom import RobotClient
from tests.conftest import Org, make_settings
from tests.fakes.wechat import APP_ID, APP_SECRET, SERVICE_APP_ID, SERVICE_APP_SECRET, FakeWeChat
from tests.test_publication import KEY, open_period, publish
from tests.workflow import EARLY_CLOSE, attach, decide, file_claim, photo, shanghai_today

Maker = async_sessionmaker[AsyncSession]
CALLBACK_TOKEN = "secret-callback-token-5e1f"
AES_KEY = "q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c"
SERVICE_TOKEN = "secret-service-token-9a7b"
DATA_KEY = "secret-data-key-0123456789abcdef-0123"
_NONCES = itertools.count()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        photo_dir=str(tmp_path / "photos"),
        service_app_id=SERVICE_APP_ID,
        service_app_secret=SERVICE_APP_SECRET,
        wechat_callback_token=CALLBACK_TOKEN,
        wechat_encoding_aes_key=AES_KEY,
        service_callback_token=SERVICE_TOKEN,
        data_key=DATA_KEY,
    )


def accept_push(openid: str, template_id: str) -> tuple[dict[str, str], bytes]:
    """A safe-mode subscribe accept, as WeChat pushes it."""
    xml = (
        f"<xml><FromUserName>{openid}</FromUserName><CreateTime>1700000000</CreateTime>"
        "<MsgType>event</MsgType><Event>subscribe_msg_popup_event</Event>"
        f"<SubscribeMsgPopupEvent><List><TemplateId>{template_id}</TemplateId>"
        "<SubscribeStatusString>accept</SubscribeStatusString></List></SubscribeMsgPopupEvent>"
        "</xml>"
    )
    encrypt = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt(xml, APP_ID).decode()
    timestamp, nonce = str(int(time.time())), f"nonce{next(_NONCES)}"
    signature = hashlib.sha1("".join(sorted([CALLBACK_TOKEN, timestamp, nonce, encrypt])).encode())
    query = {
        "encrypt_type": "aes",
        "timestamp": timestamp,
        "nonce": nonce,
        "signature": hashlib.sha1(
            "".join(sorted([CALLBACK_TOKEN, timestamp, nonce])).encode()
        ).hexdigest(),
        "msg_signature": signature.hexdigest(),
    }
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    return query, body


async def test_a_full_flow_logs_no_secret_at_debug(
    client: httpx.AsyncClient,
    org: Org,
    app: FastAPI,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    scheme_id = await attach(client, org, "lutou")
    secrets: set[str] = {APP_SECRET, SERVICE_APP_SECRET, CALLBACK_TOKEN, AES_KEY, DATA_KEY, KEY}
    secrets.add(settings.jwt_secret.get_secret_value())

    # Login and bind (code2Session, the phone number with an access token), then a refresh.
    wechat.add_login("code-1", "o-a1", "u-a1")
    login = (await client.post("/api/v1/auth/wechat/login", json={"code": "code-1"})).json()
    wechat.add_phone("phone-1", "13900000005")
    bound = await client.post(
        "/api/v1/auth/bind/phone",
        json={"binding_ticket": login["binding_ticket"], "phone_code": "phone-1"},
    )
    assert bound.status_code == 200, bound.text
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": bound.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    tokens = [
        login["binding_ticket"],
        *(bound.json()[k] for k in ("access_token", "refresh_token")),
    ]
    tokens += [refreshed.json()[k] for k in ("access_token", "refresh_token")]
    secrets.update(tokens)

    # A subscription pushed in safe mode, then a deduction card sent through the fake WeChat.
    template = {
        "template_id": "T-DED",
        "page": "pages/deduction",
        "fields": {"thing1": "item_name"},
    }
    admin = org.headers("admin")
    put = await client.put(
        "/api/v1/notice-templates/deduction_card/subscribe", json=template, headers=admin
    )
    assert put.status_code == 200, put.text
    query, body = accept_push("o-a1", "T-DED")
    assert (
        await client.post("/api/v1/wechat/callback", params=query, content=body)
    ).text == "success"
    deducted = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/deductions",
        json={
            "item_code": "theme_day_absent",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "缺席主题党日",
        },
        headers=org.headers("secretary_a"),
    )
    assert deducted.status_code == 201, deducted.text

    # A claim approved through its chain.
    pic = await photo(sessionmaker, org, "member_a1", "secret-flow")
    claim = (await file_claim(client, org, "member_a1", "key-secret-1", [pic])).json()
    for reviewer in ("leader_a1", "secretary_a"):
        assert (await decide(client, org, reviewer, claim["id"])).status_code == 200

    # The outbox sent by the worker's code, and the branch robot's posts.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        senders = Senders(
            WeChatClient(settings, http),
            WeChatClient(settings, http, SERVICE_APP_ID, SERVICE_APP_SECRET),
        )
        while await run_once(sessionmaker, senders, settings):
            pass
        configured = await client.put(
            f"/api/v1/org/units/{org.unit_id('branch_a')}/robot",
            json={"key": KEY},
            headers=org.headers("secretary_a"),
        )
        assert configured.status_code == 200, configured.text
        wechat.robot_keys.add(KEY)
        period_id = await open_period(client, org, scheme_id)
        closing = await client.post(
            f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=admin
        )
        assert closing.status_code == 200, closing.text
        await publish(client, org, period_id)
        assert await robots.run_once(sessionmaker, RobotClient(settings, http), settings) == 2

    # A unique violation whose statement carries a session key, through the app's handler.
    session_key, now = wechat.session_keys["o-a1"], utcnow()
    async with sessionmaker() as session:
        with pytest.raises(IntegrityError) as failed:
            await session.execute(
                insert(WeChatAccount).values(
                    openid="o-a1", session_key=session_key, created_at=now, last_login_at=now
                )
            )
    handler = app.exception_handlers[IntegrityError]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": [], "query_string": b""}
    assert (await handler(Request(scope), failed.value)).status_code == 409  # type: ignore[misc]

    secrets.update(wechat.session_keys.values())
    secrets.update(wechat.valid_tokens)
    secrets.update(
        org.headers(name)["Authorization"].split()[1] for name in ("admin", "secretary_a")
    )
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "HTTP Request" in logged  # httpx did log its calls, at INFO
    found = sorted(secret for secret in secrets if secret in logged)
    assert found == [], found
    # …and the flow did reach WeChat and the robot, so the scan covered those calls.
    assert [s["api"] for s in wechat.sent] == ["subscribe_send"]
    assert len(wechat.robot_messages) == 2


async def test_session_keys_and_access_tokens_are_stored_sealed(
    client: httpx.AsyncClient, org: Org, settings: Settings, sessionmaker: Maker, wechat: FakeWeChat
) -> None:
    wechat.add_login("code-1", "o-a1")
    login = (await client.post("/api/v1/auth/wechat/login", json={"code": "code-1"})).json()
    wechat.add_phone("phone-1", "13900000005")
    await client.post(
        "/api/v1/auth/bind/phone",
        json={"binding_ticket": login["binding_ticket"], "phone_code": "phone-1"},
    )
    async with sessionmaker() as session:
        account = await session.scalar(select(WeChatAccount))
        [stored] = list(await session.scalars(select(StoredToken)))
    assert account is not None
    session_key, [access_token] = wechat.session_keys["o-a1"], list(wechat.valid_tokens)
    assert session_key not in account.session_key and access_token not in stored.token
    assert unseal(settings, account.session_key) == session_key
    assert unseal(settings, stored.token) == access_token
