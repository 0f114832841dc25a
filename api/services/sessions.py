"""A member's logins, and the PC console's sign-in by scanning a code (扫码登录).

The console asks for a ticket and shows it as a QR code, keeping the ticket's secret to itself
(only its SHA-256 is stored). A member signed in on the mini-program scans the code and
confirms; the console, polling with the secret, then redeems the ticket once for a login of its
own: the same member and roles, a console's shorter lifetime, listed among the member's logins
and ended like any of them. A ticket is confirmed by one member only, redeemed once, and dead
after its few minutes. A console's login cannot confirm a ticket: only the phone can, so a
console cannot keep itself signed in past its lifetime.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Principal
from api.config import Settings
from api.db import affected_rows
from api.errors import (
    ConsoleConfirmNeedsMiniProgram,
    ConsoleTicketExpired,
    ConsoleTicketInvalid,
    LoginNotFound,
    MemberInactive,
)
from api.models import (
    ConsoleTicket,
    LoginKind,
    LoginSession,
    Member,
    MemberStatus,
    SessionEnd,
    utcnow,
)
from api.security import hash_token
from api.services.auth import TokenPair, issue_tokens

# What the QR code holds without a link base: the mini-program's scanner recognises the prefix.
QR_PREFIX: Final = "pioneer-console:"
LINK_PARAMETER: Final = "t"
CLIENT_MAX: Final = 200
# Tickets that died unused are deleted this long after, by the next ticket asked for: their
# number stays what a day of asking makes.
UNUSED_KEPT: Final = timedelta(days=1)


@dataclass(frozen=True)
class NewTicket:
    ticket: ConsoleTicket
    secret: str
    qr_content: str


def qr_content(settings: Settings, ref: str) -> str:
    """A link the mini-program opens from WeChat's own scanner, or the bare prefixed ticket."""
    if settings.console_link_base:
        return f"{settings.console_link_base}?{LINK_PARAMETER}={ref}"
    return f"{QR_PREFIX}{ref}"


async def create_ticket(
    session: AsyncSession, settings: Settings, *, client: str | None
) -> NewTicket:
    now = utcnow()
    await session.execute(
        delete(ConsoleTicket).where(
            col(ConsoleTicket.expires_at) < now - UNUSED_KEPT,
            col(ConsoleTicket.redeemed_at).is_(None),
        )
    )
    secret = secrets.token_urlsafe(32)
    ticket = ConsoleTicket(
        ref=secrets.token_urlsafe(16),
        secret_hash=hash_token(secret),
        client=client[:CLIENT_MAX] if client else None,
        created_at=now,
        expires_at=now + settings.console_ticket_ttl,
    )
    session.add(ticket)
    await session.flush()
    return NewTicket(ticket, secret, qr_content(settings, ticket.ref))


async def confirm_ticket(session: AsyncSession, principal: Principal, *, ref: str) -> ConsoleTicket:
    """The member signs the console in. Confirming again (a phone retrying) answers the same;
    a ticket another member confirmed is refused as if it did not exist."""
    if principal.login_kind != LoginKind.miniprogram:
        raise ConsoleConfirmNeedsMiniProgram()
    now = utcnow()
    ticket = _live(await _ticket(session, ref), now)
    if ticket.member_id is None:
        await session.execute(
            update(ConsoleTicket)
            .where(col(ConsoleTicket.id) == ticket.id, col(ConsoleTicket.member_id).is_(None))
            .values(member_id=principal.member_id, confirmed_at=now)
        )
        # Whoever came first holds it: this member, or a parallel confirmation.
        await session.refresh(ticket)
    if ticket.member_id != principal.member_id:
        raise ConsoleTicketInvalid()
    return ticket


async def redeem_ticket(
    session: AsyncSession, settings: Settings, *, ref: str, secret: str
) -> TokenPair | ConsoleTicket:
    """The console's own login once the ticket is confirmed (the ticket is then spent), else
    the ticket, still waiting for the member."""
    now = utcnow()
    ticket = await _ticket(session, ref)
    if not hmac.compare_digest(ticket.secret_hash, hash_token(secret)):
        raise ConsoleTicketInvalid()
    _live(ticket, now)
    if ticket.member_id is None:
        return ticket
    spent = await affected_rows(
        session,
        update(ConsoleTicket)
        .where(col(ConsoleTicket.id) == ticket.id, col(ConsoleTicket.redeemed_at).is_(None))
        .values(redeemed_at=now),
    )
    if spent != 1:
        raise ConsoleTicketInvalid()
    member = await session.get(Member, ticket.member_id)
    if member is None or member.status != MemberStatus.active:
        raise MemberInactive()
    tokens = await issue_tokens(
        session, settings, member, kind=LoginKind.console, client=ticket.client
    )
    await session.execute(
        update(ConsoleTicket)
        .where(col(ConsoleTicket.id) == ticket.id)
        .values(session_id=tokens.login_id)
    )
    return tokens


async def _ticket(session: AsyncSession, ref: str) -> ConsoleTicket:
    ticket = await session.scalar(select(ConsoleTicket).where(col(ConsoleTicket.ref) == ref))
    if ticket is None or ticket.redeemed_at is not None:
        raise ConsoleTicketInvalid()
    return ticket


def _live(ticket: ConsoleTicket, now: datetime) -> ConsoleTicket:
    if ticket.expires_at <= now:
        raise ConsoleTicketExpired()
    return ticket


async def logins_of(session: AsyncSession, principal: Principal) -> list[LoginSession]:
    """The member's logins still alive, newest first."""
    rows = await session.scalars(
        select(LoginSession)
        .where(
            col(LoginSession.member_id) == principal.member_id,
            col(LoginSession.revoked_at).is_(None),
            col(LoginSession.expires_at) > utcnow(),
        )
        .order_by(col(LoginSession.id).desc())
    )
    return list(rows)


async def end_login(session: AsyncSession, principal: Principal, *, login_id: int) -> None:
    """End one of the member's own logins (this one included): every token of it dies."""
    ended = await affected_rows(
        session,
        update(LoginSession)
        .where(
            col(LoginSession.id) == login_id,
            col(LoginSession.member_id) == principal.member_id,
            col(LoginSession.revoked_at).is_(None),
            col(LoginSession.expires_at) > utcnow(),
        )
        .values(revoked_at=utcnow(), revoked_reason=SessionEnd.ended),
    )
    if ended != 1:
        raise LoginNotFound()
