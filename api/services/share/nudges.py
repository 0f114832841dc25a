"""The nudge to share a new board in the branch's WeChat group, where no robot can post.

When a branch's board is published, its secretaries and the members the branch names
(`branch_sharer`, set by its officers) get a notice 「本月公示已生成，分享到支部微信群」 that
opens the board's share screen — once per board (its `board_share` row is the key). One of
them opening the share screen is recorded; the monthly schedule reminds them once more if,
three days after the nudge, none of them has opened it. A member who is not asked to share
may open the screen to read the board: that says nothing about the group having seen it.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api.access import Action, Principal
from api.db import insert_for
from api.errors import NotABranch, SharerNotInBranch, UnitNotFound
from api.models import (
    BoardShare,
    BranchSharer,
    Member,
    MemberStatus,
    NoticeKind,
    OrgUnit,
    Publication,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.publication.board import Board
from api.services.notices import notify
from api.wechat import pages

TITLE: Final = "本月公示已生成，分享到支部微信群"
REMIND_AFTER: Final = timedelta(days=3)


async def on_publication(
    session: AsyncSession, publications: Sequence[Publication], now: datetime
) -> None:
    """Each new board's share record, and its nudge: once per board, however often called."""
    if not publications:
        return
    created = await session.execute(
        insert_for(session)(BoardShare)
        .values([{"publication_id": id_of(p), "nudged_at": now} for p in publications])
        .on_conflict_do_nothing(index_elements=["publication_id"])
        .returning(col(BoardShare.publication_id))
    )
    new = set(created.scalars())
    await _nudge(session, [p for p in publications if p.id in new])


async def remind_unopened(
    session: AsyncSession, publications: Sequence[Publication], now: datetime
) -> int:
    """The monthly schedule's reminder: once per board, only if nobody opened its share
    screen since the nudge, at least REMIND_AFTER ago. Returns how many boards it reminded of."""
    if not publications:
        return 0
    due = await session.execute(
        update(BoardShare)
        .where(
            col(BoardShare.publication_id).in_([id_of(p) for p in publications]),
            col(BoardShare.opened_at).is_(None),
            col(BoardShare.reminded_at).is_(None),
            col(BoardShare.nudged_at) <= now - REMIND_AFTER,
        )
        .values(reminded_at=now)
        .returning(col(BoardShare.publication_id))
    )
    reminded = set(due.scalars())
    await _nudge(session, [p for p in publications if p.id in reminded])
    return len(reminded)


async def opened(session: AsyncSession, publication: Publication, member_id: int) -> None:
    """Record the first time one of the nudge's recipients opened the board's share screen."""
    recipients = await _recipients(session, [publication])
    if member_id not in recipients[publication.unit_id]:
        return
    now = utcnow()
    await session.execute(
        insert_for(session)(BoardShare)
        .values(publication_id=id_of(publication), opened_at=now, opened_by=member_id)
        .on_conflict_do_update(
            index_elements=["publication_id"],
            set_={"opened_at": now, "opened_by": member_id},
            where=col(BoardShare.opened_at).is_(None),
        )
    )


async def _nudge(session: AsyncSession, publications: Sequence[Publication]) -> None:
    recipients = await _recipients(session, publications)
    for publication in publications:
        board = Board.from_json(publication.board)
        data: dict[str, Any] = {
            "period_id": publication.period_id,
            "unit_id": publication.unit_id,
            "unit": board.unit_name,
            "period": board.period_label,
            "hint": TITLE,
            "page": pages.page_url(
                pages.SHARE, period_id=publication.period_id, unit_id=publication.unit_id
            ),
        }
        for member_id in sorted(recipients[publication.unit_id]):
            notify(session, member_id, NoticeKind.share_board, TITLE, data)


async def _recipients(
    session: AsyncSession, publications: Sequence[Publication]
) -> defaultdict[int, set[int]]:
    """Per board unit: its secretaries and the members it names, while still in it."""
    found: defaultdict[int, set[int]] = defaultdict(set)
    units = [p.unit_id for p in publications]
    if not units:
        return found
    secretaries = await session.execute(
        select(RoleAssignment.unit_id, RoleAssignment.member_id).where(
            col(RoleAssignment.unit_id).in_(units),
            col(RoleAssignment.role) == Role.branch_secretary,
        )
    )
    branch = aliased(OrgUnit)
    named = await session.execute(
        select(BranchSharer.branch_id, BranchSharer.member_id)
        .join(Member, col(Member.id) == col(BranchSharer.member_id))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .join(branch, col(branch.id) == col(BranchSharer.branch_id))
        .where(
            col(BranchSharer.branch_id).in_(units),
            col(Member.status) == MemberStatus.active,
            col(OrgUnit.path).startswith(col(branch.path)),
        )
    )
    for unit_id, member_id in [*secretaries, *named]:
        found[unit_id].add(member_id)
    return found


# --- who the branch names -----------------------------------------------------------------------


async def _branch(session: AsyncSession, principal: Principal, branch_id: int) -> OrgUnit:
    branch = await session.get(OrgUnit, branch_id)
    if branch is None or not principal.sees(branch.path):
        raise UnitNotFound()
    principal.require(Action.manage_branch_work, branch.path)
    if branch.kind != UnitKind.branch:
        raise NotABranch()
    return branch


async def sharers(session: AsyncSession, principal: Principal, branch_id: int) -> list[Member]:
    """Who the branch names to share its boards, besides its secretaries."""
    branch = await _branch(session, principal, branch_id)
    rows = await session.scalars(
        select(Member)
        .join(BranchSharer, col(BranchSharer.member_id) == col(Member.id))
        .where(col(BranchSharer.branch_id) == branch.id)
        .order_by(col(Member.id))
    )
    return list(rows)


async def name_sharers(
    session: AsyncSession, principal: Principal, branch_id: int, member_ids: Sequence[int]
) -> list[Member]:
    """Replace who the branch names: active members of the branch (its groups included)."""
    branch = await _branch(session, principal, branch_id)
    wanted = sorted(set(member_ids))
    found = {
        id_of(member): member
        for member in await session.scalars(
            select(Member)
            .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
            .where(
                col(Member.id).in_(wanted),
                col(Member.status) == MemberStatus.active,
                col(OrgUnit.path).startswith(branch.path, autoescape=True),
            )
        )
    }
    missing = [member_id for member_id in wanted if member_id not in found]
    if missing:
        raise SharerNotInBranch(detail={"sharer_ids": missing})
    await session.execute(delete(BranchSharer).where(col(BranchSharer.branch_id) == branch.id))
    now = utcnow()
    session.add_all(
        BranchSharer(
            branch_id=id_of(branch), member_id=member_id, named_by=principal.member_id, named_at=now
        )
        for member_id in wanted
    )
    await session.flush()
    return [found[member_id] for member_id in wanted]
