"""Publication: the frozen board, the poster, the branch robot posts and the Excel exports."""

import base64
import hashlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zipfile import ZipFile

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from PIL import Image
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.models import (
    BranchRobot,
    Delivery,
    Member,
    Notice,
    OrgUnit,
    PostKind,
    PostStatus,
    Publication,
    RobotPost,
    utcnow,
)
from api.publication.board import Board, BoardRow, TierCount
from api.services import exports, robots
from api.wechat.wecom import RobotClient
from tests.conftest import UNIT_NAMES, Org
from tests.fakes.wechat import FakeWeChat
from tests.workflow import EARLY_CLOSE, attach, shanghai_today

Maker = async_sessionmaker[AsyncSession]
KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
OTHER_KEY = "11111111-2222-3333-4444-555555555555"
# member → (item, times): branch A's ranking is member_a1 70, member_a2 65, the rest 60.
POINTS = {"member_a1": ("flood_fighting", 2), "member_a2": ("flood_fighting", 1)}


async def adjust(client: httpx.AsyncClient, org: Org, member: str, item: str) -> None:
    response = await client.post(
        f"/api/v1/members/{org.id(member)}/adjustments",
        json={
            "item_code": item,
            "occurred_on": shanghai_today().isoformat(),
            "reason": "大堤巡查两天",
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text


async def open_period(client: httpx.AsyncClient, org: Org, scheme_id: int) -> int:
    periods = await client.get(f"/api/v1/schemes/{scheme_id}/periods", headers=org.headers("admin"))
    return int(periods.json()[0]["id"])


@pytest.fixture
async def closed(client: httpx.AsyncClient, org: Org) -> int:
    """路头村 over the town, a few adjustments, the period closed (not yet published)."""
    scheme_id = await attach(client, org, "lutou")
    for member, (item, times) in POINTS.items():
        for _ in range(times):
            await adjust(client, org, member, item)
    period_id = await open_period(client, org, scheme_id)
    response = await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert response.status_code == 200, response.text
    return period_id


async def publish(client: httpx.AsyncClient, org: Org, period_id: int) -> None:
    response = await client.post(
        f"/api/v1/periods/{period_id}/publish", headers=org.headers("admin")
    )
    assert response.status_code == 200, response.text


@pytest.fixture
async def published(client: httpx.AsyncClient, org: Org, closed: int) -> int:
    await publish(client, org, closed)
    return closed


async def configure(
    client: httpx.AsyncClient, org: Org, key: str = KEY, who: str = "secretary_a", **extra: Any
) -> httpx.Response:
    return await client.put(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/robot",
        json={"key": key, **extra},
        headers=org.headers(who),
    )


@pytest.fixture
async def robot_client(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[RobotClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield RobotClient(settings, http)


async def posts(sessionmaker: Maker) -> list[RobotPost]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(RobotPost).order_by(col(RobotPost.id))))


def board_url(org: Org, period_id: int, unit: str = "branch_a") -> str:
    return f"/api/v1/periods/{period_id}/boards/{org.unit_id(unit)}"


# --- the board --------------------------------------------------------------------------------


async def test_the_board_shows_the_published_ranking_to_the_branchs_members(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    response = await client.get(board_url(org, published), headers=org.headers("member_a1b"))
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["unit_name"] == UNIT_NAMES["branch_a"]
    assert board["period_key"] == f"{shanghai_today().year}-{shanghai_today().month:02d}"
    assert board["period_label"] == f"{shanghai_today().year}年{shanghai_today().month}月"
    ranked = [(row["rank"], row["name"], row["total"]) for row in board["rows"][:3]]
    assert ranked[:2] == [(1, "member_a1", "70.00"), (2, "member_a2", "65.00")]
    assert ranked[2][0] == 3 and ranked[2][2] == "60.00"
    # Everyone else in the branch ties at 60: same competition rank.
    assert {row["rank"] for row in board["rows"][2:]} == {3}
    branch_a_members = 7
    assert len(board["rows"]) == branch_a_members
    assert board["average"] == str(round((70 + 65 + 60 * 5) / 7, 2))
    assert board["rows"][0]["group"] == UNIT_NAMES["group_a1"]


async def test_the_board_states_its_publicity_period_and_whom_to_object_to(
    client: httpx.AsyncClient, org: Org, published: int, settings: Settings
) -> None:
    response = await client.get(board_url(org, published), headers=org.headers("member_a1b"))
    board = response.json()
    starts_on = datetime.fromisoformat(board["publicity_from"]).date()
    assert starts_on == shanghai_today()
    ends_on = datetime.fromisoformat(board["publicity_until"]).date()
    assert (ends_on - starts_on).days == settings.publicity_days - 1
    assert board["contacts"] == ["secretary_a"]
    assert "secretary_a" in board["objection_channel"]
    assert "申诉" in board["objection_channel"]


async def test_the_board_is_scoped_and_waits_for_publication(
    client: httpx.AsyncClient, org: Org, closed: int
) -> None:
    before = await client.get(board_url(org, closed), headers=org.headers("member_a1"))
    assert (before.status_code, before.json()["code"]) == (403, "results_not_published")
    preview = await client.get(board_url(org, closed), headers=org.headers("secretary_a"))
    assert preview.status_code == 200
    assert preview.json()["rows"][0]["name"] == "member_a1"
    await publish(client, org, closed)
    other_branch = await client.get(board_url(org, closed), headers=org.headers("member_b1"))
    assert (other_branch.status_code, other_branch.json()["code"]) == (404, "unit_not_found")
    other_town = await client.get(board_url(org, closed), headers=org.headers("admin2"))
    assert other_town.status_code == 404
    missing = await client.get(
        f"/api/v1/periods/{closed}/boards/999999", headers=org.headers("admin")
    )
    assert missing.status_code == 404
    listed = await client.get(f"/api/v1/periods/{closed}/boards", headers=org.headers("member_b1"))
    names = [b["unit_name"] for b in listed.json()]
    assert UNIT_NAMES["branch_b"] in names and UNIT_NAMES["branch_a"] not in names


async def test_a_reopen_withdraws_the_publication_and_tells_everyone_who_was_told(
    client: httpx.AsyncClient, org: Org, closed: int, sessionmaker: Maker
) -> None:
    """Members hold a 已公示 notice: a reopen tells each of them the 公示 is withdrawn and why
    (inbox, and WeChat through the outbox); the old board stays readable, marked withdrawn,
    its queued group posts are cancelled, and a new publication makes a new board."""
    assert (await configure(client, org)).status_code == 200
    await publish(client, org, closed)
    published = (await client.get(board_url(org, closed), headers=org.headers("member_a1b"))).json()
    async with sessionmaker() as session:
        told = set(
            await session.scalars(
                select(Notice.member_id).where(col(Notice.kind) == "period_result")
            )
        )
    reason = "漏记两名党员的防汛加分，重新结算"
    reopened = await client.post(
        f"/api/v1/periods/{closed}/reopen", json={"reason": reason}, headers=org.headers("admin")
    )
    assert reopened.status_code == 200, reopened.text
    async with sessionmaker() as session:
        withdrawn = (
            await session.execute(
                select(Notice.member_id, Notice.data, Delivery.status)
                .join(Delivery, col(Delivery.notice_id) == col(Notice.id))
                .where(col(Notice.kind) == "publication_withdrawn")
            )
        ).all()
        queued = list(await session.scalars(select(RobotPost.status)))
    assert {member for member, _, _ in withdrawn} == told
    assert len(withdrawn) == len(told) == 10
    assert {(data["period_id"], data["reason"]) for _, data, _ in withdrawn} == {(closed, reason)}
    assert {status for _, _, status in withdrawn} == {"pending"}
    assert queued and set(queued) == {"failed"}
    inbox = await client.get("/api/v1/me/notices", headers=org.headers("member_a1b"))
    assert inbox.json()["items"][0]["title"] == f"{published['period_key']} 考核结果公示已撤回"

    for who in ("member_a1b", "secretary_a"):
        kept = await client.get(board_url(org, closed), headers=org.headers(who))
        assert kept.status_code == 200, kept.text
        board = kept.json()
        assert board["withdrawn_reason"] == reason and board["withdrawn_at"] is not None
        assert board["rows"] == published["rows"]
    poster = await client.get(
        board_url(org, closed) + "/poster.png", headers=org.headers("member_a1b")
    )
    assert (poster.status_code, poster.json()["code"]) == (409, "board_withdrawn")

    await adjust(client, org, "member_a1b", "flood_fighting")
    again = await client.post(
        f"/api/v1/periods/{closed}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert again.status_code == 200, again.text
    await publish(client, org, closed)
    renewed = (await client.get(board_url(org, closed), headers=org.headers("member_a1b"))).json()
    assert (renewed["withdrawn_at"], renewed["withdrawn_reason"]) == (None, None)
    assert renewed["rows"] != published["rows"]


async def test_a_group_that_saw_the_ranking_is_told_of_its_withdrawal(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    """The branch's chat was told of the publication by its robot: a reopen tells it too,
    once, with the reason; a chat whose posts were still queued was told nothing."""
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    await publish(client, org, closed)
    await robots.run_once(sessionmaker, robot_client, settings)
    assert len(wechat.robot_messages) == 2
    reason = "漏记两名党员的防汛加分，重新结算"
    reopened = await client.post(
        f"/api/v1/periods/{closed}/reopen", json={"reason": reason}, headers=org.headers("admin")
    )
    assert reopened.status_code == 200, reopened.text
    await robots.run_once(sessionmaker, robot_client, settings)
    [told] = wechat.robot_messages[2:]
    assert told["msgtype"] == "markdown"
    assert "公示已撤回" in told["markdown"]["content"]
    assert reason in told["markdown"]["content"]
    await robots.run_once(sessionmaker, robot_client, settings)
    assert len(wechat.robot_messages) == 3
    again = await client.post(
        f"/api/v1/periods/{closed}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert again.status_code == 200, again.text
    await publish(client, org, closed)
    queued = await client.post(
        f"/api/v1/periods/{closed}/reopen", json={"reason": reason}, headers=org.headers("admin")
    )
    assert queued.status_code == 200, queued.text
    await robots.run_once(sessionmaker, robot_client, settings)
    assert len(wechat.robot_messages) == 3  # its ranking was never posted: nothing to take back


async def test_the_list_of_boards_marks_a_withdrawn_publication(
    client: httpx.AsyncClient, org: Org, closed: int
) -> None:
    """The list answers as each board does: after a reopen, the boards as they were published,
    marked withdrawn, to whoever saw them published (not, unmarked, to officers alone)."""
    await publish(client, org, closed)
    url = f"/api/v1/periods/{closed}/boards"
    published = (await client.get(url, headers=org.headers("member_a1b"))).json()
    assert {b["withdrawn_reason"] for b in published} == {None}
    reason = "漏记两名党员的防汛加分，重新结算"
    reopened = await client.post(
        f"/api/v1/periods/{closed}/reopen", json={"reason": reason}, headers=org.headers("admin")
    )
    assert reopened.status_code == 200, reopened.text
    for who in ("member_a1b", "secretary_a"):
        listed = (await client.get(url, headers=org.headers(who))).json()
        assert listed, who
        assert {(b["withdrawn_reason"], b["withdrawn_at"] is not None) for b in listed} == {
            (reason, True)
        }
    assert [
        b["unit_id"] for b in (await client.get(url, headers=org.headers("member_a1b"))).json()
    ] == [b["unit_id"] for b in published]


async def test_later_edits_never_change_what_was_published(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(Member).where(col(Member.id) == org.id("member_a1")).values(name="改名后")
        )
        await session.commit()
    board = (await client.get(board_url(org, published), headers=org.headers("admin"))).json()
    assert board["rows"][0]["name"] == "member_a1"


async def test_the_database_refuses_to_change_a_board(published: int, sessionmaker: Maker) -> None:
    for statement in ("UPDATE publication SET board = '{}'", "DELETE FROM publication"):
        async with sessionmaker() as session:
            with pytest.raises((DBAPIError, IntegrityError), match="append-only"):
                await session.execute(text(statement))
    async with sessionmaker() as session:
        assert len(list(await session.scalars(select(Publication)))) == 3  # branch A, B, town


# --- the poster -------------------------------------------------------------------------------


async def test_members_download_the_poster_after_publication(
    client: httpx.AsyncClient, org: Org, closed: int
) -> None:
    url = f"{board_url(org, closed)}/poster.png"
    early = await client.get(url, headers=org.headers("member_a1"))
    assert early.status_code == 403
    by_secretary = await client.get(url, headers=org.headers("secretary_a"))
    assert by_secretary.status_code == 200
    await publish(client, org, closed)
    response = await client.get(url, headers=org.headers("member_a1"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.width == 1080
    beyond = await client.get(f"{url}?page=9", headers=org.headers("member_a1"))
    assert (beyond.status_code, beyond.json()["code"]) == (422, "poster_page_out_of_range")


# --- the robot: configuration -----------------------------------------------------------------


async def test_the_webhook_key_is_stored_encrypted_and_never_returned(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}"
    response = await configure(client, org, key=url, top_n=5)
    assert response.status_code == 200, response.text
    body = response.json()
    assert KEY not in response.text
    assert (body["key_hint"], body["status"], body["top_n"]) == (KEY[-4:], "active", 5)
    shown = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/robot", headers=org.headers("secretary_a")
    )
    assert KEY not in shown.text
    async with sessionmaker() as session:
        stored = await session.get(BranchRobot, org.unit_id("branch_a"))
        assert stored is not None and KEY not in stored.key_cipher


async def test_the_robots_of_a_subtree_are_listed_to_whoever_runs_its_branches(
    client: httpx.AsyncClient, org: Org
) -> None:
    assert (await configure(client, org)).status_code == 200

    async def listed(who: str, unit: str) -> httpx.Response:
        url = f"/api/v1/org/units/{org.unit_id(unit)}/robots"
        return await client.get(url, headers=org.headers(who))

    town = await listed("admin", "town")
    assert [r["branch_id"] for r in town.json()] == [org.unit_id("branch_a")]
    assert KEY not in town.text
    assert [r["status"] for r in (await listed("secretary_a", "branch_a")).json()] == ["active"]
    assert (await listed("secretary_b", "branch_b")).json() == []
    assert (await listed("member_a1", "branch_a")).status_code == 403
    assert (await listed("secretary_b", "branch_a")).status_code == 404


@pytest.mark.parametrize(
    ("who", "unit", "key", "status", "code"),
    [
        ("member_a1", "branch_a", KEY, 403, "forbidden"),
        ("leader_a1", "branch_a", KEY, 403, "forbidden"),
        ("secretary_b", "branch_a", KEY, 404, "unit_not_found"),
        ("admin2", "branch_a", KEY, 404, "unit_not_found"),
        ("secretary_a", "group_a1", KEY, 400, "not_a_branch"),
        ("secretary_a", "branch_a", "not a key!! not a key!!", 422, "robot_key_invalid"),
    ],
)
async def test_robot_configuration_is_refused_outside_a_secretarys_branch(
    client: httpx.AsyncClient, org: Org, who: str, unit: str, key: str, status: int, code: str
) -> None:
    response = await client.put(
        f"/api/v1/org/units/{org.unit_id(unit)}/robot",
        json={"key": key},
        headers=org.headers(who),
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


# --- the robot: posting -----------------------------------------------------------------------


async def test_publication_posts_the_ranking_and_the_poster_to_the_branch_group(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    await publish(client, org, closed)
    queued = await posts(sessionmaker)
    assert [(p.kind, p.trigger) for p in queued] == [("markdown", "publish"), ("image", "publish")]
    assert await robots.run_once(sessionmaker, robot_client, settings) == 2
    markdown, image = wechat.robot_messages
    content = markdown["markdown"]["content"]
    assert UNIT_NAMES["branch_a"] in content and "1. member_a1" in content and "70" in content
    assert "平均 **62.14**" in content
    raw = base64.b64decode(image["image"]["base64"])
    assert Image.open(io.BytesIO(raw)).format == "PNG"
    sent = await posts(sessionmaker)
    assert [p.status for p in sent] == ["sent", "sent"]
    assert sent[1].md5 == hashlib.md5(raw).hexdigest() == image["image"]["md5"]


async def test_twenty_five_posts_in_a_minute_are_paced_to_twenty_without_loss(
    client: httpx.AsyncClient,
    org: Org,
    published: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    start = datetime(2026, 11, 21, 2, tzinfo=UTC)
    clock = [start]
    wechat.robot_clock = lambda: clock[0].timestamp()
    async with sessionmaker() as session:
        board = await session.scalar(
            select(Publication.id).where(col(Publication.unit_id) == org.unit_id("branch_a"))
        )
        assert board is not None
        for index in range(25):
            session.add(
                RobotPost(
                    branch_id=org.unit_id("branch_a"),
                    publication_id=board,
                    kind=PostKind.markdown,
                    trigger=f"manual:{index}",
                    next_attempt_at=start,
                )
            )
        await session.commit()
    for second in range(0, 181, 5):
        clock[0] = start + timedelta(seconds=second)
        await robots.run_once(sessionmaker, robot_client, settings, now=clock[0])
    assert len(wechat.robot_messages) == 25
    assert wechat.calls["webhook"] == 25  # never a 45009: our pacing kept under the limit
    sent_at = sorted(message["at"] for message in wechat.robot_messages)
    for index in range(len(sent_at) - 20):
        assert sent_at[index + 20] - sent_at[index] >= 60
    assert {p.status for p in await posts(sessionmaker)} == {PostStatus.sent}


async def test_45009_waits_out_the_minute_and_then_sends(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    await publish(client, org, closed)
    wechat.fail("webhook", 45009)
    now = utcnow()
    await robots.run_once(sessionmaker, robot_client, settings, now=now)
    first = (await posts(sessionmaker))[0]
    assert (first.status, first.errcode, first.attempts) == ("pending", 45009, 1)
    assert first.next_attempt_at >= now + timedelta(seconds=59)
    assert await robots.run_once(sessionmaker, robot_client, settings, now=now) == 0
    await robots.run_once(sessionmaker, robot_client, settings, now=now + timedelta(seconds=61))
    assert [p.status for p in await posts(sessionmaker)] == ["sent", "sent"]


class UnansweredOnce(httpx.AsyncBaseTransport):
    """The first group post reaches WeCom, and its answer never comes back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.done = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not self.done:
            self.done = True
            raise httpx.ReadTimeout("timed out", request=request)
        return response


async def test_a_post_whose_answer_timed_out_is_not_posted_again(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    """A group robot has no idempotency key: a post that went out unanswered may be in the
    chat already, so it is marked uncertain, never posted twice."""
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    await publish(client, org, closed)
    transport = UnansweredOnce(httpx.ASGITransport(app=wechat.app()))
    async with httpx.AsyncClient(transport=transport) as http:
        robot_client = RobotClient(settings, http)
        now = utcnow()
        for minutes in (0, 1, 60):
            await robots.run_once(
                sessionmaker, robot_client, settings, now=now + timedelta(minutes=minutes)
            )
    assert wechat.calls["webhook"] == 2  # each post reached WeCom once
    assert [p.status for p in await posts(sessionmaker)] == ["uncertain", "sent"]


async def test_a_worker_whose_lease_ran_out_mid_post_posts_nothing_twice(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    """Worker A's first post is answered after its lease ran out; worker B takes the batch
    over meanwhile. B cannot know whether the chat got A's post, and does not post it again;
    A, its claim lost, records nothing over B's outcome and leaves the rest to B."""
    assert (await configure(client, org)).status_code == 200
    wechat.robot_keys.add(KEY)
    await publish(client, org, closed)
    start = utcnow()
    expired = start + timedelta(seconds=settings.delivery_lease_seconds + 1)

    async def worker_b() -> None:
        await robots.run_once(sessionmaker, robot_client, settings, now=expired)

    wechat.while_answering = worker_b
    await robots.run_once(sessionmaker, robot_client, settings, now=start)  # worker A
    kinds = [message["msgtype"] for message in wechat.robot_messages]
    assert sorted(kinds) == ["image", "markdown"], kinds
    assert [p.status for p in await posts(sessionmaker)] == ["uncertain", "sent"]
    await robots.run_once(sessionmaker, robot_client, settings, now=expired + timedelta(hours=1))
    assert len(wechat.robot_messages) == 2


async def test_an_invalid_key_is_reported_to_the_secretary_not_retried(
    client: httpx.AsyncClient,
    org: Org,
    closed: int,
    sessionmaker: Maker,
    settings: Settings,
    wechat: FakeWeChat,
    robot_client: RobotClient,
) -> None:
    assert (await configure(client, org)).status_code == 200  # a key WeCom does not know
    await publish(client, org, closed)
    await robots.run_once(sessionmaker, robot_client, settings)
    assert wechat.calls["webhook"] == 1  # the second post was not even tried
    first, second = await posts(sessionmaker)
    assert (first.status, first.errcode, second.status) == ("failed", 93000, "failed")
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/robot"
    shown = (await client.get(url, headers=org.headers("secretary_a"))).json()
    assert shown["status"] == "invalid_key" and "93000" in shown["failure"]
    async with sessionmaker() as session:
        told = list(await session.scalars(select(Notice).where(col(Notice.kind) == "robot_failed")))
    assert [n.member_id for n in told] == [org.id("secretary_a")]
    assert await robots.run_once(sessionmaker, robot_client, settings) == 0
    blocked = await client.post(
        f"{url}/posts", json={"period_id": closed}, headers=org.headers("secretary_a")
    )
    assert (blocked.status_code, blocked.json()["code"]) == (409, "robot_disabled")
    renewed = await configure(client, org, key=OTHER_KEY)
    assert renewed.json()["status"] == "active" and renewed.json()["failure"] is None


async def test_a_secretary_posts_on_demand_once_per_request(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    assert (await configure(client, org)).status_code == 200
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/robot/posts"
    headers = {**org.headers("secretary_a"), "Idempotency-Key": "push-2026-11-a"}
    first = await client.post(url, json={"period_id": published}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["queued"] == 2
    again = await client.post(url, json={"period_id": published}, headers=headers)
    assert again.json()["queued"] == 0
    by_member = await client.post(
        url, json={"period_id": published}, headers=org.headers("member_a1")
    )
    assert by_member.status_code == 403
    listed = await client.get(url, headers=org.headers("secretary_a"))
    assert listed.json()["total"] == 2  # the robot was set after publication: on demand only


async def test_the_monthly_schedule_posts_the_latest_published_ranking_once(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    assert (await configure(client, org)).status_code == 200
    from api.services import schedules

    first_of_next_month = datetime(
        shanghai_today().year + (shanghai_today().month == 12),
        shanghai_today().month % 12 + 1,
        1,
        2,
    )
    for _ in range(2):
        await schedules.run_due(sessionmaker, first_of_next_month.replace(tzinfo=UTC))
    monthly = [p for p in await posts(sessionmaker) if p.trigger.startswith("monthly:")]
    assert sorted(p.kind for p in monthly) == ["image", "markdown"]


# --- exports ----------------------------------------------------------------------------------


def workbook(response: httpx.Response) -> list[tuple[Any, ...]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    # The table ends at the blank row above the signature lines.
    blank = next((i for i, row in enumerate(rows) if all(v is None for v in row)), len(rows))
    return rows[:blank]


async def test_the_ranking_export_matches_the_published_board(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    response = await client.get(
        f"/api/v1/periods/{published}/exports/ranking.xlsx",
        params={"unit_id": org.unit_id("branch_a")},
        headers=org.headers("secretary_a"),
    )
    rows = workbook(response)
    assert rows[2][:5] == ("支部", "排名", "姓名", "党小组", "得分")
    board = (await client.get(board_url(org, published), headers=org.headers("admin"))).json()
    exported = [(r[1], r[2], r[4]) for r in rows[3:]]
    assert exported == [(b["rank"], b["name"], Decimal(b["total"])) for b in board["rows"]]
    assert isinstance(rows[3][4], int)  # numbers as numbers
    whole_town = workbook(
        await client.get(
            f"/api/v1/periods/{published}/exports/ranking.xlsx", headers=org.headers("admin")
        )
    )
    assert len(whole_town) - 3 == 10  # every member of town A, branch by branch
    outsider = await client.get(
        f"/api/v1/periods/{published}/exports/ranking.xlsx",
        params={"unit_id": org.unit_id("branch_a")},
        headers=org.headers("member_b1"),
    )
    assert outsider.status_code == 404


async def test_one_card_per_member_lists_every_entry_with_reason_and_approver(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    url = f"/api/v1/members/{org.id('member_a1')}/exports/card.xlsx?year={shanghai_today().year}"
    rows = workbook(await client.get(url, headers=org.headers("member_a1")))
    assert rows[2] == (
        "考核期",
        "日期",
        "事项",
        "方向",
        "分值",
        "理由",
        "来源",
        "审批/登记人",
        "登记时间",
    )
    entries = [row for row in rows[3:] if row[1] is not None]
    assert len(entries) == 2
    assert entries[0][2:8] == ("参加防汛抢险", "加分", 5, "大堤巡查两天", "手工调整", "admin")
    total_row = rows[-1]
    assert total_row[0].endswith("合计") and total_row[4] == 70
    neighbour = await client.get(url, headers=org.headers("member_a1b"))
    assert neighbour.status_code == 404


async def test_the_quarterly_summary_adds_up_each_members_points(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    quarter = f"{shanghai_today().year}-Q{(shanghai_today().month - 1) // 3 + 1}"
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/quarterly-summary.xlsx"
    rows = workbook(
        await client.get(url, params={"quarter": quarter}, headers=org.headers("admin"))
    )
    by_name = {row[2]: row for row in rows[3:]}
    assert by_name["member_a1"][-3:] == (10, 0, 10)
    assert by_name["member_a2"][-3:] == (5, 0, 5)
    bad = await client.get(url, params={"quarter": "2026-Q9"}, headers=org.headers("admin"))
    assert (bad.status_code, bad.json()["code"]) == (422, "export_period_invalid")
    member = await client.get(url, params={"quarter": quarter}, headers=org.headers("member_a1"))
    assert member.status_code == 403


@pytest.mark.parametrize("quarter", ["0000-Q1", "0001-Q1", "9999-Q4"])
async def test_a_quarter_outside_the_calendar_is_a_clear_error(
    client: httpx.AsyncClient, org: Org, published: int, quarter: str
) -> None:
    url = f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/quarterly-summary.xlsx"
    response = await client.get(url, params={"quarter": quarter}, headers=org.headers("admin"))
    assert (response.status_code, response.json()["code"]) == (422, "export_period_invalid")


async def test_the_branch_assessment_table_lists_item_scores_total_and_tier(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "yongxi")
    for branch, party_building in (("branch_a", "20"), ("branch_b", "12")):
        for code, value in (("party_building", party_building), ("poverty_alleviation", "15")):
            created = await client.post(
                f"/api/v1/org/units/{org.unit_id(branch)}/assessments",
                json={
                    "item_code": code,
                    "points": value,
                    "occurred_on": shanghai_today().isoformat(),
                    "reason": "季度考核",
                },
                headers=org.headers("admin"),
            )
            assert created.status_code == 201, created.text
    period_id = await open_period(client, org, scheme_id)
    url = f"/api/v1/periods/{period_id}/exports/assessment.xlsx"
    early = await client.get(url, headers=org.headers("admin"))
    assert (early.status_code, early.json()["code"]) == (409, "period_not_closed")
    await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    rows = workbook(await client.get(url, headers=org.headers("admin")))
    headers = rows[2]
    assert headers[0] == "支部" and "总分" in headers and "档次" in headers
    first, second = rows[3], rows[4]
    column = headers.index("总分")
    assert (first[0], first[column]) == (UNIT_NAMES["branch_a"], 35)
    assert (second[0], second[column]) == (UNIT_NAMES["branch_b"], 27)
    party = headers.index("党组织建设")
    assert (first[party], second[party]) == (20, 12)
    hidden = await client.get(url, headers=org.headers("member_a1"))
    assert (hidden.status_code, hidden.json()["code"]) == (403, "results_not_published")


async def test_heyang_boards_and_exports_say_who_may_not_be_nominated_for_awards(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "heyang")
    for member, item in (
        ("member_a1", "activity_day_absent"),  # 3 demerits, never offset
        ("member_a2", "activity_day_leave"),  # 1 demerit, offset by a volunteer service
        ("member_a2", "volunteer_service"),
    ):
        await adjust(client, org, member, item)
    period_id = await open_period(client, org, scheme_id)
    closed = await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text
    reason = "记分未被奖励积分全部抵消,不得推荐评先评优"
    result = await client.get(
        f"/api/v1/periods/{period_id}/results/members/{org.id('member_a1')}",
        headers=org.headers("secretary_a"),
    )
    stored = result.json()["result"]
    assert (stored["award_eligible"], stored["award_reason"]) == (False, reason)
    assert [s["detail"] for s in stored["derivation"] if s["kind"] == "award"] == [
        f"总分 > 0 → {reason}"
    ]
    await publish(client, org, period_id)

    board = (await client.get(board_url(org, period_id), headers=org.headers("member_a1"))).json()
    shown = {row["name"]: (row["award_eligible"], row["award_reason"]) for row in board["rows"]}
    assert shown["member_a1"] == (False, reason)
    assert shown["member_a2"] == (True, None)
    assert shown["secretary_a"] == (True, None)
    rows = workbook(
        await client.get(
            f"/api/v1/periods/{period_id}/exports/ranking.xlsx",
            params={"unit_id": org.unit_id("branch_a")},
            headers=org.headers("secretary_a"),
        )
    )
    assert rows[2][-1] == "评先评优"
    exported = {row[2]: row[-1] for row in rows[3:]}
    assert exported["member_a1"] == f"不得推荐：{reason}"
    assert exported["member_a2"] == "可推荐"


# --- what leaves the service: text stays text, sheet titles stay valid ------------------------

HOSTILE_NAME = "=cmd|' /C calc'!A0"
HOSTILE_REASON = '=HYPERLINK("http://evil.example/steal","点我查看")'
HOSTILE_GROUP = "@SUM(1+1)"
HOSTILE_BRANCH = "-2+3 甲村党支部"
SLASHED_NAME = "王/小\\明?*[组长]:'一个很长很长很长很长很长很长的名字'"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cells(content: bytes) -> list[Any]:
    """Every text cell of every sheet, checked to be text: no formula anywhere in the file, and
    any cell a spreadsheet could read as one is a string with the quote prefix."""
    with ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                xml = archive.read(name).decode()
                assert "<f>" not in xml and "<f " not in xml, name
    cells = []
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", cell.value
                    if cell.value.startswith(FORMULA_STARTS):
                        assert cell.quotePrefix, cell.value
                    cells.append(cell.value)
    return cells


async def rename(sessionmaker: Maker, org: Org, unit: str, name: str) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(OrgUnit).where(col(OrgUnit.id) == org.unit_id(unit)).values(name=name)
        )
        await session.commit()


async def test_no_export_writes_a_formula_from_what_users_typed(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    renamed = await client.patch(
        f"/api/v1/members/{org.id('member_a1')}",
        json={"name": HOSTILE_NAME},
        headers=org.headers("secretary_a"),
    )
    assert renamed.status_code == 200, renamed.text
    await rename(sessionmaker, org, "group_a1", HOSTILE_GROUP)
    await rename(sessionmaker, org, "branch_a", HOSTILE_BRANCH)
    scheme_id = await attach(client, org, "lutou")
    response = await client.post(
        f"/api/v1/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "flood_fighting",
            "occurred_on": shanghai_today().isoformat(),
            "reason": HOSTILE_REASON,
        },
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    period_id = await open_period(client, org, scheme_id)
    assert (
        await client.post(
            f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
        )
    ).status_code == 200
    await publish(client, org, period_id)
    branch_scheme = await attach(client, org, "yongxi")
    created = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "sanitation",
            "points": "5",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "考核",
        },
        headers=org.headers("admin"),
    )
    assert created.status_code == 201, created.text
    branch_period = await open_period(client, org, branch_scheme)
    await client.post(
        f"/api/v1/periods/{branch_period}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    quarter = f"{shanghai_today().year}-Q{(shanghai_today().month - 1) // 3 + 1}"
    admin = org.headers("admin")
    files = {
        "公示表": await client.get(
            f"/api/v1/periods/{period_id}/exports/ranking.xlsx", headers=admin
        ),
        "一人一卡": await client.get(
            f"/api/v1/members/{org.id('member_a1')}/exports/card.xlsx",
            params={"year": shanghai_today().year},
            headers=admin,
        ),
        "汇总公示卡": await client.get(
            f"/api/v1/org/units/{org.unit_id('town')}/exports/quarterly-summary.xlsx",
            params={"quarter": quarter},
            headers=admin,
        ),
        "考核表": await client.get(
            f"/api/v1/periods/{branch_period}/exports/assessment.xlsx", headers=admin
        ),
    }
    expected = {
        "公示表": {HOSTILE_NAME, HOSTILE_GROUP, HOSTILE_BRANCH},
        "一人一卡": {HOSTILE_REASON},
        "汇总公示卡": {HOSTILE_NAME, HOSTILE_GROUP, HOSTILE_BRANCH},
        "考核表": {HOSTILE_BRANCH},
    }
    for name, response in files.items():
        assert response.status_code == 200, (name, response.text)
        assert expected[name] <= set(text_cells(response.content)), name


async def test_a_name_no_sheet_title_may_hold_gives_a_valid_card(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    renamed = await client.patch(
        f"/api/v1/members/{org.id('member_a2')}",
        json={"name": SLASHED_NAME},
        headers=org.headers("secretary_a"),
    )
    assert renamed.status_code == 200, renamed.text
    response = await client.get(
        f"/api/v1/members/{org.id('member_a2')}/exports/card.xlsx",
        params={"year": shanghai_today().year},
        headers=org.headers("admin"),
    )
    assert response.status_code == 200, response.text
    [title] = load_workbook(io.BytesIO(response.content)).sheetnames
    assert len(title) <= 31 and not set(title) & set("\\/?*[]:")
    assert not title.startswith("'") and not title.endswith("'")
    assert title.startswith("王_小_明")
    assert SLASHED_NAME in text_cells(response.content)[0]
    disposition = response.headers["content-disposition"]
    assert "%2F" not in disposition and "/" not in disposition.split("''")[-1]


def test_sheet_titles_are_unique_in_their_book() -> None:
    book = Workbook(write_only=True)
    first = exports.sheet_title(book, "a" * 40)
    book.create_sheet(first)
    second = exports.sheet_title(book, "a" * 40)
    assert (len(first), len(second)) == (31, 31)
    assert first != second and second.endswith("(2)")


# --- print-ready exports ----------------------------------------------------------------------


def print_ready_book(response: httpx.Response, filename: str) -> Workbook:
    """The export's workbook, after checking its Chinese download name."""
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    assert f"filename*=utf-8''{quote(filename)}" in disposition, disposition
    book = load_workbook(io.BytesIO(response.content))
    for sheet in book.worksheets:
        assert_prints_on_a4(sheet)
    return book


def assert_prints_on_a4(sheet: Any) -> None:
    """A4 fitted to the page width, the title merged over the table, the header frozen and
    printed on every page, every cell of the table boxed in."""
    setup = sheet.page_setup
    assert (int(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == (9, 1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    last = get_column_letter(sheet.max_column)
    assert f"A1:{last}1" in {str(merged) for merged in sheet.merged_cells.ranges}
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$3:$3"
    for row in sheet.iter_rows(min_row=3, max_row=table_end(sheet)):
        assert all(cell.border.left.style == "thin" for cell in row), row


def table_end(sheet: Any) -> int:
    """The last row of the table (the signature lines follow a blank row)."""
    for number in range(4, sheet.max_row + 1):
        if all(cell.value is None for cell in sheet[number]):
            return number - 1
    return int(sheet.max_row)


def columns_of(sheet: Any) -> list[str]:
    return [str(cell.value) for cell in sheet[3]]


def assert_no_empty_column(sheet: Any) -> None:
    for column in sheet.iter_cols(min_row=4, max_row=table_end(sheet)):
        header = sheet.cell(3, column[0].column).value
        assert any(cell.value is not None for cell in column), f"{header} is empty"


def signature_line(sheet: Any) -> list[str]:
    return [str(cell.value) for cell in sheet[sheet.max_row] if cell.value is not None]


async def test_the_ranking_export_prints_on_a4_with_only_the_columns_its_scheme_fills(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    response = await client.get(
        f"/api/v1/periods/{published}/exports/ranking.xlsx",
        params={"unit_id": org.unit_id("branch_a")},
        headers=org.headers("secretary_a"),
    )
    book = print_ready_book(
        response, f"{shanghai_today():%Y-%m}-{UNIT_NAMES['branch_a']}-公示表.xlsx"
    )
    sheet = book.worksheets[0]
    # 路头村 has no tiers, lists, stars, money or award bar: no column waits for them.
    assert columns_of(sheet) == ["支部", "排名", "姓名", "党小组", "得分", "标记"]
    assert_no_empty_column(sheet)
    assert sheet.page_setup.orientation == "portrait"
    assert signature_line(sheet) == [
        "制表人：＿＿＿＿＿＿",
        "审核人：＿＿＿＿＿＿",
        "日期：＿＿＿＿＿＿",
    ]


async def test_a_scheme_with_red_and_yellow_lists_exports_that_column(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "nitun")
    await adjust(client, org, "member_a1", "no_discipline_breach")
    period_id = await open_period(client, org, scheme_id)
    closed = await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    assert closed.status_code == 200, closed.text
    response = await client.get(
        f"/api/v1/periods/{period_id}/exports/ranking.xlsx", headers=org.headers("admin")
    )
    book = print_ready_book(
        response, f"{closed.json()['period']['key']}-{UNIT_NAMES['town']}-公示表.xlsx"
    )
    headers = columns_of(book.worksheets[0])
    assert "档次" in headers and "红黄榜" in headers
    assert "本期红星" not in headers and "评先评优" not in headers


async def test_one_card_per_member_prints_with_its_base_score_and_signature_lines(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    url = f"/api/v1/members/{org.id('member_a1')}/exports/card.xlsx?year={shanghai_today().year}"
    response = await client.get(url, headers=org.headers("member_a1"))
    sheet = print_ready_book(
        response, f"{shanghai_today().year}-member_a1-一人一卡.xlsx"
    ).worksheets[0]
    base = [cell.value for cell in sheet[4]]
    assert (base[0], base[2], base[4]) == ("基础分", "每期起始分", 60)
    assert signature_line(sheet) == [
        "党员本人签字：＿＿＿＿＿＿",
        "支部书记签字：＿＿＿＿＿＿",
        "日期：＿＿＿＿＿＿",
    ]


async def test_the_quarterly_summary_and_attendance_print_on_a4(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    quarter = f"{shanghai_today().year}-Q{(shanghai_today().month - 1) // 3 + 1}"
    branch = UNIT_NAMES["branch_a"]
    summary = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/quarterly-summary.xlsx",
        params={"quarter": quarter},
        headers=org.headers("admin"),
    )
    book = print_ready_book(summary, f"{quarter}-{branch}-汇总公示卡.xlsx")
    assert len(book.worksheets) == 2
    attendance = await client.get(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/exports/attendance.xlsx",
        params={"period": f"{shanghai_today():%Y-%m}"},
        headers=org.headers("admin"),
    )
    print_ready_book(attendance, f"{shanghai_today():%Y-%m}-{branch}-组织生活出勤表.xlsx")


async def test_the_branch_assessment_table_prints_without_outcomes_its_scheme_lacks(
    client: httpx.AsyncClient, org: Org
) -> None:
    scheme_id = await attach(client, org, "yongxi")
    created = await client.post(
        f"/api/v1/org/units/{org.unit_id('branch_a')}/assessments",
        json={
            "item_code": "party_building",
            "points": "20",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "季度考核",
        },
        headers=org.headers("admin"),
    )
    assert created.status_code == 201, created.text
    period_id = await open_period(client, org, scheme_id)
    closed = await client.post(
        f"/api/v1/periods/{period_id}/close", json=EARLY_CLOSE, headers=org.headers("admin")
    )
    key = closed.json()["period"]["key"]
    response = await client.get(
        f"/api/v1/periods/{period_id}/exports/assessment.xlsx", headers=org.headers("admin")
    )
    sheet = print_ready_book(response, f"{key}-{UNIT_NAMES['town']}-支部考核表.xlsx").worksheets[0]
    headers = columns_of(sheet)
    assert "系数" not in headers  # 涌溪 pays no assessed-pay coefficient
    assert sheet.page_setup.orientation == "landscape"


def test_a_board_as_json_has_its_decimals_as_text_and_reads_back_the_same() -> None:
    row = BoardRow(
        rank=1,
        subject_id=7,
        name="张三",
        group="第一党小组",
        total=Decimal("65.50"),
        tier_label="优秀",
        list_color="red",
        stars=1,
        cycle_flags=None,
        flags=("前列",),
        money=Decimal("120.00"),
        award_eligible=False,
        award_reason="受到党内警告处分",
    )
    board = Board(
        unit_id=2,
        unit_name="东村党支部",
        scheme_name="路头村农村党员积分制管理",
        period_key="2026-11",
        period_label="2026年11月",
        published_on="2026-12-06",
        subject_kind="member",
        descending=True,
        average=Decimal("61.5"),
        tiers=(TierCount("优秀", 1),),
        rows=(row,),
    )
    data = board.to_json()
    assert data["average"] == "61.5"
    assert data["tiers"] == [{"label": "优秀", "count": 1}]
    assert data["rows"][0] == {
        "rank": 1,
        "subject_id": 7,
        "name": "张三",
        "group": "第一党小组",
        "total": "65.50",
        "tier_label": "优秀",
        "list_color": "red",
        "stars": 1,
        "cycle_flags": None,
        "flags": ["前列"],
        "money": "120.00",
        "exempt": False,
        "award_eligible": False,
        "award_reason": "受到党内警告处分",
    }
    assert Board.from_json(data) == board
