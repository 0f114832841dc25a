"""A link that opens a board from outside WeChat: an SMS, the WeCom group robot's markdown.

WeChat's URL Link (`generate_urllink`, valid 30 days at most) opens the board's page in the
mini-program from any browser on the phone. It is made once per board and kept until a day
before it expires. Without WeChat credentials, or while WeChat fails (not asked again for a
few minutes), the link is `APP_PAGE_BASE`, and without that none: the text names the
mini-program instead.
"""

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.config import Settings
from api.db import insert_for
from api.errors import AppError
from api.models import BoardShare, Publication, id_of
from api.wechat import pages
from api.wechat.client import WeChatClient

log = logging.getLogger("api.share")
RENEW_BEFORE: Final = timedelta(days=1)  # a post must not carry a link about to die
RETRY_AFTER: Final = timedelta(minutes=5)


async def outside_link(
    session: AsyncSession,
    wechat: WeChatClient | None,
    settings: Settings,
    publication: Publication,
    now: datetime,
) -> str:
    """The board's URL Link, else `APP_PAGE_BASE`, else "" (name the mini-program)."""
    kept = (
        await session.execute(
            select(
                BoardShare.url_link, BoardShare.url_link_expires_at, BoardShare.url_link_retry_at
            ).where(col(BoardShare.publication_id) == publication.id)
        )
    ).first()
    link, expires_at, retry_at = kept if kept is not None else (None, None, None)
    if isinstance(link, str) and expires_at is not None and expires_at > now + RENEW_BEFORE:
        return link
    if wechat is None or (retry_at is not None and retry_at > now):
        return settings.app_page_base
    try:
        async with asyncio.timeout(settings.wechat_timeout_seconds):
            made = await wechat.generate_urllink(
                path=pages.BOARD,
                query=pages.page_query(
                    period_id=publication.period_id, unit_id=publication.unit_id
                ),
                env_version=settings.wxa_env_version,
                days=settings.url_link_days,
            )
    except (AppError, TimeoutError) as error:
        log.info("no URL Link for publication %s: %r", publication.id, error)
        await _record(session, publication, {"url_link_retry_at": now + RETRY_AFTER})
        return settings.app_page_base
    expires = now + timedelta(days=settings.url_link_days)
    await _record(
        session,
        publication,
        {"url_link": made, "url_link_expires_at": expires, "url_link_retry_at": None},
    )
    return made


async def _record(
    session: AsyncSession, publication: Publication, values: dict[str, object]
) -> None:
    await session.execute(
        insert_for(session)(BoardShare)
        .values(publication_id=id_of(publication), **values)
        .on_conflict_do_update(index_elements=["publication_id"], set_=values)
    )
