"""WeChat login, binding to a roster member, refresh, and the dev-mode login."""

from dataclasses import dataclass

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api.access import Grant, Principal
from api.config import Settings
from api.db import affected_rows
from api.errors import (
    DevLoginDisabled,
    InvalidBindingTicket,
    InvalidRefreshToken,
    InvalidToken,
    InviteCodeInvalid,
    MemberAlreadyBound,
    MemberInactive,
    RosterMemberNotFound,
    WeChatAlreadyBound,
)
from api.models import (
    InviteCode,
    Member,
    MemberStatus,
    OrgUnit,
    RefreshToken,
    Role,
    RoleAssignment,
    WeChatAccount,
    id_of,
    utcnow,
)
from api.rate_limits import RateLimiter
from api.security import IssuedToken, hash_token, issue_jwt, new_refresh_token, read_jwt
from api.wechat.client import WeChatClient


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken
    member: Member


@dataclass(frozen=True)
class LoginOutcome:
    """Either a bound member's tokens or, for an unbound WeChat user, a binding ticket."""

    tokens: TokenPair | None = None
    binding_ticket: IssuedToken | None = None


async def login_with_wechat(
    session: AsyncSession,
    wechat: WeChatClient,
    settings: Settings,
    js_code: str,
    *,
    limiter: RateLimiter,
) -> LoginOutcome:
    wx = await wechat.code_to_session(js_code)
    await limiter.login_account(wx.openid)
    account = await session.scalar(
        select(WeChatAccount).where(col(WeChatAccount.openid) == wx.openid)
    )
    now = utcnow()
    if account is None:
        account = WeChatAccount(openid=wx.openid, unionid=wx.unionid, session_key=wx.session_key)
        session.add(account)
    else:
        account.session_key = wx.session_key
        account.unionid = wx.unionid or account.unionid
        account.last_login_at = now
    await session.flush()
    if account.member_id is None:
        ticket = issue_jwt(
            settings.jwt_secret.get_secret_value(),
            str(id_of(account)),
            "bind",
            settings.binding_ticket_ttl,
        )
        return LoginOutcome(binding_ticket=ticket)
    member = await _active_member(session, account.member_id)
    return LoginOutcome(tokens=await issue_tokens(session, settings, member))


async def bind_by_phone(
    session: AsyncSession,
    wechat: WeChatClient,
    settings: Settings,
    ticket: str,
    phone_code: str,
) -> TokenPair:
    account = await _unbound_account(session, settings, ticket)
    phone = await wechat.phone_number(phone_code)
    member = await session.scalar(select(Member).where(col(Member.phone) == phone))
    if member is None:
        raise RosterMemberNotFound()
    return await _bind(session, settings, account, member)


async def bind_by_invite(
    session: AsyncSession, settings: Settings, ticket: str, code: str
) -> TokenPair:
    account = await _unbound_account(session, settings, ticket)
    invite = await session.scalar(
        select(InviteCode).where(col(InviteCode.code) == code.strip().upper())
    )
    now = utcnow()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise InviteCodeInvalid()
    claimed = await affected_rows(
        session,
        update(InviteCode)
        .where(col(InviteCode.id) == invite.id, col(InviteCode.used_at).is_(None))
        .values(used_at=now),
    )
    if claimed != 1:
        raise InviteCodeInvalid()
    member = await session.get(Member, invite.member_id)
    assert member is not None
    return await _bind(session, settings, account, member)


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenPair:
    row = await session.scalar(
        select(RefreshToken).where(col(RefreshToken.token_hash) == hash_token(token))
    )
    now = utcnow()
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidRefreshToken()
    spent = await affected_rows(
        session,
        update(RefreshToken)
        .where(col(RefreshToken.id) == row.id, col(RefreshToken.used_at).is_(None))
        .values(used_at=now),
    )
    if spent != 1:
        raise InvalidRefreshToken()
    member = await _active_member(session, row.member_id)
    return await issue_tokens(session, settings, member)


async def dev_login(session: AsyncSession, settings: Settings, phone: str) -> TokenPair:
    if not settings.dev_login_enabled:
        raise DevLoginDisabled()
    member = await session.scalar(select(Member).where(col(Member.phone) == phone))
    if member is None:
        raise RosterMemberNotFound()
    _require_active(member)
    return await issue_tokens(session, settings, member)


async def dev_accounts(
    session: AsyncSession, settings: Settings, limit: int = 200
) -> list[tuple[Member, str, list[str]]]:
    """Demo members with their unit name and roles, for picking whom to act as."""
    if not settings.dev_login_enabled:
        raise DevLoginDisabled()
    rows = await session.execute(
        select(Member, col(OrgUnit.name))
        .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
        .where(col(Member.status) == MemberStatus.active)
        .order_by(col(Member.id))
        .limit(limit)
    )
    roles: dict[int | None, list[str]] = {}
    for assignment in await session.scalars(
        select(RoleAssignment).order_by(col(RoleAssignment.id))
    ):
        roles.setdefault(assignment.member_id, []).append(assignment.role)
    return [(member, unit, roles.get(member.id, [])) for member, unit in rows]


async def issue_tokens(session: AsyncSession, settings: Settings, member: Member) -> TokenPair:
    member_id = id_of(member)
    access = issue_jwt(
        settings.jwt_secret.get_secret_value(), str(member_id), "access", settings.access_token_ttl
    )
    refresh_value = new_refresh_token()
    expires_at = utcnow() + settings.refresh_token_ttl
    session.add(
        RefreshToken(
            member_id=member_id, token_hash=hash_token(refresh_value), expires_at=expires_at
        )
    )
    await session.flush()
    return TokenPair(access, IssuedToken(refresh_value, expires_at), member)


async def load_principal(session: AsyncSession, settings: Settings, token: str) -> Principal:
    subject = read_jwt(settings.jwt_secret.get_secret_value(), token, "access")
    if not subject.isdigit():
        raise InvalidToken()
    # One query on every request: the member, their unit and their roles.
    rows = (await session.execute(_PRINCIPAL, {"member_id": int(subject)})).all()
    if not rows:
        raise InvalidToken()
    member, unit = rows[0][0], rows[0][1]
    _require_active(member)
    # The session's identity map holds objects weakly: keep the member and their unit for the
    # request, so the services' `session.get(…)` of either costs no query.
    session.info["principal_member"] = member
    session.info["principal_unit"] = unit
    return Principal(
        member_id=id_of(member),
        unit_path=unit.path,
        grants=tuple(
            Grant(Role(role), unit_id, path)
            for _, _, role, unit_id, path in rows
            if role is not None and unit_id is not None and path is not None
        ),
    )


_ROLE_UNIT = aliased(OrgUnit)
# Built once: every signed-in request runs it.
_PRINCIPAL = (
    sa_select(
        Member,
        OrgUnit,
        col(RoleAssignment.role),
        col(RoleAssignment.unit_id),
        col(_ROLE_UNIT.path),
    )
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .outerjoin(RoleAssignment, col(RoleAssignment.member_id) == col(Member.id))
    .outerjoin(_ROLE_UNIT, col(_ROLE_UNIT.id) == col(RoleAssignment.unit_id))
    .where(col(Member.id) == bindparam("member_id"))
)


async def _unbound_account(session: AsyncSession, settings: Settings, ticket: str) -> WeChatAccount:
    subject = read_jwt(
        settings.jwt_secret.get_secret_value(),
        ticket,
        "bind",
        invalid=InvalidBindingTicket,
        expired=InvalidBindingTicket,
    )
    account = await session.get(WeChatAccount, int(subject)) if subject.isdigit() else None
    if account is None:
        raise InvalidBindingTicket()
    if account.member_id is not None:
        raise WeChatAlreadyBound()
    return account


async def _bind(
    session: AsyncSession, settings: Settings, account: WeChatAccount, member: Member
) -> TokenPair:
    _require_active(member)
    taken = await session.scalar(
        select(col(WeChatAccount.id)).where(col(WeChatAccount.member_id) == member.id)
    )
    if taken is not None:
        raise MemberAlreadyBound()
    try:
        bound = await affected_rows(
            session,
            update(WeChatAccount)
            .where(col(WeChatAccount.id) == account.id, col(WeChatAccount.member_id).is_(None))
            .values(member_id=member.id, bound_at=utcnow()),
        )
    except IntegrityError as exc:
        raise MemberAlreadyBound() from exc
    if bound != 1:
        raise WeChatAlreadyBound()
    return await issue_tokens(session, settings, member)


async def _active_member(session: AsyncSession, member_id: int) -> Member:
    member = await session.get(Member, member_id)
    if member is None:
        raise InvalidToken()
    _require_active(member)
    return member


def _require_active(member: Member) -> None:
    if member.status != MemberStatus.active:
        raise MemberInactive()
