"""Login, binding and upload attempts are limited per WeChat account, binding ticket, member and
client address, with counters in the database that every API process shares."""

import asyncio
import itertools
import re
import string
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from api import rate_limits, security
from api.config import Settings
from api.models import RateCounter, utcnow
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat

LOGIN = "/api/v1/auth/wechat/login"
BIND_INVITE = "/api/v1/auth/bind/invite"
CJK = re.compile(r"[\u4e00-\u9fff]")
LIMITS: dict[str, Any] = {
    "rate_window_seconds": 600,
    "login_per_account": 3,
    "login_per_address": 6,
    "bind_per_ticket": 3,
    "bind_per_account": 5,
    "bind_per_address": 20,
    "uploads_per_member": 2,
    "uploads_per_address": 20,
}
codes = itertools.count()
BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, photo_dir=str(tmp_path / "photos"), **LIMITS)


@pytest.fixture(autouse=True)
def distinct_tickets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens name their second of issue: two logins of one account in the same second get the
    same ticket. Each token here is issued a second after the last."""
    seconds = itertools.count()
    monkeypatch.setattr(security, "utcnow", lambda: utcnow() + timedelta(seconds=next(seconds)))


def limited(response: httpx.Response, code: str, limit: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert (body["code"], body["detail"]["limit"]) == (code, limit), body
    assert CJK.search(body["message"]), body
    retry_after = int(response.headers["Retry-After"])
    assert retry_after == body["detail"]["retry_after"]
    assert 0 < retry_after <= 600


async def login(
    client: httpx.AsyncClient, wechat: FakeWeChat, openid: str, **headers: str
) -> httpx.Response:
    code = f"code-{next(codes)}"
    wechat.add_login(code, openid)
    return await client.post(LOGIN, json={"code": code}, headers=headers)


async def ticket(client: httpx.AsyncClient, wechat: FakeWeChat, openid: str) -> str:
    response = await login(client, wechat, openid)
    assert response.status_code == 200, response.text
    return str(response.json()["binding_ticket"])


async def invite(client: httpx.AsyncClient, org: Org, member: str = "member_a1") -> str:
    issued = await client.post(
        f"/api/v1/members/{org.id(member)}/invite-codes", headers=org.headers("secretary_a")
    )
    assert issued.status_code == 201, issued.text
    return str(issued.json()["code"])


async def bind(client: httpx.AsyncClient, binding_ticket: str, code: str) -> httpx.Response:
    body = {"binding_ticket": binding_ticket, "invite_code": code}
    return await client.post(BIND_INVITE, json=body)


async def test_a_binding_ticket_dies_after_its_attempts(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    code = await invite(client, org)
    spent = await ticket(client, wechat, "openid-1")
    for guess in ("AAAA1111", "AAAA2222", "AAAA3333"):
        assert (await bind(client, spent, guess)).json()["code"] == "invite_code_invalid"
    # Even the right code: the ticket is dead.
    limited(await bind(client, spent, code), "binding_ticket_spent", "bind_per_ticket")
    # A new ticket (the member entering the mini-program again) still binds.
    fresh = await ticket(client, wechat, "openid-1")
    assert (await bind(client, fresh, code)).status_code == 200


async def test_a_ticket_spelled_another_way_is_the_same_ticket(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    """Base64 lets a signature be written several ways (padding, the unused low bits of its
    last character), and each spelling verifies: they all count against one ticket."""
    spent = await ticket(client, wechat, "openid-1")
    head, signature = spent.rsplit(".", 1)
    flipped = BASE64URL[BASE64URL.index(signature[-1]) ^ 1]  # a bit no byte of it uses
    same = [spent, f"{spent}=", f"{head}.{signature[:-1]}{flipped}"]
    for spelling, guess in zip(same, ("AAAA1111", "AAAA2222", "AAAA3333"), strict=True):
        assert (await bind(client, spelling, guess)).json()["code"] == "invite_code_invalid"
    limited(await bind(client, f"{spent}==", "AAAA4444"), "binding_ticket_spent", "bind_per_ticket")


async def test_binding_is_limited_per_wechat_account_across_tickets(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    first, second = [await ticket(client, wechat, "openid-1") for _ in range(2)]
    for guess in ("AAAA1111", "AAAA2222", "AAAA3333"):
        assert (await bind(client, first, guess)).status_code == 400
    for guess in ("AAAA4444", "AAAA5555"):
        assert (await bind(client, second, guess)).status_code == 400
    limited(await bind(client, second, "AAAA6666"), "rate_limited", "bind_per_account")
    # Another WeChat account is not held back by this one.
    other = await ticket(client, wechat, "openid-2")
    assert (await bind(client, other, "AAAA7777")).status_code == 400


async def test_logins_are_limited_per_wechat_account(
    client: httpx.AsyncClient, wechat: FakeWeChat
) -> None:
    for _ in range(3):
        assert (await login(client, wechat, "openid-1")).status_code == 200
    limited(await login(client, wechat, "openid-1"), "rate_limited", "login_per_account")
    assert (await login(client, wechat, "openid-2")).status_code == 200


async def test_logins_are_limited_per_address_whatever_it_forwards(
    client: httpx.AsyncClient, wechat: FakeWeChat
) -> None:
    for n in range(6):
        assert (await login(client, wechat, f"openid-{n}")).status_code == 200
    # Without trusted proxies, X-Forwarded-For is the client's own word and changes nothing.
    forged = await login(client, wechat, "openid-9", **{"X-Forwarded-For": "203.0.113.9"})
    limited(forged, "rate_limited", "login_per_address")


async def test_behind_a_trusted_proxy_the_address_it_saw_counts(
    database_url: str, tmp_path: Path, wechat: FakeWeChat
) -> None:
    settings = make_settings(
        database_url, photo_dir=str(tmp_path / "p"), trusted_proxy_hops=1, **LIMITS
    )
    async with served(settings, wechat) as client:
        for n in range(6):
            forwarded = {"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.1"}
            assert (await login(client, wechat, f"openid-{n}", **forwarded)).status_code == 200
        limited(
            await login(client, wechat, "openid-7", **{"X-Forwarded-For": "203.0.113.1"}),
            "rate_limited",
            "login_per_address",
        )
        other = {"X-Forwarded-For": "203.0.113.1, 203.0.113.2"}
        assert (await login(client, wechat, "openid-8", **other)).status_code == 200


async def test_uploads_are_limited_per_member_before_their_body_is_read(
    client: httpx.AsyncClient, org: Org
) -> None:
    headers = {**org.headers("member_a1"), "Content-Type": "multipart/form-data; boundary=b"}
    for _ in range(2):
        response = await client.post("/api/v1/photos", content=b"--b--\r\n", headers=headers)
        assert response.status_code == 422, response.text
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):
            sent += 1
            yield b"\0" * 65536

    limited(
        await client.post("/api/v1/photos", content=body(), headers=headers),
        "rate_limited",
        "uploads_per_member",
    )
    assert sent == 0
    other = await client.post(
        "/api/v1/photos", content=b"--b--\r\n", headers={**headers, **org.headers("member_a1b")}
    )
    assert other.status_code == 422


class served:
    """A client of one more app instance: an API process of its own on the same database."""

    def __init__(self, settings: Settings, wechat: FakeWeChat) -> None:
        self._app = running_app(settings, wechat)

    async def __aenter__(self) -> httpx.AsyncClient:
        app = await self._app.__aenter__()
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        )
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        await self._app.__aexit__(None, None, None)


async def test_the_limits_hold_across_api_processes(
    settings: Settings, wechat: FakeWeChat, org: Org
) -> None:
    async with served(settings, wechat) as first, served(settings, wechat) as second:
        spent = await ticket(first, wechat, "openid-1")
        assert (await bind(first, spent, "AAAA1111")).status_code == 400
        assert (await bind(second, spent, "AAAA2222")).status_code == 400
        assert (await bind(first, spent, "AAAA3333")).status_code == 400
        limited(await bind(second, spent, "AAAA4444"), "binding_ticket_spent", "bind_per_ticket")


async def test_concurrent_attempts_are_each_counted(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    spent = await ticket(client, wechat, "openid-1")
    answers = await asyncio.gather(*(bind(client, spent, f"AAAA{n:04d}") for n in range(12)))
    assert Counter(r.status_code for r in answers) == {400: 3, 429: 9}


async def count_counters(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(RateCounter)) or 0)


async def test_a_window_ends_and_its_counter_goes(
    client: httpx.AsyncClient,
    wechat: FakeWeChat,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for _ in range(3):
        assert (await login(client, wechat, "openid-1")).status_code == 200
    limited(await login(client, wechat, "openid-1"), "rate_limited", "login_per_account")
    assert await count_counters(sessionmaker) == 2  # this address, this account

    later = utcnow() + timedelta(seconds=601)
    monkeypatch.setattr(rate_limits, "utcnow", lambda: later)
    assert (await login(client, wechat, "openid-2")).status_code == 200
    # The ended windows were deleted; the address's and the new account's were opened.
    assert await count_counters(sessionmaker) == 2
    assert (await login(client, wechat, "openid-1")).status_code == 200
