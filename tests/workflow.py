"""Shared steps for the workflow tests: attach a scheme, make a photo row, file a claim."""

from datetime import date
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import Photo, PhotoUpload, SchemeRecord, id_of, utcnow
from api.scoring import period_containing
from api.scoring.scheme import PeriodLength
from api.services.ledger import ensure_period, today_in_shanghai
from tests.conftest import Org


def shanghai_today() -> date:
    """Today in Shanghai, as the app takes it: read at each use, since a run may cross midnight
    there (16:00 UTC), and the app's today moves with it."""
    return today_in_shanghai(utcnow())


# A close of the running period is a close before its end: it needs a confirmed reason.
EARLY_CLOSE = {"force": True, "reason": "月中提前结算（测试）"}


async def open_period(
    sessionmaker: async_sessionmaker[AsyncSession], scheme_id: int, day: date | None = None
) -> int:
    """The id of the monthly period of `day` (created open, as a first entry would)."""
    async with sessionmaker() as session:
        record = await session.get(SchemeRecord, scheme_id)
        assert record is not None
        period = await ensure_period(
            session, record, period_containing(PeriodLength.MONTH, day or shanghai_today())
        )
        await session.commit()
        return id_of(period)


async def attach(client: httpx.AsyncClient, org: Org, preset: str, unit: str = "town") -> int:
    response = await client.post(
        f"/api/v1/org/units/{org.unit_id(unit)}/schemes",
        json={"preset": preset},
        headers=org.headers("admin"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def photo(
    sessionmaker: async_sessionmaker[AsyncSession], org: Org, name: str, tag: str
) -> int:
    async with sessionmaker() as session:
        row = Photo(
            sha256=tag.ljust(64, "0"),
            storage_key=f"{tag}.jpg",
            content_type="image/jpeg",
            size=10,
            width=1,
            height=1,
            uploaded_by=org.id(name),
        )
        session.add(row)
        await session.flush()
        session.add(PhotoUpload(photo_id=id_of(row), member_id=org.id(name)))
        await session.commit()
        return id_of(row)


async def file_claim(
    client: httpx.AsyncClient,
    org: Org,
    who: str,
    key: str,
    photo_ids: list[int],
    item: str = "village_cleaning",
    **extra: Any,
) -> httpx.Response:
    body: dict[str, Any] = {
        "item_code": item,
        "occurred_on": shanghai_today().isoformat(),
        "description": "参加村庄清洁行动，清理垃圾两车",
        "photo_ids": photo_ids,
        **extra,
    }
    return await client.post(
        "/api/v1/claims",
        json=body,
        headers={**org.headers(who), "Idempotency-Key": key},
    )


async def file_claims(
    client: httpx.AsyncClient,
    org: Org,
    sessionmaker: async_sessionmaker[AsyncSession],
    who: str,
    count: int,
    tag: str,
) -> list[int]:
    """`count` claims of `who`, each with a photo of its own, filed in turn: their ids."""
    filed = []
    for n in range(count):
        pic = await photo(sessionmaker, org, who, f"{tag}{n}")
        claim = await file_claim(client, org, who, f"{tag}-claim-{n}", [pic])
        assert claim.status_code == 201, claim.text
        filed.append(claim.json()["id"])
    return filed


async def decide(
    client: httpx.AsyncClient,
    org: Org,
    who: str,
    claim_id: int,
    decision: str = "approve",
    reason: str | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/claims/{claim_id}/decision",
        json={"decision": decision, "reason": reason},
        headers=org.headers(who),
    )
