"""Logins and their token families: rotation with a grace window, reuse, lifetime, logout."""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.models import LoginSession, RefreshToken, SessionEnd, WeChatAccount, utcnow
from api.services import auth as auth_service
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.test_login import LOGIN, _bind_phone, _ticket

Maker = async_sessionmaker[AsyncSession]
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


class Clock:
    """Moves the auth service's clock forward (the JWT library keeps the real one)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real: Callable[[], datetime] = utcnow
        monkeypatch.setattr(auth_service, "utcnow", lambda: real() + self.offset)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


async def _bound(client: httpx.AsyncClient, wechat: FakeWeChat) -> dict[str, Any]:
    """member_a1 binds their WeChat account: the first login's tokens."""
    ticket = await _ticket(client, wechat, "c-bind", "openid-a1")
    response = await _bind_phone(client, wechat, ticket, "13900000005")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _login_again(client: httpx.AsyncClient, wechat: FakeWeChat, code: str) -> dict[str, Any]:
    """The bound member signs in on another device: a second login."""
    wechat.add_login(code, "openid-a1")
    response = await client.post(LOGIN, json={"code": code})
    assert response.json()["status"] == "bound", response.text
    body: dict[str, Any] = response.json()
    return body


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def _me(client: httpx.AsyncClient, tokens: dict[str, Any]) -> int:
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    return (await client.get("/api/v1/me", headers=headers)).status_code


async def _logins(sessionmaker: Maker, org: Org) -> list[LoginSession]:
    """The logins made through the API (not the harness's own, one per member)."""
    async with sessionmaker() as session:
        return list(
            await session.scalars(
                select(LoginSession)
                .where(col(LoginSession.id).not_in(org.logins.values()))
                .order_by(col(LoginSession.id))
            )
        )


async def test_reusing_a_rotated_token_revokes_every_token_of_its_login(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    first = await _bound(client, wechat)
    other_device = await _login_again(client, wechat, "c-other")
    second = (await _refresh(client, first["refresh_token"])).json()
    third = (await _refresh(client, second["refresh_token"])).json()
    assert await _me(client, third) == 200

    # The first token was superseded twice: whoever presents it, the login is compromised.
    reused = await _refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"

    latest = await _refresh(client, third["refresh_token"])
    assert latest.status_code == 401
    assert latest.json()["code"] == "invalid_refresh_token"
    assert [await _me(client, tokens) for tokens in (first, second, third)] == [401] * 3
    assert await _me(client, other_device) == 200
    assert (await _refresh(client, other_device["refresh_token"])).status_code == 200
    revoked = [login.revoked_reason for login in await _logins(sessionmaker, org)]
    assert revoked == [SessionEnd.reuse, None]


async def test_a_rotated_token_presented_after_the_grace_window_is_reuse(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, clock: Clock
) -> None:
    first = await _bound(client, wechat)
    second = (await _refresh(client, first["refresh_token"])).json()
    clock.advance(seconds=org.settings.refresh_grace_seconds + 1)
    reused = await _refresh(client, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    assert (await _refresh(client, second["refresh_token"])).status_code == 401


async def test_parallel_refreshes_of_one_token_all_get_the_same_new_pair(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    first = await _bound(client, wechat)
    answers = await asyncio.gather(*(_refresh(client, first["refresh_token"]) for _ in range(5)))
    assert [answer.status_code for answer in answers] == [200] * 5, answers[-1].text
    pairs = {
        (body["access_token"], body["refresh_token"], body["refresh_token_expires_at"])
        for body in (answer.json() for answer in answers)
    }
    assert len(pairs) == 1
    [(_access, refresh_token, _expires)] = pairs
    assert refresh_token != first["refresh_token"]
    assert await _me(client, answers[0].json()) == 200
    assert (await _refresh(client, refresh_token)).status_code == 200
    async with sessionmaker() as session:
        tokens = await session.scalar(select(func.count()).select_from(RefreshToken))
    assert (len(await _logins(sessionmaker, org)), tokens) == (1, 3)


async def test_a_token_presented_again_within_the_grace_window_gets_the_same_pair(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, clock: Clock
) -> None:
    first = await _bound(client, wechat)
    answer = (await _refresh(client, first["refresh_token"])).json()
    clock.advance(seconds=org.settings.refresh_grace_seconds / 2)
    again = await _refresh(client, first["refresh_token"])
    assert again.status_code == 200
    assert again.json() == answer


async def test_without_a_grace_window_a_second_use_is_reuse_at_once(
    database_url: str, wechat: FakeWeChat, org: Org
) -> None:
    settings = make_settings(database_url, refresh_grace_seconds=0)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await _bound(client, wechat)
            assert (await _refresh(client, first["refresh_token"])).status_code == 200
            again = await _refresh(client, first["refresh_token"])
    assert again.status_code == 401
    assert again.json()["code"] == "refresh_token_reused"


async def test_a_login_ends_after_its_lifetime_however_often_it_is_refreshed(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, clock: Clock
) -> None:
    lifetime = org.settings.session_max_days
    idle = org.settings.refresh_token_days
    tokens = await _bound(client, wechat)
    # Refreshed well within the idle timeout, again and again, up to the end of the lifetime.
    for _ in range(lifetime // (idle - 1)):
        clock.advance(days=idle - 1)
        answer = await _refresh(client, tokens["refresh_token"])
        assert answer.status_code == 200, answer.text
        tokens = answer.json()
    clock.advance(days=lifetime % (idle - 1) + 1)
    assert (await _refresh(client, tokens["refresh_token"])).status_code == 401
    assert await _me(client, tokens) == 401


async def test_logout_revokes_the_login_and_its_access_tokens(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    phone = await _bound(client, wechat)
    tablet = await _login_again(client, wechat, "c-tablet")
    response = await client.post(LOGOUT, json={"refresh_token": phone["refresh_token"]})
    assert response.status_code == 204, response.text
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    assert await _me(client, phone) == 401
    assert await _me(client, tablet) == 200
    assert [login.revoked_reason for login in await _logins(sessionmaker, org)] == [
        SessionEnd.logout,
        None,
    ]


async def test_logout_everywhere_revokes_every_login_of_the_member(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    phone = await _bound(client, wechat)
    tablet = await _login_again(client, wechat, "c-tablet")
    someone_else = await client.get("/api/v1/me", headers=org.headers("member_a2"))
    response = await client.post(
        LOGOUT, json={"refresh_token": tablet["refresh_token"], "everywhere": True}
    )
    assert response.status_code == 204, response.text
    assert [await _me(client, tokens) for tokens in (phone, tablet)] == [401, 401]
    assert (await _refresh(client, phone["refresh_token"])).status_code == 401
    assert someone_else.status_code == 200
    assert (await client.get("/api/v1/me", headers=org.headers("member_a2"))).status_code == 200


async def test_logout_with_a_reused_token_is_refused_and_revokes_its_login(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    first = await _bound(client, wechat)
    second = (await _refresh(client, first["refresh_token"])).json()
    third = (await _refresh(client, second["refresh_token"])).json()
    response = await client.post(
        LOGOUT, json={"refresh_token": first["refresh_token"], "everywhere": True}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "refresh_token_reused"
    assert await _me(client, third) == 401


async def test_concurrent_first_logins_of_one_wechat_user_all_succeed(
    client: httpx.AsyncClient, wechat: FakeWeChat, sessionmaker: Maker
) -> None:
    for n in range(10):
        wechat.add_login(f"c{n}", "openid-new")
    answers = await asyncio.gather(*(client.post(LOGIN, json={"code": f"c{n}"}) for n in range(10)))
    assert [answer.status_code for answer in answers] == [200] * 10, [
        answer.text for answer in answers if answer.status_code != 200
    ]
    assert {answer.json()["status"] for answer in answers} == {"unbound"}
    async with sessionmaker() as session:
        accounts = list(await session.scalars(select(WeChatAccount)))
    assert [account.openid for account in accounts] == ["openid-new"]
