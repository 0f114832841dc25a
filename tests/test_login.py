"""WeChat login and binding through the API, against the fake WeChat server."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import InviteCode, utcnow
from api.services import auth as auth_service
from tests.conftest import Org
from tests.fakes.wechat import FakeWeChat

LOGIN = "/api/v1/auth/wechat/login"
BIND_PHONE = "/api/v1/auth/bind/phone"
BIND_INVITE = "/api/v1/auth/bind/invite"


async def _ticket(client: httpx.AsyncClient, wechat: FakeWeChat, code: str, openid: str) -> str:
    wechat.add_login(code, openid)
    response = await client.post(LOGIN, json={"code": code})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "unbound"
    return str(body["binding_ticket"])


async def _bind_phone(
    client: httpx.AsyncClient, wechat: FakeWeChat, ticket: str, phone: str, code: str = "p1"
) -> httpx.Response:
    wechat.add_phone(code, phone)
    return await client.post(BIND_PHONE, json={"binding_ticket": ticket, "phone_code": code})


async def test_first_login_gets_a_binding_ticket_and_never_the_session_key(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    wechat.add_login("c1", "openid-1")
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "unbound"
    assert body["binding_ticket"]
    assert wechat.session_keys["openid-1"] not in response.text
    assert "session_key" not in response.text


async def test_binding_by_phone_then_login_returns_tokens(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    bound = await _bind_phone(client, wechat, ticket, "13900000005")
    assert bound.status_code == 200, bound.text
    assert bound.json()["member"]["id"] == org.id("member_a1")
    assert wechat.session_keys["openid-1"] not in bound.text

    wechat.add_login("c2", "openid-1")
    again = await client.post(LOGIN, json={"code": "c2"})
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "bound"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["member"]["name"] == "member_a1"


async def test_phone_number_given_as_a_number_country_code_is_accepted(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    wechat.add_phone("p-num", "13900000005", country_code=86)
    response = await client.post(BIND_PHONE, json={"binding_ticket": ticket, "phone_code": "p-num"})
    assert response.status_code == 200


async def test_phone_not_on_the_roster_is_refused(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    response = await _bind_phone(client, wechat, ticket, "13700000000")
    assert response.status_code == 404
    assert response.json()["code"] == "roster_member_not_found"


async def test_a_member_cannot_be_bound_to_a_second_wechat_account(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    first = await _ticket(client, wechat, "c1", "openid-1")
    assert (await _bind_phone(client, wechat, first, "13900000005", "p1")).status_code == 200
    second = await _ticket(client, wechat, "c2", "openid-2")
    response = await _bind_phone(client, wechat, second, "13900000005", "p2")
    assert response.status_code == 409
    assert response.json()["code"] == "member_already_bound"


async def test_a_bound_wechat_account_cannot_bind_again(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    assert (await _bind_phone(client, wechat, ticket, "13900000005", "p1")).status_code == 200
    response = await _bind_phone(client, wechat, ticket, "13900000006", "p2")
    assert response.status_code == 409
    assert response.json()["code"] == "wechat_already_bound"


async def test_invalid_login_code_40029_is_a_clear_error(
    client: httpx.AsyncClient, wechat: FakeWeChat
) -> None:
    response = await client.post(LOGIN, json={"code": "never-issued"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "wechat_code_invalid"
    assert body["detail"]["errcode"] == 40029


async def test_a_login_code_works_only_once(client: httpx.AsyncClient, wechat: FakeWeChat) -> None:
    await _ticket(client, wechat, "c1", "openid-1")
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 400
    assert response.json()["code"] == "wechat_code_invalid"


async def test_rate_limit_45011_is_a_429(client: httpx.AsyncClient, wechat: FakeWeChat) -> None:
    wechat.add_login("c1", "openid-1")
    wechat.fail("jscode2session", 45011, "api minute-quota reach limit")
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 429
    assert response.json()["code"] == "wechat_rate_limited"


async def test_busy_minus_one_is_retried(client: httpx.AsyncClient, wechat: FakeWeChat) -> None:
    wechat.add_login("c1", "openid-1")
    wechat.fail("jscode2session", -1, "system error")
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 200
    assert response.json()["status"] == "unbound"
    assert wechat.calls["jscode2session"] == 2


async def test_persistent_busy_is_a_503_and_writes_nothing(
    client: httpx.AsyncClient, wechat: FakeWeChat
) -> None:
    wechat.add_login("c1", "openid-1")
    wechat.fail("jscode2session", -1, "system error", times=10)
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 503
    assert response.json()["code"] == "wechat_busy"
    assert wechat.calls["jscode2session"] == 3


async def test_high_risk_user_40226_is_refused(
    client: httpx.AsyncClient, wechat: FakeWeChat
) -> None:
    wechat.add_login("c1", "openid-1")
    wechat.fail("jscode2session", 40226, "high risk user")
    response = await client.post(LOGIN, json={"code": "c1"})
    assert response.status_code == 403
    assert response.json()["code"] == "wechat_user_blocked"


async def test_stale_access_token_is_reloaded_once(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    first = await _ticket(client, wechat, "c1", "openid-1")
    assert (await _bind_phone(client, wechat, first, "13900000005", "p1")).status_code == 200
    wechat.expire_tokens()
    second = await _ticket(client, wechat, "c2", "openid-2")
    response = await _bind_phone(client, wechat, second, "13900000006", "p2")
    assert response.status_code == 200, response.text
    assert wechat.calls["stable_token"] == 2


async def test_invite_code_binds_once(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    issued = await client.post(
        f"/api/v1/members/{org.id('member_a2')}/invite-codes",
        headers=org.headers("secretary_a"),
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]

    ticket = await _ticket(client, wechat, "c1", "openid-1")
    bound = await client.post(
        BIND_INVITE, json={"binding_ticket": ticket, "invite_code": code.lower()}
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["member"]["id"] == org.id("member_a2")

    other = await _ticket(client, wechat, "c2", "openid-2")
    reused = await client.post(BIND_INVITE, json={"binding_ticket": other, "invite_code": code})
    assert reused.status_code == 400
    assert reused.json()["code"] == "invite_code_invalid"


async def test_expired_invite_code_is_refused(
    client: httpx.AsyncClient,
    wechat: FakeWeChat,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    issued = await client.post(
        f"/api/v1/members/{org.id('member_a2')}/invite-codes",
        headers=org.headers("secretary_a"),
    )
    code = issued.json()["code"]
    async with sessionmaker() as session:
        await session.execute(
            update(InviteCode).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
        await session.commit()
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    response = await client.post(BIND_INVITE, json={"binding_ticket": ticket, "invite_code": code})
    assert response.status_code == 400
    assert response.json()["code"] == "invite_code_invalid"


async def test_invite_codes_are_issued_only_within_scope(
    client: httpx.AsyncClient, org: Org
) -> None:
    path = f"/api/v1/members/{org.id('member_b1')}/invite-codes"
    outside = await client.post(path, headers=org.headers("secretary_a"))
    assert outside.status_code == 404
    as_member = await client.post(path, headers=org.headers("member_b1"))
    assert as_member.status_code == 403
    as_leader = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/invite-codes", headers=org.headers("leader_a1")
    )
    assert as_leader.status_code == 403


async def test_forged_binding_ticket_is_refused(client: httpx.AsyncClient, org: Org) -> None:
    response = await client.post(
        BIND_INVITE, json={"binding_ticket": "not-a-ticket", "invite_code": "ABCDEFGH"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_binding_ticket"


async def test_an_access_token_is_not_a_binding_ticket(client: httpx.AsyncClient, org: Org) -> None:
    token = org.headers("member_a1")["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        BIND_INVITE, json={"binding_ticket": token, "invite_code": "ABCDEFGH"}
    )
    assert response.status_code == 401


async def test_transferred_out_member_cannot_bind_or_use_old_tokens(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    left = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        headers=org.headers("secretary_a"),
        json={"transferred_out_on": "2026-10-01"},
    )
    assert left.status_code == 200, left.text
    assert left.json()["status"] == "transferred_out"
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    response = await _bind_phone(client, wechat, ticket, "13900000005")
    assert response.status_code == 403
    assert response.json()["code"] == "member_inactive"
    me = await client.get("/api/v1/me", headers=org.headers("member_a1"))
    assert me.status_code == 403


async def test_refresh_rotates_and_a_used_refresh_token_is_refused(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = await _ticket(client, wechat, "c1", "openid-1")
    tokens = (await _bind_phone(client, wechat, ticket, "13900000005")).json()
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    # Presented again within the grace window, the used token would get the same new pair.
    later = utcnow() + timedelta(seconds=org.settings.refresh_grace_seconds + 1)
    monkeypatch.setattr(auth_service, "utcnow", lambda: later)
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"


async def test_empty_login_code_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(LOGIN, json={"code": ""})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == "请求参数有误：「登录凭证」不能为空"


async def test_concurrent_bindings_of_one_member_let_exactly_one_through(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    tickets = [await _ticket(client, wechat, f"c{i}", f"openid-{i}") for i in range(5)]
    for i in range(5):
        wechat.add_phone(f"p{i}", "13900000005")
    responses = await asyncio.gather(
        *(
            client.post(BIND_PHONE, json={"binding_ticket": t, "phone_code": f"p{i}"})
            for i, t in enumerate(tickets)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409, 409]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"member_already_bound"}
