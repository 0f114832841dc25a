"""微心愿: a branch publishes residents' wishes; a member takes one on, completes it with
evidence, the branch confirms and the scheme's points follow; at year end, missing
completions against a required count can become deductions.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal, within
from api.config import Settings
from api.db import affected_rows
from api.deps import PageParams
from api.errors import (
    AlreadySettled,
    ItemNotInScheme,
    NotADeduction,
    WishCompleted,
    WishNoTakerToApprove,
    WishNotAllowed,
    WishNotFound,
    WishStateConflict,
)
from api.models import (
    EntrySource,
    EvidenceKind,
    Member,
    MemberStatus,
    MicroWish,
    NoticeKind,
    OrgUnit,
    WishStatus,
    WishYearEnd,
    id_of,
    utcnow,
)
from api.scoring.periods import SHANGHAI
from api.scoring.scheme import ItemKind, SubjectKind
from api.services import deductions
from api.services.branch_work import (
    in_visible_branch,
    member_of,
    officiates,
    visible_branch,
)
from api.services.ledger import NewEntry, Subject, append_entry, member_scheme, today_in_shanghai
from api.services.notices import notify
from api.services.paging import paged
from api.services.photos import evidence_links, photo_links, record_uses
from api.services.schemes import current_scheme, in_force


async def publish(
    session: AsyncSession, principal: Principal, branch_id: int, fields: dict[str, Any]
) -> MicroWish:
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.manage_branch_work, branch.path)
    item_code = fields.get("item_code")
    if item_code is not None:
        record, _ = await in_force(session, branch, SubjectKind.MEMBER)
        scheme = (await current_scheme(session, record))[1]
        item = scheme.item(item_code)
        if item is None or item.kind is not ItemKind.BONUS:
            raise ItemNotInScheme(detail={"item_code": item_code})
    wish = MicroWish(branch_id=id_of(branch), created_by=principal.member_id, **fields)
    session.add(wish)
    await session.flush()
    return wish


async def listing(
    session: AsyncSession,
    principal: Principal,
    branch_id: int,
    status: WishStatus | None,
    page: PageParams,
) -> tuple[list[MicroWish], int, bool]:
    """A page of the branch's wishes, newest first, with how many there are; the last value
    says whether contacts may be shown to everyone."""
    branch = await visible_branch(session, principal, branch_id)
    query = select(MicroWish).where(col(MicroWish.branch_id) == branch.id)
    if status is not None:
        query = query.where(col(MicroWish.status) == status)
    rows, total = await paged(session, query.order_by(col(MicroWish.id).desc()), page)
    return rows, total, officiates(principal, branch)


def contact_visible(principal: Principal, wish: MicroWish, officer: bool) -> bool:
    """The resident's contact: for the branch, and for the taker once approved."""
    approved = wish.taker_approved_at is not None
    return officer or (approved and wish.claimed_by == principal.member_id)


async def _wish(
    session: AsyncSession, principal: Principal, wish_id: int
) -> tuple[MicroWish, OrgUnit]:
    return await in_visible_branch(session, principal, MicroWish, wish_id, WishNotFound)


async def _move(
    session: AsyncSession, wish: MicroWish, expected: WishStatus, values: dict[str, Any]
) -> None:
    changed = await affected_rows(
        session,
        update(MicroWish)
        .where(col(MicroWish.id) == wish.id, col(MicroWish.status) == expected)
        .values(**values),
    )
    if changed != 1:
        raise WishStateConflict()
    await session.refresh(wish)


async def take(session: AsyncSession, principal: Principal, wish_id: int) -> MicroWish:
    """认领: a member of the branch takes an open wish on."""
    wish, branch = await _wish(session, principal, wish_id)
    if not member_of(principal, branch):
        raise WishNotAllowed()
    await _move(
        session,
        wish,
        WishStatus.open,
        {"status": WishStatus.claimed, "claimed_by": principal.member_id, "claimed_at": utcnow()},
    )
    return wish


async def approve_taker(
    session: AsyncSession, principal: Principal, wish_id: int, now: datetime
) -> MicroWish:
    """The branch approves the member who took the wish on: they now see the contact."""
    wish, branch = await _wish(session, principal, wish_id)
    principal.require(Action.manage_branch_work, branch.path)
    if wish.claimed_by is None or wish.taker_approved_at is not None:
        raise WishNoTakerToApprove()
    principal.require_not_self(wish.claimed_by)
    changed = await affected_rows(
        session,
        update(MicroWish)
        .where(
            col(MicroWish.id) == wish.id,
            col(MicroWish.status) == WishStatus.claimed,
            col(MicroWish.claimed_by) == wish.claimed_by,
            col(MicroWish.taker_approved_at).is_(None),
        )
        .values(taker_approved_by=principal.member_id, taker_approved_at=now),
    )
    if changed != 1:
        raise WishNoTakerToApprove()
    await session.refresh(wish)
    notify(
        session,
        wish.claimed_by,
        NoticeKind.claim_result,
        "微心愿认领已确认",
        {"wish_id": wish.id, "title": wish.title},
    )
    return wish


async def complete(
    session: AsyncSession, principal: Principal, wish_id: int, note: str, photo_ids: list[int]
) -> MicroWish:
    wish, _ = await _wish(session, principal, wish_id)
    if wish.claimed_by != principal.member_id:
        raise WishNotAllowed()
    await evidence_links(session, principal, photo_ids)
    await _move(
        session,
        wish,
        WishStatus.claimed,
        {
            "status": WishStatus.completed,
            "completion_note": note,
            "evidence": photo_ids,
            "completed_at": utcnow(),
        },
    )
    await record_uses(session, EvidenceKind.wish, id_of(wish), photo_ids)
    return wish


async def confirm(
    session: AsyncSession, principal: Principal, wish_id: int, now: datetime
) -> MicroWish:
    """The branch confirms a completion; the wish's scheme item, if any, becomes points."""
    wish, branch = await _wish(session, principal, wish_id)
    principal.require(Action.manage_branch_work, branch.path)
    if wish.claimed_by is not None:
        principal.require_not_self(wish.claimed_by)
    await _move(
        session,
        wish,
        WishStatus.completed,
        {"status": WishStatus.confirmed, "confirmed_by": principal.member_id, "confirmed_at": now},
    )
    assert wish.claimed_by is not None
    if wish.item_code is not None:
        member = await session.get(Member, wish.claimed_by)
        assert member is not None
        record, scheme = await member_scheme(session, member)
        entry = await append_entry(
            session,
            record,
            scheme,
            Subject(member_id=wish.claimed_by),
            NewEntry(
                wish.item_code,
                None,
                today_in_shanghai(now),
                f"完成微心愿：{wish.title}",
                EntrySource.claim,
                photo_links(wish.evidence),
            ),
            principal.member_id,
            today_in_shanghai(now),
        )
        await session.execute(
            update(MicroWish).where(col(MicroWish.id) == wish.id).values(entry_id=entry.id)
        )
        await session.refresh(wish)
    notify(
        session,
        wish.claimed_by,
        NoticeKind.claim_result,
        "微心愿完成已确认",
        {"wish_id": wish.id, "title": wish.title, "entry_id": wish.entry_id},
    )
    return wish


async def cancel(session: AsyncSession, principal: Principal, wish_id: int) -> MicroWish:
    wish, branch = await _wish(session, principal, wish_id)
    principal.require(Action.manage_branch_work, branch.path)
    status = WishStatus(wish.status)
    if status not in (WishStatus.open, WishStatus.claimed):
        raise WishCompleted()
    await _move(session, wish, status, {"status": WishStatus.cancelled})
    return wish


async def settle_year(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    branch_id: int,
    year: int,
    required: int,
    item_code: str,
    now: datetime,
) -> list[tuple[Member, int]]:
    """Each member short of `required` confirmed wishes in `year` gets one deduction per miss.

    Done once per branch and year (a retry is refused); returns who was short and by how much.
    """
    branch = await visible_branch(session, principal, branch_id)
    principal.require(Action.record_deductions, branch.path)
    record, _ = await in_force(session, branch, SubjectKind.MEMBER)
    scheme = (await current_scheme(session, record))[1]
    item = scheme.item(item_code)
    if item is None:
        raise ItemNotInScheme(detail={"item_code": item_code})
    if item.kind is ItemKind.BONUS:
        raise NotADeduction()
    if await session.get(WishYearEnd, (branch.id, year)) is not None:
        raise AlreadySettled()
    session.add(
        WishYearEnd(
            branch_id=id_of(branch),
            year=year,
            required=required,
            item_code=item_code,
            settled_by=principal.member_id,
        )
    )
    short = await _short_of(session, branch, year, required)
    on = min(date(year, 12, 31), today_in_shanghai(now))
    for member, missing in short:
        for _ in range(missing):
            new = NewEntry(
                item_code,
                None,
                on,
                f"{year} 年度微心愿未完成（要求 {required} 个）",
                EntrySource.deduction,
            )
            await deductions.apply(session, settings, member, new, principal.member_id, now)
    await session.flush()
    return short


async def _short_of(
    session: AsyncSession, branch: OrgUnit, year: int, required: int
) -> list[tuple[Member, int]]:
    done = (
        select(MicroWish.claimed_by, func.count().label("done"))
        .where(
            col(MicroWish.status) == WishStatus.confirmed,
            col(MicroWish.confirmed_at) >= datetime(year, 1, 1, tzinfo=SHANGHAI),
            col(MicroWish.confirmed_at) < datetime(year + 1, 1, 1, tzinfo=SHANGHAI),
        )
        .group_by(col(MicroWish.claimed_by))
        .subquery()
    )
    rows = await session.execute(
        select(Member, func.coalesce(done.c.done, 0))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .outerjoin(done, done.c.claimed_by == col(Member.id))
        .where(within(col(OrgUnit.path), [branch.path]), col(Member.status) == MemberStatus.active)
        .order_by(col(Member.id))
    )
    return [
        (member, required - count)
        for member, count in rows
        if count < required and not member.exempt
    ]
