"""一次性订阅 quota as the member sees it, and what the mini-program reports.

WeChat's subscribe events are the source of truth for accepts (each accept is one send); a
report from the mini-program can only lower the quota (a reject stops sends at once) and never
raises it, so a report and its event are never counted twice.
"""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Principal
from api.models import SubscriptionQuota, utcnow
from api.schemas.notices import SubscriptionResult


async def quota(session: AsyncSession, principal: Principal) -> dict[str, int]:
    rows = await session.scalars(
        select(SubscriptionQuota).where(col(SubscriptionQuota.member_id) == principal.member_id)
    )
    return {row.template_id: row.remaining for row in rows}


async def report(
    session: AsyncSession, principal: Principal, results: dict[str, SubscriptionResult]
) -> dict[str, int]:
    refused = [template for template, result in results.items() if result != "accept"]
    if refused:
        await session.execute(
            update(SubscriptionQuota)
            .where(
                col(SubscriptionQuota.member_id) == principal.member_id,
                col(SubscriptionQuota.template_id).in_(refused),
            )
            .values(remaining=0, updated_at=utcnow())
        )
    return await quota(session, principal)
