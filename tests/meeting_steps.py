"""Shared steps for the 组织生活 tests: schedule a meeting, let it begin, scan in, close."""

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.models import Meeting, utcnow
from api.services.ledger import today_in_shanghai
from tests.conftest import Org

Maker = async_sessionmaker[AsyncSession]
LINK_BASE = "https://pioneer.example.cn/checkin"


async def schedule(
    client: httpx.AsyncClient,
    org: Org,
    kind: str = "支部党员大会",
    members: tuple[str, ...] | None = ("member_a1", "member_a1b", "member_a2"),
    who: str = "secretary_a",
    branch: str = "branch_a",
    starts_in: timedelta = timedelta(minutes=30),
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "kind": kind,
        "title": "学习党章",
        "starts_at": (utcnow() + starts_in).isoformat(),
        "place": "村委会二楼会议室",
        **extra,
    }
    if members is not None:
        body["member_ids"] = [org.id(name) for name in members]
    return await client.post(
        f"/api/v1/org/units/{org.unit_id(branch)}/meetings", json=body, headers=org.headers(who)
    )


async def scheduled(client: httpx.AsyncClient, org: Org, **options: Any) -> int:
    response = await schedule(client, org, **options)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def begin(
    sessionmaker: Maker, meeting_id: int, ago: timedelta = timedelta(minutes=5)
) -> None:
    """The meeting's start moves into the past: it is under way."""
    starts_at = utcnow() - ago
    async with sessionmaker() as session:
        await session.execute(
            update(Meeting)
            .where(col(Meeting.id) == meeting_id)
            .values(starts_at=starts_at, held_on=today_in_shanghai(starts_at))
        )
        await session.commit()


async def shown(client: httpx.AsyncClient, org: Org, meeting_id: int) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/meetings/{meeting_id}/checkin-code", headers=org.headers("secretary_a")
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def scan(
    client: httpx.AsyncClient, org: Org, who: str, content: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/checkins", json={"code": content, **extra}, headers=org.headers(who)
    )


async def act(
    client: httpx.AsyncClient, org: Org, who: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(f"/api/v1{path}", json=body, headers=org.headers(who))
