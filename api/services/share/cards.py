"""The share screen of a published board: what `onShareAppMessage` and `wx.showShareImageMenu`
need, and the images they load without a Bearer header.

WeChat loads a share card's `imageUrl` and `wx.downloadFile` fetches the poster without our
token, so both are signed links (`api/signing.py`) good for `SHARE_LINK_MINUTES`; a link past
its expiry is refused (`link_expired`), a forged one too (`link_invalid`), and a withdrawn
board has no share card (`share_withdrawn`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from api import signing
from api.access import Principal
from api.config import Settings
from api.errors import BoardNotFound, ResultsNotPublished, ShareWithdrawn
from api.models import Publication, id_of
from api.services import publication as boards
from api.services.share import images, links, nudges
from api.wechat import pages
from api.wechat.client import WeChatClient


class SharedImage(StrEnum):
    card = "card"  # the 5:4 share card
    poster = "poster"  # the poster, for showShareImageMenu


@dataclass(frozen=True)
class ShareCard:
    title: str
    path: str  # onShareAppMessage's path: absolute, with the board's parameters
    entrance_path: str  # showShareImageMenu's entrancePath: the same page, relative
    publication_id: int
    card: signing.SignedLink  # the signed links of the two images
    poster: signing.SignedLink
    outside_link: str | None


async def share_card(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    wechat: WeChatClient,
    *,
    period_id: int,
    unit_id: int,
    now: datetime,
) -> ShareCard:
    """The share screen of the board the reader sees; opening it is recorded (see `nudges`)."""
    board, withdrawal = await boards.board_of(session, principal, period_id, unit_id)
    if withdrawal is not None:
        raise ShareWithdrawn(detail={"reason": withdrawal.reason})
    publication = await boards.current_publication(session, period_id, unit_id)
    if publication is None:
        raise ResultsNotPublished()
    ttl = timedelta(minutes=settings.share_link_minutes)
    card, poster = (
        signing.sign_link(settings, _resource(id_of(publication), kind), now=now, ttl=ttl)
        for kind in (SharedImage.card, SharedImage.poster)
    )
    query = {"period_id": period_id, "unit_id": unit_id}
    link = await links.outside_link(session, wechat, settings, publication, now)
    # Written after WeChat answered: a request waiting for WeChat holds no write lock.
    await nudges.opened(session, publication, principal.member_id)
    return ShareCard(
        title=f"{board.unit_name}{board.period_label}积分排名公示",
        path=pages.page_url(pages.BOARD, **query),
        entrance_path=f"{pages.BOARD}?{pages.page_query(**query)}",
        publication_id=id_of(publication),
        card=card,
        poster=poster,
        outside_link=link or None,
    )


async def signed_image(
    session: AsyncSession,
    settings: Settings,
    wechat: WeChatClient,
    *,
    publication_id: int,
    kind: SharedImage,
    expires: int,
    signature: str,
    now: datetime,
) -> bytes:
    """The image a signed link names, while the link is good and the board not withdrawn."""
    signing.verify_link(
        settings, _resource(publication_id, kind), expires=expires, signature=signature, now=now
    )
    publication = await session.get(Publication, publication_id)
    if publication is None:
        raise BoardNotFound()
    if await boards.withdrawn(session, publication):
        raise ShareWithdrawn()
    if kind is SharedImage.card:
        return await images.card(session, publication)
    return await images.poster(session, wechat, settings, publication, now)


def _resource(publication_id: int, kind: SharedImage) -> str:
    return f"share/boards/{publication_id}/{kind}"
