"""Scan to sign in on a PC (扫码登录): one-time tickets confirmed from the mini-program, and the
console's own login, listed among the member's logins and ended like any of them."""

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select, update

from api.config import Settings
from api.models import ConsoleTicket, LoginSession, Member, MemberStatus, utcnow
from api.services import auth as auth_service
from api.services import sessions as sessions_service
from tests.conftest import Org, make_settings, running_app
from tests.fakes.wechat import FakeWeChat
from tests.test_login import LOGIN
from tests.test_sessions import _bound

Maker = async_sessionmaker[AsyncSession]
TICKETS = "/api/v1/auth/console-tickets"
SESSIONS = "/api/v1/me/sessions"


class Clock:
    """Moves the clock of the tickets and of the logins forward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = timedelta()
        real: Callable[[], datetime] = utcnow
        for module in (auth_service, sessions_service):
            monkeypatch.setattr(module, "utcnow", lambda: real() + self.offset)

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def new_ticket(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post(
        TICKETS, headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Chrome/120"}
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, Any] = response.json()
    return body


async def poll(client: httpx.AsyncClient, ticket: dict[str, Any]) -> httpx.Response:
    return await client.get(
        f"{TICKETS}/{ticket['ticket_id']}", headers={"X-Ticket-Secret": ticket["secret"]}
    )


async def confirm(
    client: httpx.AsyncClient, ticket: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    return await client.post(f"{TICKETS}/{ticket['ticket_id']}/confirm", headers=headers)


async def signed_in_console(
    client: httpx.AsyncClient, phone_tokens: dict[str, Any]
) -> dict[str, Any]:
    ticket = await new_ticket(client)
    assert (await confirm(client, ticket, bearer(phone_tokens))).status_code == 200
    answer = await poll(client, ticket)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


async def test_scanning_signs_the_console_in_with_a_login_of_its_own(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    phone = await _bound(client, wechat)
    ticket = await new_ticket(client)
    assert ticket["qr_content"] == f"pioneer-console:{ticket['ticket_id']}"
    waiting = await poll(client, ticket)
    assert waiting.status_code == 200
    assert waiting.json() == {"status": "pending", "expires_at": ticket["expires_at"]}

    confirmed = await confirm(client, ticket, bearer(phone))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["client"] == "Mozilla/5.0 (Windows NT 10.0) Chrome/120"
    console = (await poll(client, ticket)).json()
    assert console["status"] == "bound"
    assert console["member"]["id"] == org.id("member_a1")
    assert console["access_token"] != phone["access_token"]

    me_phone = await client.get("/api/v1/me", headers=bearer(phone))
    me_console = await client.get("/api/v1/me", headers=bearer(console))
    assert me_console.status_code == 200
    assert me_console.json() == me_phone.json()
    async with sessionmaker() as session:
        login = await session.get(LoginSession, console["session_id"])
    assert login is not None
    assert (login.kind, login.client) == ("console", "Mozilla/5.0 (Windows NT 10.0) Chrome/120")
    lifetime = login.expires_at - login.created_at
    assert lifetime == timedelta(hours=org.settings.console_session_hours)
    assert lifetime < org.settings.session_max_age
    latest = datetime.fromisoformat(console["refresh_token_expires_at"])
    assert latest <= login.expires_at
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": console["refresh_token"]}
    )
    assert datetime.fromisoformat(refreshed.json()["refresh_token_expires_at"]) <= login.expires_at


async def test_a_ticket_is_redeemed_once_and_confirmed_once(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    phone = await _bound(client, wechat)
    ticket = await new_ticket(client)
    first = await confirm(client, ticket, bearer(phone))
    # The phone retrying its confirmation gets the same answer; nobody else can take it over.
    again = await confirm(client, ticket, bearer(phone))
    assert (again.status_code, again.json()) == (200, first.json())
    taken = await confirm(client, ticket, org.headers("member_a2"))
    assert error(taken) == (404, "console_ticket_invalid")

    assert (await poll(client, ticket)).json()["status"] == "bound"
    assert error(await poll(client, ticket)) == (404, "console_ticket_invalid")
    assert error(await confirm(client, ticket, bearer(phone))) == (404, "console_ticket_invalid")


async def test_two_members_confirming_at_once_one_ticket_go_to_one_of_them(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    ticket = await new_ticket(client)
    answers = await asyncio.gather(
        *(confirm(client, ticket, org.headers(key)) for key in ("member_a1", "member_a2"))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 404]
    winner = "member_a1" if answers[0].status_code == 200 else "member_a2"
    console = (await poll(client, ticket)).json()
    assert console["member"]["id"] == org.id(winner)


async def test_a_wrong_secret_redeems_nothing(client: httpx.AsyncClient, org: Org) -> None:
    ticket = await new_ticket(client)
    await confirm(client, ticket, org.headers("secretary_a"))
    forged = {**ticket, "secret": ticket["secret"][:-2] + "xx"}
    assert error(await poll(client, forged)) == (404, "console_ticket_invalid")
    unknown = {**ticket, "ticket_id": "no-such-ticket"}
    assert error(await poll(client, unknown)) == (404, "console_ticket_invalid")
    assert (await poll(client, ticket)).json()["member"]["id"] == org.id("secretary_a")


async def test_a_ticket_expires_within_minutes(
    client: httpx.AsyncClient, org: Org, clock: Clock
) -> None:
    ticket = await new_ticket(client)
    expires_at = datetime.fromisoformat(ticket["expires_at"])
    assert expires_at - utcnow() <= timedelta(minutes=org.settings.console_ticket_minutes)
    clock.advance(minutes=org.settings.console_ticket_minutes, seconds=1)
    assert error(await confirm(client, ticket, org.headers("member_a1"))) == (
        410,
        "console_ticket_expired",
    )
    assert error(await poll(client, ticket)) == (410, "console_ticket_expired")

    # Confirmed in time but not collected in time: the console asks for a new code.
    late = await new_ticket(client)
    assert (await confirm(client, late, org.headers("member_a1"))).status_code == 200
    clock.advance(minutes=org.settings.console_ticket_minutes, seconds=1)
    assert error(await poll(client, late)) == (410, "console_ticket_expired")


async def test_tickets_that_died_unused_are_deleted_a_day_later(
    client: httpx.AsyncClient, org: Org, clock: Clock, sessionmaker: Maker
) -> None:
    unused = await new_ticket(client)
    used = await new_ticket(client)
    await confirm(client, used, org.headers("member_a1"))
    await poll(client, used)
    clock.advance(days=1, minutes=org.settings.console_ticket_minutes + 1)
    await new_ticket(client)
    async with sessionmaker() as session:
        kept = set(await session.scalars(select(ConsoleTicket.ref)))
    assert unused["ticket_id"] not in kept
    assert used["ticket_id"] in kept
    assert len(kept) == 2


async def test_only_a_member_signed_in_on_the_mini_program_confirms(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    ticket = await new_ticket(client)
    nobody = await client.post(f"{TICKETS}/{ticket['ticket_id']}/confirm")
    assert error(nobody) == (401, "not_authenticated")
    # A WeChat user not bound to a roster member holds a binding ticket, not a login.
    wechat.add_login("c-unbound", "openid-unbound")
    unbound = (await client.post(LOGIN, json={"code": "c-unbound"})).json()
    assert unbound["status"] == "unbound"
    as_unbound = await confirm(
        client, ticket, {"Authorization": f"Bearer {unbound['binding_ticket']}"}
    )
    assert error(as_unbound) == (401, "invalid_token")
    # A console cannot sign another console in (nor itself again, past its lifetime).
    console = await signed_in_console(client, await _bound(client, wechat))
    assert error(await confirm(client, ticket, bearer(console))) == (
        403,
        "console_confirm_needs_miniprogram",
    )
    # A member who has left the organisation signs nothing in.
    async with sessionmaker() as session:
        await session.execute(
            update(Member)
            .where(col(Member.id) == org.id("member_a2"))
            .values(status=MemberStatus.transferred_out)
        )
        await session.commit()
    assert error(await confirm(client, ticket, org.headers("member_a2"))) == (
        403,
        "member_inactive",
    )
    assert (await poll(client, ticket)).json()["status"] == "pending"


async def test_the_ticket_secret_travels_in_a_header_and_is_never_logged(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ticket = await new_ticket(client)
    # Not taken from a URL, which access logs (ours and every proxy's) write down.
    in_query = await client.get(
        f"{TICKETS}/{ticket['ticket_id']}", params={"secret": ticket["secret"]}
    )
    assert error(in_query) == (422, "validation_error")
    await confirm(client, ticket, org.headers("member_a1"))
    assert (await poll(client, ticket)).json()["status"] == "bound"
    async with sessionmaker() as session:
        stored = await session.scalar(
            select(ConsoleTicket).where(col(ConsoleTicket.ref) == ticket["ticket_id"])
        )
    assert stored is not None
    assert ticket["secret"] not in repr(stored.model_dump())
    assert caplog.records, "the flow logs at DEBUG: the check below reads something"
    assert ticket["secret"] not in caplog.text


async def test_logins_are_listed_and_a_console_is_signed_out_from_the_phone(
    client: httpx.AsyncClient, wechat: FakeWeChat, org: Org
) -> None:
    phone = await _bound(client, wechat)
    console = await signed_in_console(client, phone)
    listed = await client.get(SESSIONS, headers=bearer(phone))
    assert listed.status_code == 200
    # Besides the harness's own login of member_a1 (made with the `org` fixture).
    shown = {
        (login["kind"], login["kind_label"], login["current"])
        for login in listed.json()
        if login["id"] != org.logins["member_a1"]
    }
    assert shown == {("console", "PC 控制台", False), ("miniprogram", "小程序", True)}
    seen_from_console = await client.get(SESSIONS, headers=bearer(console))
    current = [login["id"] for login in seen_from_console.json() if login["current"]]
    assert current == [console["session_id"]]

    ended = await client.delete(f"{SESSIONS}/{console['session_id']}", headers=bearer(phone))
    assert ended.status_code == 204
    assert error(await client.get("/api/v1/me", headers=bearer(console))) == (401, "invalid_token")
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": console["refresh_token"]}
    )
    assert error(refreshed) == (401, "invalid_refresh_token")
    remaining = (await client.get(SESSIONS, headers=bearer(phone))).json()
    assert console["session_id"] not in {login["id"] for login in remaining}
    assert {login["kind"] for login in remaining} == {"miniprogram"}
    again = await client.delete(f"{SESSIONS}/{console['session_id']}", headers=bearer(phone))
    assert error(again) == (404, "login_not_found")
    # Another member's login is not theirs to end, even for the secretary over them.
    others = await client.delete(
        f"{SESSIONS}/{org.logins['member_a1']}", headers=org.headers("secretary_a")
    )
    assert error(others) == (404, "login_not_found")
    assert (await client.get("/api/v1/me", headers=org.headers("member_a1"))).status_code == 200


async def test_ticket_creation_is_limited_per_address(
    database_url: str, tmp_path: Path, wechat: FakeWeChat
) -> None:
    settings = make_settings(database_url, console_tickets_per_address=2)
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for _ in range(2):
                assert (await client.post(TICKETS)).status_code == 201
            refused = await client.post(TICKETS)
    assert error(refused) == (429, "rate_limited")
    assert refused.json()["detail"]["limit"] == "console_tickets_per_address"
    assert 0 < int(refused.headers["Retry-After"]) <= settings.rate_window_seconds


async def test_the_qr_code_is_a_link_the_mini_program_opens_where_one_is_configured(
    database_url: str, wechat: FakeWeChat
) -> None:
    settings = make_settings(database_url, console_link_base="https://example.cn/console")
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ticket = await new_ticket(client)
    assert ticket["qr_content"] == f"https://example.cn/console?t={ticket['ticket_id']}"


async def test_the_dev_login_may_sign_a_console_in(
    database_url: str, wechat: FakeWeChat, org: Org, sessionmaker: Maker
) -> None:
    settings: Settings = make_settings(database_url, wechat_app_id="", wechat_app_secret="")
    async with running_app(settings, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            login = await client.post(
                "/api/v1/auth/dev/login", json={"phone": "13900000002", "console": True}
            )
            assert login.status_code == 200, login.text
            listed = await client.get(SESSIONS, headers=bearer(login.json()))
    [current] = [item for item in listed.json() if item["current"]]
    assert current["kind"] == "console"
    lifetime = datetime.fromisoformat(current["expires_at"]) - datetime.fromisoformat(
        current["created_at"]
    )
    assert lifetime == timedelta(hours=settings.console_session_hours)
