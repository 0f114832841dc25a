"""The in-app inbox: notices written in the same transaction as their cause."""

from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.deps import CursorParams
from api.errors import NoticeNotFound
from api.models import Delivery, Notice, NoticeKind, id_of, utcnow
from api.reads import Read, Write
from api.services.members import member_for
from api.services.paging import cut, keyset


def notify(
    session: AsyncSession, member_id: int, kind: NoticeKind, title: str, data: dict[str, Any]
) -> Notice:
    """Queue a notice on the caller's transaction: it exists exactly when its cause does, and
    so does its WeChat delivery (queued by the database's trigger on the notice)."""
    notice = Notice(member_id=member_id, kind=kind, title=title, data=data)
    session.add(notice)
    return notice


async def tell(
    session: AsyncSession, member_id: int, kind: NoticeKind, title: str, data: dict[str, Any]
) -> None:
    """`notify` written at once on the driver (a `Write`): for a phone's request that tells one
    member, where the ORM's flush of the one notice cost more than the rest of its writes."""
    await _TELL.all(
        session,
        {"member_id": member_id, "kind": kind, "title": title, "data": data, "at": utcnow()},
    )


_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_TELL = Write(
    insert(_NOTICE)
    .values(
        member_id=bindparam("member_id"),
        kind=bindparam("kind"),
        title=bindparam("title"),
        data=bindparam("data"),
        created_at=bindparam("at"),
    )
    .returning(_NOTICE.c.id)
)


async def inbox(
    session: AsyncSession, principal: Principal, unread_only: bool, cursor: CursorParams
) -> tuple[list[tuple[Notice, Delivery | None]], int, int, tuple[int, ...] | None]:
    """The member's notices, newest first, with the total, the unread count and the key of the
    page's last notice when more follow."""
    return await _notices_of(session, principal.member_id, unread_only, cursor)


async def member_notices(
    session: AsyncSession, principal: Principal, member_id: int, cursor: CursorParams
) -> tuple[list[tuple[Notice, Delivery | None]], int, int, tuple[int, ...] | None]:
    """A member's notices as `inbox` gives them, for whoever may read the member: the officer
    sees what the member was told, and reading them here leaves them unread for the member."""
    await member_for(session, principal, member_id, Action.read_members)
    return await _notices_of(session, member_id, False, cursor)


async def _notices_of(
    session: AsyncSession, member_id: int, unread_only: bool, cursor: CursorParams
) -> tuple[list[tuple[Notice, Delivery | None]], int, int, tuple[int, ...] | None]:
    theirs = col(Notice.member_id) == member_id
    unread = theirs & col(Notice.read_at).is_(None)
    condition = unread if unread_only else theirs
    everything, unread_count = await _COUNTS.first(session, {"member_id": member_id}) or (0, 0)
    total = unread_count if unread_only else everything
    query = (
        select(Notice, Delivery)
        .outerjoin(Delivery, col(Delivery.notice_id) == col(Notice.id))
        .where(condition)
    )
    rows = await session.execute(
        keyset(query, [col(Notice.id)], cursor.after_key(1), cursor.size, descending=True)
    )
    found: list[tuple[Notice, Delivery | None]] = [(n, d) for n, d in rows]
    page, last = cut(found, cursor.size, lambda row: (id_of(row[0]),))
    return page, total or 0, unread_count or 0, last


# Built once: the inbox counts its notices and its unread ones in one statement.
_COUNTS = Read(
    sa_select(func.count(), func.count().filter(col(Notice.read_at).is_(None))).where(
        col(Notice.member_id) == bindparam("member_id")
    )
)


async def mark_read(session: AsyncSession, principal: Principal, notice_id: int) -> Notice:
    notice = await session.get(Notice, notice_id)
    if notice is None or notice.member_id != principal.member_id:
        raise NoticeNotFound()
    if notice.read_at is None:
        notice.read_at = utcnow()
        await session.flush()
    return notice


async def mark_all_read(session: AsyncSession, principal: Principal) -> None:
    await session.execute(
        update(Notice)
        .where(col(Notice.member_id) == principal.member_id, col(Notice.read_at).is_(None))
        .values(read_at=utcnow())
    )
