"""What a code the mini-program scanned or was opened with names: the one entry for all of them.

The mini-program hands over whatever it got — a 小程序码's `scene` (a scene code, see
`scenes`), the `q` of an ordinary QR code's link or what `wx.scanCode` read (a meeting's
scan-in code, see `meetings.parse_checkin_code`) — and gets the page to open. A code that is
unknown, or names something the reader may not see, is refused alike (`scene_not_found`); text
that is no code of ours is `scene_invalid`.
"""

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Action, Principal
from api.config import Settings
from api.errors import (
    BoardNotFound,
    MemberNotFound,
    PeriodNotClosed,
    ResultsNotPublished,
    SceneInvalid,
    SceneNotFound,
    UnitNotFound,
)
from api.models import Meeting, Opens, Publication, SceneCode, SceneKind
from api.services import meetings, members
from api.services import publication as boards
from api.services.branch_work import in_visible_branch
from api.services.share.scenes import ALPHABET, CODE_LENGTH
from api.wechat import pages

SCENE_CODE: Final = re.compile(f"[{re.escape(ALPHABET)}]{{{CODE_LENGTH}}}")


@dataclass(frozen=True)
class Opened:
    kind: Opens
    page: str  # for wx.navigateTo / wx.redirectTo: absolute, with its parameters
    title: str
    period_id: int | None = None
    unit_id: int | None = None
    member_id: int | None = None
    meeting_id: int | None = None
    code: str | None = None  # a scan-in code, for POST /checkins


async def resolve(
    session: AsyncSession, principal: Principal, settings: Settings, scanned: str
) -> Opened:
    text = scanned.strip()
    if "%" in text:
        text = unquote(text)
    checkin = meetings.parse_checkin_code(text)
    if checkin is not None:
        meetings.check_signature(settings, checkin)
        meeting, _ = await in_visible_branch(
            session, principal, Meeting, checkin.meeting_id, SceneNotFound
        )
        return Opened(
            Opens.checkin,
            pages.page_url(pages.CHECKIN, c=checkin.text),
            f"会议签到：{meeting.title}",
            meeting_id=checkin.meeting_id,
            code=checkin.text,
        )
    if not SCENE_CODE.fullmatch(text):
        raise SceneInvalid()
    scene = await session.get(SceneCode, text)
    if scene is None:
        raise SceneNotFound()
    if scene.kind == SceneKind.board:
        return await _board(session, principal, scene.target_id)
    return await _member_card(session, principal, scene.target_id)


async def _board(session: AsyncSession, principal: Principal, publication_id: int) -> Opened:
    publication = await session.get(Publication, publication_id)
    if publication is None:
        raise SceneNotFound()
    period_id, unit_id = publication.period_id, publication.unit_id
    try:
        board, _ = await boards.board_of(session, principal, period_id, unit_id)
    except (UnitNotFound, BoardNotFound, PeriodNotClosed, ResultsNotPublished) as exc:
        raise SceneNotFound() from exc
    return Opened(
        Opens.board,
        pages.page_url(pages.BOARD, period_id=period_id, unit_id=unit_id),
        f"{board.unit_name}{board.period_label}积分排名",
        period_id=period_id,
        unit_id=unit_id,
    )


async def _member_card(session: AsyncSession, principal: Principal, member_id: int) -> Opened:
    try:
        member = await members.member_for(session, principal, member_id, Action.read_members)
    except MemberNotFound as exc:
        raise SceneNotFound() from exc
    return Opened(
        Opens.member_card,
        pages.page_url(pages.MEMBER_CARD, member_id=member_id),
        f"{member.name}的积分卡",
        member_id=member_id,
    )
