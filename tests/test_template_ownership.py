"""Notice templates belong to a unit: its admins set them, its subtree uses them."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alembic import command
from api.config import Settings
from api.models import NoticeTemplate, SubscriptionQuota, WeChatAccount
from api.services.delivery import Senders, run_once
from api.wechat.client import WeChatClient
from tests.conftest import PG_URL, Org, alembic_config
from tests.fakes.wechat import FakeWeChat
from tests.test_migrations import _run
from tests.workflow import shanghai_today

Maker = async_sessionmaker[AsyncSession]
URL = "/api/v1/notice-templates/deduction_card/subscribe"
FIELDS = {"thing1": "item_name", "number2": "points"}
BOUND = {"member_a1": "o-a1", "member_b1": "o-b1", "member_c": "o-c"}


def template(template_id: str, page: str = "pages/deduction") -> dict[str, object]:
    return {"template_id": template_id, "page": page, "fields": FIELDS}


@pytest.fixture
async def senders(settings: Settings, wechat: FakeWeChat) -> AsyncIterator[Senders]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wechat.app())) as http:
        yield Senders(WeChatClient(settings, http), None)


@pytest.fixture
async def towns(client: httpx.AsyncClient, org: Org, sessionmaker: Maker) -> None:
    """合阳 in both towns; three members bound to WeChat, each with quota for every template."""
    for unit, admin in (("town", "admin"), ("town2", "admin2")):
        attached = await client.post(
            f"/api/v1/org/units/{org.unit_id(unit)}/schemes",
            json={"preset": "heyang"},
            headers=org.headers(admin),
        )
        assert attached.status_code == 201, attached.text
    async with sessionmaker() as session:
        for member, openid in BOUND.items():
            session.add(WeChatAccount(openid=openid, session_key="k", member_id=org.id(member)))
            for template_id in ("T-TOWN", "T-TOWN2", "T-BRANCH-A", "T-DEFAULT"):
                session.add(
                    SubscriptionQuota(
                        member_id=org.id(member), template_id=template_id, remaining=5
                    )
                )
        await session.commit()


async def deduct(client: httpx.AsyncClient, org: Org, member: str, who: str) -> None:
    response = await client.post(
        f"/api/v1/members/{org.id(member)}/deductions",
        json={
            "item_code": "meeting_leave",
            "occurred_on": shanghai_today().isoformat(),
            "reason": "请假",
        },
        headers=org.headers(who),
    )
    assert response.status_code == 201, response.text


async def sent_templates(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: Maker,
    senders: Senders,
    settings: Settings,
    wechat: FakeWeChat,
) -> dict[str, str]:
    """Each bound member's deduction card, sent by the worker: openid → template id."""
    wechat.sent.clear()
    for member, who in (("member_a1", "secretary_a"), ("member_b1", "admin")):
        await deduct(client, org, member, who)
    await deduct(client, org, "member_c", "admin2")
    await run_once(sessionmaker, senders, settings)
    return {sent["touser"]: sent["template_id"] for sent in wechat.sent}


async def test_each_town_sends_its_own_template_and_cannot_change_the_others(
    client: httpx.AsyncClient,
    org: Org,
    towns: None,
    sessionmaker: Maker,
    senders: Senders,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    own = await client.put(URL, json=template("T-TOWN"), headers=org.headers("admin"))
    assert own.status_code == 200, own.text
    assert own.json()["unit_id"] == org.unit_id("town")
    other = await client.put(
        URL, json=template("T-TOWN2", "pages/town2"), headers=org.headers("admin2")
    )
    assert other.status_code == 200, other.text
    assert await sent_templates(client, org, sessionmaker, senders, settings, wechat) == {
        "o-a1": "T-TOWN",
        "o-b1": "T-TOWN",
        "o-c": "T-TOWN2",
    }

    # Another town's unit is out of sight; a branch secretary is no admin of templates.
    across = await client.put(
        URL,
        params={"unit_id": org.unit_id("town")},
        json=template("T-TOWN2"),
        headers=org.headers("admin2"),
    )
    assert (across.status_code, across.json()["code"]) == (404, "unit_not_found")
    secretary = await client.put(
        URL,
        params={"unit_id": org.unit_id("branch_a")},
        json=template("T-BRANCH-A"),
        headers=org.headers("secretary_a"),
    )
    assert secretary.status_code == 403
    listed = await client.get("/api/v1/notice-templates", headers=org.headers("admin2"))
    assert [(t["unit_id"], t["template_id"]) for t in listed.json()] == [
        (org.unit_id("town2"), "T-TOWN2")
    ]


async def test_a_member_gets_the_template_of_the_nearest_owning_unit(
    client: httpx.AsyncClient,
    org: Org,
    towns: None,
    sessionmaker: Maker,
    senders: Senders,
    settings: Settings,
    wechat: FakeWeChat,
) -> None:
    # A default kept from before templates had owners: where nobody above owns one.
    async with sessionmaker() as session:
        session.add(
            NoticeTemplate(
                kind="deduction_card",
                channel="subscribe",
                template_id="T-DEFAULT",
                page="pages/default",
                fields=FIELDS,
            )
        )
        await session.commit()
    await client.put(URL, json=template("T-TOWN"), headers=org.headers("admin"))
    branch_a = {"unit_id": org.unit_id("branch_a")}
    branch = await client.put(
        URL, params=branch_a, json=template("T-BRANCH-A"), headers=org.headers("admin")
    )
    assert branch.status_code == 200, branch.text
    assert await sent_templates(client, org, sessionmaker, senders, settings, wechat) == {
        "o-a1": "T-BRANCH-A",
        "o-b1": "T-TOWN",
        "o-c": "T-DEFAULT",
    }
    in_force = await client.get(
        "/api/v1/notice-templates", params=branch_a, headers=org.headers("admin")
    )
    assert [(t["unit_id"], t["template_id"]) for t in in_force.json()] == [
        (org.unit_id("branch_a"), "T-BRANCH-A")
    ]

    # Without its own template the branch uses the town's again; the default is no one's.
    removed = await client.delete(URL, params=branch_a, headers=org.headers("admin"))
    assert removed.status_code == 204
    again = await client.delete(URL, params=branch_a, headers=org.headers("admin"))
    assert (again.status_code, again.json()["code"]) == (404, "template_not_found")
    town2 = await client.delete(URL, headers=org.headers("admin2"))
    assert town2.status_code == 404
    assert (await sent_templates(client, org, sessionmaker, senders, settings, wechat))[
        "o-a1"
    ] == "T-TOWN"


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    return PG_URL or f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"


def test_templates_set_before_ownership_become_defaults(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, "b81f4c2d9a63")
    asyncio.run(
        _run(
            scratch_url,
            "INSERT INTO notice_template (kind, channel, template_id, page, fields, updated_at) "
            "VALUES ('deduction_card', 'subscribe', 'T-OLD', 'pages/d', '{}', "
            "'2026-11-01 08:00:00+00:00')",
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(_run(scratch_url, "SELECT unit_id, template_id FROM notice_template"))
    assert rows == [(None, "T-OLD")]
    command.downgrade(config, "b81f4c2d9a63")
    rows = asyncio.run(_run(scratch_url, "SELECT template_id FROM notice_template"))
    assert rows == [("T-OLD",)]
    command.upgrade(config, "head")
