"""The ranking in the branch's WeChat group: the poster's 小程序码, what a scanned code opens, the
share card behind a signed link, the nudge to share, the URL Link for outside WeChat."""

import base64
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.errors import WeChatError, WeChatPageInvalid
from api.models import (
    BoardImage,
    BoardShare,
    Notice,
    Publication,
    SceneCode,
    SceneKind,
    id_of,
    utcnow,
)
from api.publication.poster import CODE_SIZE, code_place
from api.services import robots, schedules
from api.services.meetings.codes import sign_checkin_code
from api.services.share import links, nudges
from api.wechat import pages
from api.wechat.client import WeChatClient
from api.wechat.wecom import RobotClient
from tests.conftest import Org, running_app
from tests.fakes.wechat import FakeWeChat
from tests.workflow import EARLY_CLOSE, attach, shanghai_today

Maker = async_sessionmaker[AsyncSession]
V1 = "/api/v1"
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
WHITE = (255, 255, 255)


# --- steps ----------------------------------------------------------------------------------


async def close_period(client: httpx.AsyncClient, org: Org) -> int:
    """路头村 over the town, member_a1 ahead, the running month closed (not yet published)."""
    scheme_id = await attach(client, org, "lutou")
    admin = org.headers("admin")
    adjusted = await client.post(
        f"{V1}/members/{org.id('member_a1')}/adjustments",
        json={
            "item_code": "flood_fighting",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "巡堤",
        },
        headers=admin,
    )
    assert adjusted.status_code == 201, adjusted.text
    listed = await client.get(f"{V1}/schemes/{scheme_id}/periods", headers=admin)
    period_id = int(listed.json()[0]["id"])
    closed = await client.post(f"{V1}/periods/{period_id}/close", json=EARLY_CLOSE, headers=admin)
    assert closed.status_code == 200, closed.text
    return period_id


async def publish(client: httpx.AsyncClient, org: Org, period_id: int) -> None:
    done = await client.post(f"{V1}/periods/{period_id}/publish", headers=org.headers("admin"))
    assert done.status_code == 200, done.text


@pytest.fixture
async def published(client: httpx.AsyncClient, org: Org) -> int:
    period_id = await close_period(client, org)
    await publish(client, org, period_id)
    return period_id


def board_url(org: Org, period_id: int, unit: str = "branch_a") -> str:
    return f"{V1}/periods/{period_id}/boards/{org.unit_id(unit)}"


async def publication_of(sessionmaker: Maker, org: Org, unit: str = "branch_a") -> Publication:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(Publication).where(col(Publication.unit_id) == org.unit_id(unit))
        )
        assert found is not None
        return found


async def scene_of(sessionmaker: Maker, kind: SceneKind, target_id: int) -> SceneCode:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(SceneCode).where(
                col(SceneCode.kind) == kind, col(SceneCode.target_id) == target_id
            )
        )
        assert found is not None
        return found


def image(content: bytes) -> Image.Image:
    opened = Image.open(io.BytesIO(content))
    opened.load()
    return opened.convert("RGB")


def quadrant_centres(size: int) -> list[tuple[int, int]]:
    return [(size // 4 + size // 2 * (q % 2), size // 4 + size // 2 * (q // 2)) for q in range(4)]


def pixel(drawn: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = drawn.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def code_pixels(poster: Image.Image) -> list[tuple[int, ...]]:
    """The poster's pixels at the middle of each quadrant of where the code goes."""
    left, top, _, _ = code_place(poster.height)
    return [pixel(poster, (left + x, top + y)) for x, y in quadrant_centres(CODE_SIZE)]


def fake_code_pixels(code: bytes) -> list[tuple[int, ...]]:
    shown = image(code)
    return [pixel(shown, xy) for xy in quadrant_centres(shown.width)]


async def resolve(client: httpx.AsyncClient, org: Org, who: str, scene: str) -> httpx.Response:
    return await client.get(
        f"{V1}/scenes/resolve", params={"scene": scene}, headers=org.headers(who)
    )


async def share_boards(sessionmaker: Maker) -> list[Notice]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Notice).where(col(Notice.kind) == "share_board").order_by(col(Notice.id))
        )
        return list(rows)


@pytest.fixture
async def worker_wechat(
    settings: Settings, wechat: FakeWeChat
) -> AsyncIterator[tuple[WeChatClient, RobotClient]]:
    """The worker's clients of the mini-program and of WeCom, both on the fake."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield WeChatClient(settings, http), RobotClient(settings, http)


# --- 1. the 小程序码 on the poster -------------------------------------------------------------


async def test_a_published_boards_poster_carries_the_code_wechat_made_for_its_scene(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker, wechat: FakeWeChat
) -> None:
    response = await client.get(
        f"{board_url(org, published)}/poster.png", headers=org.headers("member_a1")
    )
    assert response.status_code == 200, response.text
    publication = await publication_of(sessionmaker, org)
    scene = await scene_of(sessionmaker, SceneKind.board, id_of(publication))
    [asked] = wechat.wxacode_requests
    assert asked["scene"] == scene.code and len(scene.code) == 12 and scene.code.isalnum()
    assert (asked["page"], asked["check_path"], asked["env_version"]) == (
        pages.SCAN,
        True,
        "release",
    )
    expected = fake_code_pixels(wechat.wxacodes[scene.code])
    assert len(set(expected)) == 4  # four distinct colours: a real comparison
    assert code_pixels(image(response.content)) == expected
    # Kept: the next poster, another cut of the board and the group's poster ask WeChat nothing.
    again = await client.get(
        f"{board_url(org, published)}/poster.png", headers=org.headers("secretary_a")
    )
    assert again.content == response.content
    paged = await client.get(
        f"{board_url(org, published)}/poster.png",
        params={"page": 1, "top": 5},
        headers=org.headers("secretary_a"),
    )
    assert code_pixels(image(paged.content)) == expected
    assert wechat.calls["wxacode"] == 1
    assert scene.image == wechat.wxacodes[scene.code]


async def test_the_boards_scene_opens_it_for_its_branch_and_for_nobody_outside(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    await client.get(f"{board_url(org, published)}/poster.png", headers=org.headers("member_a1"))
    publication = await publication_of(sessionmaker, org)
    scene = (await scene_of(sessionmaker, SceneKind.board, id_of(publication))).code
    branch_a = org.unit_id("branch_a")
    board = (await client.get(board_url(org, published), headers=org.headers("admin"))).json()
    for who in ("member_a1", "secretary_a", "admin"):
        opened = await resolve(client, org, who, scene)
        assert opened.status_code == 200, opened.text
        assert opened.json() == {
            "kind": "board",
            "page": f"/{pages.BOARD}?period_id={published}&unit_id={branch_a}",
            "title": f"甲村党支部{board['period_label']}积分排名",
            "period_id": published,
            "unit_id": branch_a,
            "member_id": None,
            "meeting_id": None,
            "code": None,
        }
    for outsider in ("member_b1", "secretary_b", "admin2"):
        refused = await resolve(client, org, outsider, scene)
        assert (refused.status_code, refused.json()["code"]) == (404, "scene_not_found")
        assert refused.json()["message"] == "该二维码已失效，或其内容不在您的查看范围内"


async def test_a_page_wechat_refuses_still_gives_a_poster_that_says_where_the_board_is(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker, wechat: FakeWeChat
) -> None:
    wechat.published_pages.discard(pages.SCAN)  # the page is not in the released version: 41030
    url = f"{board_url(org, published)}/poster.png"
    response = await client.get(url, headers=org.headers("member_a1"))
    assert response.status_code == 200, response.text
    assert code_pixels(image(response.content)) == [WHITE] * 4  # the card, no code on it
    publication = await publication_of(sessionmaker, org)
    scene = await scene_of(sessionmaker, SceneKind.board, id_of(publication))
    assert (scene.image, scene.errcode) == (None, 41030)
    assert scene.retry_at is not None and scene.retry_at > utcnow() + timedelta(minutes=30)
    # Not asked again on every poster while the page is missing.
    assert (await client.get(url, headers=org.headers("member_a1"))).status_code == 200
    assert wechat.calls["wxacode"] == 1


async def test_a_wechat_that_does_not_answer_in_time_still_gives_a_poster(
    settings: Settings, org: Org, published: int, wechat: FakeWeChat, sessionmaker: Maker
) -> None:
    # Far longer than the timeout, so that only a timeout that works answers in time, whatever
    # the machine's load while the poster is drawn.
    wechat.wxacode_delay = 60
    impatient = settings.model_copy(update={"wechat_timeout_seconds": 0.3})
    async with running_app(impatient, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            started = utcnow()
            response = await http.get(
                f"{board_url(org, published)}/poster.png", headers=org.headers("member_a1")
            )
    assert response.status_code == 200, response.text
    assert utcnow() - started < timedelta(seconds=30)
    assert code_pixels(image(response.content)) == [WHITE] * 4
    publication = await publication_of(sessionmaker, org)
    scene = await scene_of(sessionmaker, SceneKind.board, id_of(publication))
    assert scene.image is None and scene.failure is not None and "in time" in scene.failure


async def test_busy_wechat_and_dev_without_credentials_still_give_a_poster(
    client: httpx.AsyncClient,
    settings: Settings,
    org: Org,
    published: int,
    wechat: FakeWeChat,
) -> None:
    wechat.fail("wxacode", -1, times=3)  # busy, and busy again on both retries
    url = f"{board_url(org, published)}/poster.png"
    busy = await client.get(url, headers=org.headers("member_a1"))
    assert busy.status_code == 200 and code_pixels(image(busy.content)) == [WHITE] * 4
    dev = settings.model_copy(update={"wechat_app_id": ""})
    async with running_app(dev, wechat) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            plain = await http.get(
                f"{board_url(org, published, 'branch_b')}/poster.png",
                headers=org.headers("secretary_b"),
            )
    assert plain.status_code == 200 and code_pixels(image(plain.content)) == [WHITE] * 4


# --- what a scanned code opens ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scene", "status", "code"),
    [
        ("", 422, "validation_error"),
        ("x" * 1025, 422, "validation_error"),
        ("not a code", 400, "scene_invalid"),
        ("<script>alert(1)</script>", 400, "scene_invalid"),
        ("abc%ZZ", 400, "scene_invalid"),
        ("A" * 13, 400, "scene_invalid"),
        ("NoSuchScene0", 404, "scene_not_found"),
        ("1.123456.AAAAAAAAAAAAAAAAAAAAAA", 400, "checkin_code_invalid"),  # a forged signature
    ],
)
async def test_hostile_scenes_are_refused_with_their_own_code(
    client: httpx.AsyncClient, org: Org, scene: str, status: int, code: str
) -> None:
    refused = await resolve(client, org, "member_a1", scene)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text


async def test_a_meetings_scan_in_code_opens_its_check_in_for_its_branch_only(
    client: httpx.AsyncClient, org: Org, settings: Settings
) -> None:
    await attach(client, org, "heyang")
    scheduled = await client.post(
        f"{V1}/org/units/{org.unit_id('branch_a')}/meetings",
        json={
            "kind": "支部党员大会",
            "title": "学习党章",
            "starts_at": (utcnow() + timedelta(minutes=30)).isoformat(),
        },
        headers=org.headers("secretary_a"),
    )
    assert scheduled.status_code == 201, scheduled.text
    meeting_id = scheduled.json()["id"]
    code = sign_checkin_code(settings, meeting_id, utcnow()).text
    link = f"https://example.cn/checkin?c={code}"
    for scanned in (code, link, link.replace("?", "%3F").replace("=", "%3D")):
        opened = await resolve(client, org, "member_a1", scanned)
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert (body["kind"], body["meeting_id"], body["code"]) == ("checkin", meeting_id, code)
        assert body["title"] == "会议签到：学习党章"
        assert body["page"].startswith(f"/{pages.CHECKIN}?c=")
    outside = await resolve(client, org, "member_b1", code)
    assert (outside.status_code, outside.json()["code"]) == (404, "scene_not_found")


async def test_a_member_cards_code_opens_the_card_for_who_may_see_it(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker, wechat: FakeWeChat
) -> None:
    member_a1 = org.id("member_a1")
    response = await client.get(
        f"{V1}/members/{member_a1}/card-code.png", headers=org.headers("member_a1")
    )
    assert response.status_code == 200, response.text
    scene = await scene_of(sessionmaker, SceneKind.member_card, member_a1)
    assert response.content == wechat.wxacodes[scene.code]
    assert response.headers["content-type"] == "image/png"
    opened = await resolve(client, org, "leader_a1", scene.code)
    assert opened.status_code == 200, opened.text
    assert (opened.json()["kind"], opened.json()["member_id"]) == ("member_card", member_a1)
    assert opened.json()["page"] == f"/{pages.MEMBER_CARD}?member_id={member_a1}"
    for outsider in ("member_a2", "secretary_b"):
        refused = await resolve(client, org, outsider, scene.code)
        assert (refused.status_code, refused.json()["code"]) == (404, "scene_not_found")
    outside = await client.get(
        f"{V1}/members/{member_a1}/card-code.png", headers=org.headers("member_a2")
    )
    assert (outside.status_code, outside.json()["code"]) == (404, "member_not_found")


# --- 2. the share card --------------------------------------------------------------------------


async def test_the_share_card_is_5_4_and_loads_without_a_token_until_it_expires(
    client: httpx.AsyncClient,
    org: Org,
    published: int,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = await client.get(
        f"{board_url(org, published)}/share", headers=org.headers("member_a1")
    )
    assert shared.status_code == 200, shared.text
    body = shared.json()
    branch_a = org.unit_id("branch_a")
    assert body["title"].startswith("甲村党支部") and body["title"].endswith("积分排名公示")
    assert body["path"] == f"/{pages.BOARD}?period_id={published}&unit_id={branch_a}"
    assert body["entrance_path"] == f"{pages.BOARD}?period_id={published}&unit_id={branch_a}"
    card = await client.get(body["image_url"])  # no Authorization header
    assert card.status_code == 200, card.text
    assert card.headers["content-type"] == "image/png"
    drawn = image(card.content)
    assert drawn.width * 4 == drawn.height * 5
    poster = await client.get(body["poster_url"])
    assert poster.status_code == 200 and image(poster.content).width == 1080
    # One minute past the expiry the same links are refused.
    later = utcnow() + timedelta(minutes=settings.share_link_minutes + 1)
    monkeypatch.setattr("api.routers.share.utcnow", lambda: later)
    for url in (body["image_url"], body["poster_url"]):
        expired = await client.get(url)
        assert (expired.status_code, expired.json()["code"]) == (403, "link_expired")


async def test_forged_share_links_are_refused(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    shared = await client.get(
        f"{board_url(org, published)}/share", headers=org.headers("member_a1")
    )
    card_url = shared.json()["image_url"]
    path, query = card_url.split("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    other = await publication_of(sessionmaker, org, "branch_b")
    forgeries = [
        (path, {**params, "signature": "A" * 22}),
        (path, {**params, "expires": str(int(params["expires"]) + 3600)}),
        (path.replace("card.png", "poster.png"), params),  # a card's signature for the poster
        (path.replace(f"/{path.split('/')[-2]}/", f"/{id_of(other)}/"), params),
    ]
    for url, forged in forgeries:
        refused = await client.get(url, params=forged)
        assert (refused.status_code, refused.json()["code"]) == (403, "link_invalid"), url
    for bad in (
        {"expires": "soon", "signature": "x"},
        {"expires": params["expires"], "signature": "签名" * 11},
        {"expires": "1"},
        {},
    ):
        invalid = await client.get(path, params=bad)
        assert (invalid.status_code, invalid.json()["code"]) == (422, "validation_error")


async def test_images_are_drawn_once_per_board(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker
) -> None:
    for who in ("member_a1", "secretary_a"):
        shared = await client.get(f"{board_url(org, published)}/share", headers=org.headers(who))
        for key in ("image_url", "poster_url"):
            assert (await client.get(shared.json()[key])).status_code == 200
    async with sessionmaker() as session:
        kept = list(await session.scalars(select(BoardImage)))
    assert sorted((row.kind, row.with_code) for row in kept) == [("card", False), ("poster", True)]


async def test_a_withdrawn_board_has_no_share_card(
    client: httpx.AsyncClient, org: Org, published: int
) -> None:
    shared = await client.get(
        f"{board_url(org, published)}/share", headers=org.headers("member_a1")
    )
    reopened = await client.post(
        f"{V1}/periods/{published}/reopen",
        json={"reason": "名单有误"},
        headers=org.headers("admin"),
    )
    assert reopened.status_code == 200, reopened.text
    again = await client.get(f"{board_url(org, published)}/share", headers=org.headers("member_a1"))
    assert (again.status_code, again.json()["code"]) == (409, "share_withdrawn")
    for key in ("image_url", "poster_url"):
        gone = await client.get(shared.json()[key])
        assert (gone.status_code, gone.json()["code"]) == (409, "share_withdrawn")


async def test_an_unpublished_close_has_no_share_card(client: httpx.AsyncClient, org: Org) -> None:
    period_id = await close_period(client, org)
    early = await client.get(f"{board_url(org, period_id)}/share", headers=org.headers("admin"))
    assert (early.status_code, early.json()["code"]) == (403, "results_not_published")


# --- 3. the nudge to share ----------------------------------------------------------------------


async def test_the_nudge_reaches_the_secretaries_and_the_named_sharers_once_per_board(
    client: httpx.AsyncClient, org: Org, sessionmaker: Maker
) -> None:
    named = await client.put(
        f"{V1}/org/units/{org.unit_id('branch_a')}/sharers",
        json={"sharer_ids": [org.id("member_a2"), org.id("member_a2")]},
        headers=org.headers("secretary_a"),
    )
    assert named.status_code == 200, named.text
    assert named.json() == [{"id": org.id("member_a2"), "name": "member_a2"}]
    period_id = await close_period(client, org)
    await publish(client, org, period_id)
    nudged = await share_boards(sessionmaker)
    assert sorted(n.member_id for n in nudged) == sorted(
        org.id(who) for who in ("secretary_a", "member_a2", "secretary_b")
    )
    mine = next(n for n in nudged if n.member_id == org.id("member_a2"))
    branch_a = org.unit_id("branch_a")
    assert mine.title == "本月公示已生成，分享到支部微信群"
    assert (mine.data["period_id"], mine.data["unit_id"]) == (period_id, branch_a)
    assert mine.data["page"] == f"/{pages.SHARE}?period_id={period_id}&unit_id={branch_a}"
    # Once per board, however often publication's bookkeeping runs for the same boards.
    async with sessionmaker() as session:
        boards = list(await session.scalars(select(Publication)))
        await nudges.on_publication(session, boards, utcnow())
        await session.commit()
    assert len(await share_boards(sessionmaker)) == 3


@pytest.mark.parametrize("recipient", ["secretary_b", "member_b1"])
async def test_the_monthly_schedule_reminds_once_only_of_boards_nobody_opened(
    client: httpx.AsyncClient, org: Org, published: int, sessionmaker: Maker, recipient: str
) -> None:
    """Only one of the nudge's recipients (a secretary, a named sharer) opening the share
    screen counts: a plain member reading it does not stop the reminder."""
    named = await client.put(
        f"{V1}/org/units/{org.unit_id('branch_b')}/sharers",
        json={"sharer_ids": [org.id("member_b1")]},
        headers=org.headers("secretary_b"),
    )
    assert named.status_code == 200, named.text
    for who, unit in (("member_a1", "branch_a"), (recipient, "branch_b")):
        url = f"{board_url(org, published, unit)}/share"
        opened = await client.get(url, headers=org.headers(who))
        assert opened.status_code == 200, opened.text
    boards = [id_of(await publication_of(sessionmaker, org, u)) for u in ("branch_a", "branch_b")]
    async with sessionmaker() as session:
        shares = [await session.get_one(BoardShare, board) for board in boards]
    assert [(s.opened_at is not None, s.opened_by) for s in shares] == [
        (False, None),
        (True, org.id(recipient)),
    ]
    now = utcnow()
    await schedules.run_due(sessionmaker, now + timedelta(days=1))  # too soon after the nudge
    assert len(await share_boards(sessionmaker)) == 2  # secretary_a, secretary_b
    await schedules.run_due(sessionmaker, now + timedelta(days=40))
    await schedules.run_due(sessionmaker, now + timedelta(days=80))
    told = [n.member_id for n in await share_boards(sessionmaker)]
    assert sorted(told) == sorted(
        [org.id("secretary_a"), org.id("secretary_b"), org.id("secretary_a")]
    )


@pytest.mark.parametrize(
    ("who", "unit", "sharer", "status", "code"),
    [
        ("member_a1", "branch_a", "member_a2", 403, "forbidden"),
        ("secretary_b", "branch_a", "member_a2", 404, "unit_not_found"),
        ("secretary_a", "group_a1", "member_a2", 400, "not_a_branch"),
        ("secretary_a", "branch_a", "member_b1", 422, "sharer_not_in_branch"),
    ],
)
async def test_only_a_branchs_officers_name_its_sharers_from_its_members(
    client: httpx.AsyncClient, org: Org, who: str, unit: str, sharer: str, status: int, code: str
) -> None:
    refused = await client.put(
        f"{V1}/org/units/{org.unit_id(unit)}/sharers",
        json={"sharer_ids": [org.id(sharer)]},
        headers=org.headers(who),
    )
    assert (refused.status_code, refused.json()["code"]) == (status, code)


# --- 4. the link for outside WeChat ---------------------------------------------------------------


async def test_the_robots_post_links_the_boards_url_link_and_its_poster_carries_the_code(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    worker_wechat: tuple[WeChatClient, RobotClient],
) -> None:
    mini, robot = worker_wechat
    configured = await client.put(
        f"{V1}/org/units/{org.unit_id('branch_a')}/robot",
        json={"key": ROBOT_KEY},
        headers=org.headers("secretary_a"),
    )
    assert configured.status_code == 200, configured.text
    wechat.robot_keys.add(ROBOT_KEY)
    period_id = await close_period(client, org)
    await publish(client, org, period_id)
    assert await robots.run_once(sessionmaker, robot, settings, wechat=mini) == 2
    markdown, poster = wechat.robot_messages
    [asked] = wechat.url_link_requests
    branch_a = org.unit_id("branch_a")
    assert asked == {
        "path": pages.BOARD,
        "query": f"period_id={period_id}&unit_id={branch_a}",
        "env_version": "release",
        "expire_type": 1,
        "expire_interval": 30,
    }
    assert "(https://wxaurl.cn/fake" in markdown["markdown"]["content"]
    drawn = image(base64.b64decode(poster["image"]["base64"]))
    [scene] = wechat.wxacodes
    assert code_pixels(drawn) == fake_code_pixels(wechat.wxacodes[scene])
    # The share screen offers the same link, kept: WeChat is not asked again.
    shared = await client.get(
        f"{board_url(org, period_id)}/share", headers=org.headers("member_a1")
    )
    assert shared.json()["outside_link"] in markdown["markdown"]["content"]
    assert len(wechat.url_link_requests) == 1


@pytest.mark.parametrize(
    ("page_base", "expected"),
    [
        ("https://example.cn/board", "(https://example.cn/board)"),
        ("", "完整公示请在「先锋积分」小程序查看"),
    ],
)
async def test_without_a_url_link_the_post_falls_back_to_the_page_base_then_to_the_name(
    client: httpx.AsyncClient,
    org: Org,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    worker_wechat: tuple[WeChatClient, RobotClient],
    page_base: str,
    expected: str,
) -> None:
    mini, robot = worker_wechat
    await client.put(
        f"{V1}/org/units/{org.unit_id('branch_a')}/robot",
        json={"key": ROBOT_KEY},
        headers=org.headers("secretary_a"),
    )
    wechat.robot_keys.add(ROBOT_KEY)
    wechat.published_pages.discard(pages.BOARD)  # 40165
    period_id = await close_period(client, org)
    await publish(client, org, period_id)
    fallback = settings.model_copy(update={"app_page_base": page_base})
    await robots.run_once(sessionmaker, robot, fallback, wechat=mini)
    markdown = wechat.robot_messages[0]["markdown"]["content"]
    assert expected in markdown and "wxaurl" not in markdown


async def link_at(
    sessionmaker: Maker, mini: WeChatClient, settings: Settings, board: Publication, now: datetime
) -> str:
    async with sessionmaker() as session:
        link = await links.outside_link(session, mini, settings, board, now)
        await session.commit()
        return link


async def test_a_url_link_is_kept_until_a_day_before_it_expires_then_fetched_again(
    org: Org,
    published: int,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    worker_wechat: tuple[WeChatClient, RobotClient],
) -> None:
    mini, _ = worker_wechat
    board = await publication_of(sessionmaker, org)
    made = utcnow()
    first = await link_at(sessionmaker, mini, settings, board, made)
    assert first.startswith("https://wxaurl.cn/")
    expires = made + timedelta(days=settings.url_link_days)
    last_kept = expires - links.RENEW_BEFORE - timedelta(seconds=1)
    assert await link_at(sessionmaker, mini, settings, board, last_kept) == first
    assert wechat.calls["urllink"] == 1
    renewed = await link_at(sessionmaker, mini, settings, board, expires - links.RENEW_BEFORE)
    assert renewed.startswith("https://wxaurl.cn/") and renewed != first
    assert wechat.calls["urllink"] == 2
    assert await link_at(sessionmaker, mini, settings, board, expires) == renewed


async def test_a_failed_url_link_is_not_asked_for_again_until_the_wait_is_over(
    org: Org,
    published: int,
    settings: Settings,
    sessionmaker: Maker,
    wechat: FakeWeChat,
    worker_wechat: tuple[WeChatClient, RobotClient],
) -> None:
    mini, _ = worker_wechat
    fallback = settings.model_copy(update={"app_page_base": "https://example.cn/board"})
    board = await publication_of(sessionmaker, org)
    wechat.fail("urllink", 45009)
    failed = utcnow()
    assert await link_at(sessionmaker, mini, fallback, board, failed) == fallback.app_page_base
    waiting = failed + links.RETRY_AFTER - timedelta(seconds=1)
    assert await link_at(sessionmaker, mini, fallback, board, waiting) == fallback.app_page_base
    assert wechat.calls["urllink"] == 1
    link = await link_at(sessionmaker, mini, fallback, board, failed + links.RETRY_AFTER)
    assert link.startswith("https://wxaurl.cn/")
    assert wechat.calls["urllink"] == 2


# --- 5. the fake speaks WeChat's limits ---------------------------------------------------------


async def test_the_fake_refuses_what_wechat_refuses(
    worker_wechat: tuple[WeChatClient, RobotClient], wechat: FakeWeChat
) -> None:
    mini, _ = worker_wechat

    async def code(scene: str, page: str = pages.SCAN, **options: object) -> int | None:
        try:
            await mini.wxacode_unlimited(
                scene,
                page=page,
                check_path=bool(options.get("check_path", True)),
                env_version=str(options.get("env_version", "release")),
            )
        except (WeChatError, WeChatPageInvalid) as error:
            assert isinstance(error.detail, dict)
            return int(error.detail["errcode"])
        return None

    assert await code("A" * 32) is None
    assert await code("A" * 33) == 40169
    assert await code("积分") == 40129
    assert await code("a b") == 40129
    assert await code("ok", page=f"/{pages.SCAN}") == 41030
    assert await code("ok", page=f"{pages.SCAN}?x=1") == 41030
    assert await code("ok", page="pages/unpublished/index") == 41030
    assert await code("ok", page="pages/unpublished/index", check_path=False) is None
    assert await code("ok", env_version="beta") == 40097
    with pytest.raises(WeChatPageInvalid):
        await mini.generate_urllink(
            path="/pages/board/index", query="", env_version="release", days=30
        )
    with pytest.raises(WeChatError):
        await mini.generate_urllink(path=pages.BOARD, query="a=中", env_version="release", days=30)
    with pytest.raises(WeChatError):
        await mini.generate_urllink(path=pages.BOARD, query="", env_version="release", days=31)
    link = await mini.generate_urllink(path=pages.BOARD, query="a=1", env_version="trial", days=1)
    assert link.startswith("https://wxaurl.cn/")


async def test_an_oversized_answer_is_not_read_to_its_end(settings: Settings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("stable_token"):
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        return httpx.Response(
            200, content=b"\x89PNG" + b"0" * 2_000_000, headers={"content-type": "image/png"}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(WeChatError) as refused:
            await WeChatClient(settings, http).wxacode_unlimited(
                "ok", page=pages.SCAN, check_path=True, env_version="release"
            )
    assert refused.value.detail == {"reason": "answer is too large"}
