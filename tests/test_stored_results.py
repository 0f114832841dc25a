"""Stored results are read in one typed shape, whatever their age; who sees them is asked once."""

from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.models import PeriodRecord, PeriodResult
from api.schemas.periods import SubjectResultOut
from api.scoring import SubjectResult
from tests.conftest import Org
from tests.test_publication import POINTS, adjust, open_period, publish, workbook
from tests.workflow import EARLY_CLOSE, attach, shanghai_today

Maker = async_sessionmaker[AsyncSession]
# What a result stored before the 评先评优 fields, and before closes recorded what explains a
# result, lacks.
LATER_KEYS = ("award_eligible", "award_reason", "explain")


@pytest.fixture
async def closed(client: httpx.AsyncClient, org: Org) -> int:
    """路头村 over the town, member_a1 at 70 and member_a2 at 65, the period closed."""
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


async def store_as_before(sessionmaker: Maker, period_id: int, member_id: int) -> dict[str, Any]:
    """A close of the period whose one row is the member's result as an early close stored it
    (no award fields, no `explain`, its derivation as stored); returns that stored result."""
    async with sessionmaker() as session:
        period = await session.get(PeriodRecord, period_id)
        assert period is not None
        row = await session.scalar(
            select(PeriodResult).where(
                col(PeriodResult.period_id) == period_id, col(PeriodResult.member_id) == member_id
            )
        )
        assert row is not None
        old = {key: value for key, value in row.result.items() if key not in LATER_KEYS}
        close_no = period.close_count + 1
        session.add(
            PeriodResult(
                period_id=period_id,
                close_no=close_no,
                member_id=member_id,
                unit_path=row.unit_path,
                total=row.total,
                tier=row.tier,
                result=old,
                prior=row.prior,
            )
        )
        await session.execute(
            update(PeriodRecord)
            .where(col(PeriodRecord.id) == period_id)
            .values(close_count=close_no)
        )
        await session.commit()
    return old


async def test_a_result_stored_before_later_fields_reads_in_todays_shape(
    client: httpx.AsyncClient, org: Org, closed: int, sessionmaker: Maker
) -> None:
    old = await store_as_before(sessionmaker, closed, org.id("member_a1"))
    response = await client.get(
        f"/api/v1/periods/{closed}/results/members/{org.id('member_a1')}",
        headers=org.headers("admin"),
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert set(result) == set(SubjectResult.__struct_fields__)
    assert (result["award_eligible"], result["award_reason"]) == (None, None)
    stored = SubjectResultOut.model_validate(
        {**old, "award_eligible": None, "award_reason": None}
    ).model_dump(mode="json")
    assert {key: result[key] for key in old} == {key: stored[key] for key in old}  # as stored
    assert result["total"] == "70.00"


async def test_a_member_sees_their_own_period_on_their_card_once_it_is_published(
    client: httpx.AsyncClient, org: Org, closed: int
) -> None:
    url = f"/api/v1/members/{org.id('member_a1')}/exports/card.xlsx?year={shanghai_today().year}"

    async def subtotal(who: str) -> tuple[Any, ...]:
        """The card's last line, the period's subtotal: label, -, tier, -, total."""
        line = workbook(await client.get(url, headers=org.headers(who)))[-1]
        assert line[0].endswith("合计")
        return (*line, None, None, None)[:5]

    assert (await subtotal("member_a1"))[4] is None
    assert (await subtotal("secretary_a"))[4] == 70  # a closed period is its officers' to check
    await publish(client, org, closed)
    assert (await subtotal("member_a1"))[4] == 70
