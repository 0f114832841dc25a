"""Query budgets of the phone's operations: how many SQL statements one request runs.

Each operation is run once to warm up (caches, the first ranking of a period), then once more
while every statement the app's engine sends is recorded (`before_cursor_execute`). The budget
is today's count, each statement named by what it does; a change that adds, removes or reorders
a statement fails here and updates the list it changes, on purpose. The same requests run on
SQLite and on PostgreSQL, and any difference between the two is written down.

"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.conftest import Org
from tests.fakes.wechat import FakeWeChat
from tests.test_login import _bind_phone, _ticket
from tests.workflow import EARLY_CLOSE, attach, decide, file_claim, photo, shanghai_today

Maker = async_sessionmaker[AsyncSession]


@contextmanager
def recording(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement the engine sends meanwhile, by name (see `named`)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(named(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def named(statement: str) -> str:
    """A statement by its verb and the table it acts on: for a SELECT, the table of its own
    FROM (not of a subquery); one made of subqueries only, by the tables they and its joins
    read."""
    words = statement.replace("(", " ( ").replace(")", " ) ").split()
    verb = words[0].upper()
    depth, tables, top = 0, [], None
    for index, word in enumerate(words[:-1]):
        depth += {"(": 1, ")": -1}.get(word, 0)
        if word.upper() in ("FROM", "INTO", "UPDATE", "JOIN") and words[index + 1] != "(":
            table = words[index + 1].strip('"')
            tables.append(table)
            if depth == 0 and top is None and word.upper() != "JOIN":
                top = table
    if top is None:
        return f"{verb} ({', '.join(dict.fromkeys(tables))})"
    return f"{verb} {top}"


# Each operation's statements, in order, with what each is for; on PostgreSQL, where it differs,
# as `ON_POSTGRESQL` has it.
SIGNED_IN = ("SELECT member", "the signed-in member with their unit, roles and live login")
# With the member scheme in force at the member's unit (their score, home screen and claims).
SIGNED_IN_WITH_SCHEME = (
    "SELECT member",
    "the signed-in member with their unit, roles, live login and the scheme in force there",
)
BUDGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "refresh": (
        ("SELECT refresh_token", "the presented refresh token with its login and member"),
        ("UPDATE refresh_token", "marks it used, once (compare-and-set)"),
        ("INSERT refresh_token", "the new refresh token"),
    ),
    "submit": (
        SIGNED_IN_WITH_SCHEME,
        ("SELECT photo", "the photos are the member's own uploads (kept for the answer)"),
        ("SELECT (period, claim)", "the period's status, and the item's pending claims"),
        ("INSERT claim", "the claim, once per key (ON CONFLICT), its history row by trigger"),
        ("INSERT claim_photo", "its photos"),
        ("INSERT evidence_use", "each photo's use as evidence"),
        ("SELECT evidence_use", "the answer: the claim's uses, how often each group is used"),
    ),
    "inbox": (
        SIGNED_IN,
        ("SELECT notice", "how many notices, and how many unread"),
        ("SELECT notice", "the page, with each notice's delivery"),
    ),
    "approve": (
        SIGNED_IN,
        ("SELECT claim", "the claim with its member, their unit, its scheme and photos"),
        ("SELECT score_entry", "the item's points so far in the claim's period (its cap)"),
        ("INSERT score_entry", "the ledger entry, into the period found open in the INSERT"),
        ("UPDATE claim", "approved (compare-and-set), its history row by trigger"),
        ("INSERT notice", "the member's notice, its delivery by trigger"),
        ("SELECT evidence_use", "the answer: the claim's uses, how often each group is used"),
        ("SELECT photo", "the answer: a signed URL for each photo the reviewer may see"),
    ),
    "my_score": (
        SIGNED_IN_WITH_SCHEME,
        (
            "SELECT (score_entry, period, period_result, live_placement)",
            "the running period, the member's stored ranks, their ledger of the period summed "
            "per item, their earlier results (carry-over, streaks, stars)",
        ),
    ),
    "my_score_before_any_entry": (
        SIGNED_IN_WITH_SCHEME,
        (
            "SELECT (score_entry, period, period_result, live_placement)",
            "the running period (no row yet), the member's ranks, their earlier results",
        ),
    ),
    "home": (
        SIGNED_IN_WITH_SCHEME,
        (
            "SELECT (score_entry, period, period_result, live_placement)",
            "the live score: the running period, the ranks, the ledger, the earlier results",
        ),
        (
            "SELECT (notice, meeting_attendance, meeting, evaluation_round, publication, period, "
            "org_unit, publication_withdrawal, claim)",
            "unread notices; attendance over the period; the rounds of the member's branch "
            "still running and their next meetings; the branch's latest board; the member's "
            "latest pending claims, with how many there are",
        ),
    ),
    "home_of_a_leader": (
        SIGNED_IN_WITH_SCHEME,
        (
            "SELECT (score_entry, period, period_result, live_placement)",
            "the live score: the running period, the ranks, the ledger (none), earlier results",
        ),
        (
            "SELECT (notice, meeting_attendance, meeting, evaluation_round, publication, period, "
            "org_unit, publication_withdrawal, claim)",
            "unread notices; attendance over the period; the rounds of the member's branch "
            "still running and their next meetings; the branch's latest board; the member's "
            "latest pending claims, with how many there are",
        ),
        (
            "SELECT (claim, member, org_unit, appeal, committee_action)",
            "the officer's to-do counts",
        ),
    ),
    "board": (
        SIGNED_IN,
        ("SELECT org_unit", "the board's unit"),
        ("SELECT period", "the period"),
        ("SELECT publication", "the board frozen at publication"),
        ("SELECT member", "who takes objections to it: the unit's secretaries or admins"),
    ),
}
# A submission's claim is inserted only if the period's state allows it, checked in the INSERT;
# an approval's three writes are one statement of data-modifying CTEs, which SQLite lacks.
ON_POSTGRESQL = {
    "submit": (
        *BUDGETS["submit"][:2],
        (
            "INSERT claim",
            "the claim, once per key, if its period is not closed and fewer of the item's "
            "claims are pending than allowed (the period's status read with a share lock)",
        ),
        *BUDGETS["submit"][4:],
    ),
    "approve": (
        *BUDGETS["approve"][:3],
        (
            "WITH notice",
            "the ledger entry into the open period, the claim approved (compare-and-set) and "
            "linked to it, the member's notice (each trigger as before)",
        ),
        *BUDGETS["approve"][6:],
    ),
}


Send = Callable[[], Awaitable[httpx.Response]]


@dataclass
class Phone:
    """The world the operations run in: 路头村 over the town, member_a1 on their phone."""

    client: httpx.AsyncClient
    org: Org
    sessionmaker: Maker
    wechat: FakeWeChat
    scheme_id: int
    state: dict[str, Any]

    def as_(self, who: str) -> dict[str, str]:
        return self.org.headers(who)


async def refresh(phone: Phone, round_no: int) -> Send:
    if round_no == 0:
        ticket = await _ticket(phone.client, phone.wechat, "c-budget", "openid-a1")
        bound = await _bind_phone(phone.client, phone.wechat, ticket, "13900000005")
        phone.state["refresh_token"] = bound.json()["refresh_token"]

    async def send() -> httpx.Response:
        body = {"refresh_token": phone.state["refresh_token"]}
        response = await phone.client.post("/api/v1/auth/refresh", json=body)
        phone.state["refresh_token"] = response.json()["refresh_token"]
        return response

    return send


async def submit(phone: Phone, round_no: int) -> Send:
    pic = await photo(phone.sessionmaker, phone.org, "member_a1", f"submit{round_no}")
    return lambda: file_claim(phone.client, phone.org, "member_a1", f"budget-{round_no}", [pic])


async def pending_final_step(phone: Phone, round_no: int) -> int:
    """A claim of member_a1 its group leader confirmed: waiting for the branch's approval."""
    pic = await photo(phone.sessionmaker, phone.org, "member_a1", f"approve{round_no}")
    filed = await file_claim(phone.client, phone.org, "member_a1", f"approve-{round_no}", [pic])
    claim_id = int(filed.json()["id"])
    assert (await decide(phone.client, phone.org, "leader_a1", claim_id)).status_code == 200
    return claim_id


async def approve(phone: Phone, round_no: int) -> Send:
    claim_id = await pending_final_step(phone, round_no)
    return lambda: decide(phone.client, phone.org, "secretary_a", claim_id)


async def inbox(phone: Phone, round_no: int) -> Send:
    if round_no == 0:  # notices to list: an approval's, and its claim's steps
        claim_id = await pending_final_step(phone, round_no)
        await decide(phone.client, phone.org, "secretary_a", claim_id)
    return lambda: phone.client.get("/api/v1/me/notices", headers=phone.as_("member_a1"))


async def adjusted(phone: Phone, item: str) -> None:
    """An entry for member_a1 today, by the admin."""
    response = await phone.client.post(
        f"/api/v1/members/{phone.org.id('member_a1')}/adjustments",
        json={
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "参加防汛抢险",
        },
        headers=phone.as_("admin"),
    )
    assert response.status_code == 201, response.text


async def my_score_before_any_entry(phone: Phone, round_no: int) -> Send:
    url = f"/api/v1/members/{phone.org.id('member_a1')}/score"
    return lambda: phone.client.get(url, headers=phone.as_("member_a1"))


async def my_score(phone: Phone, round_no: int) -> Send:
    if round_no == 0:
        await adjusted(phone, "village_cleaning")
    return await my_score_before_any_entry(phone, round_no)


async def board(phone: Phone, round_no: int) -> Send:
    if round_no == 0:
        admin = phone.as_("admin")
        adjusted = await phone.client.post(
            f"/api/v1/members/{phone.org.id('member_a1')}/adjustments",
            json={
                "item_code": "flood_fighting",
                "occurred_on": shanghai_today().isoformat(),
                "reason": "防汛",
            },
            headers=admin,
        )
        assert adjusted.status_code == 201, adjusted.text
        listed = await phone.client.get(f"/api/v1/schemes/{phone.scheme_id}/periods", headers=admin)
        period_id = listed.json()[0]["id"]
        url = f"/api/v1/periods/{period_id}"
        closed = await phone.client.post(f"{url}/close", json=EARLY_CLOSE, headers=admin)
        assert closed.status_code == 200, closed.text
        assert (await phone.client.post(f"{url}/publish", headers=admin)).status_code == 200
        phone.state["board"] = f"{url}/boards/{phone.org.unit_id('branch_a')}"
    return lambda: phone.client.get(phone.state["board"], headers=phone.as_("member_a1"))


async def home(phone: Phone, round_no: int) -> Send:
    if round_no == 0:  # a score, and a claim waiting
        await adjusted(phone, "village_cleaning")
        assert (await (await submit(phone, round_no))()).status_code == 201
    return lambda: phone.client.get("/api/v1/me/home", headers=phone.as_("member_a1"))


async def home_of_a_leader(phone: Phone, round_no: int) -> Send:
    if round_no == 0:  # a claim waiting for the leader
        assert (await (await submit(phone, round_no))()).status_code == 201
    return lambda: phone.client.get("/api/v1/me/home", headers=phone.as_("leader_a1"))


OPERATIONS: dict[str, Callable[[Phone, int], Awaitable[Send]]] = {
    "refresh": refresh,
    "submit": submit,
    "inbox": inbox,
    "approve": approve,
    "my_score": my_score,
    "my_score_before_any_entry": my_score_before_any_entry,
    "board": board,
    "home": home,
    "home_of_a_leader": home_of_a_leader,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_statements_of_each_phone_operation(
    operation: str,
    app: FastAPI,
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: Maker,
    wechat: FakeWeChat,
) -> None:
    phone = Phone(client, org, sessionmaker, wechat, await attach(client, org, "lutou"), {})
    engine: AsyncEngine = app.state.engine
    for round_no in (0, 1):  # a warm-up, then the request counted
        send = await OPERATIONS[operation](phone, round_no)
        with recording(engine) as seen:
            response = await send()
        assert response.status_code in (200, 201), response.text
    budget = BUDGETS[operation]
    if engine.dialect.name == "postgresql":
        budget = ON_POSTGRESQL.get(operation, budget)
    assert seen == [name for name, _ in budget]
