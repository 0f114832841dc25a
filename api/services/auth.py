"""WeChat login, binding to a roster member, refresh, logout, and the dev-mode login.

Each login is a `LoginSession`: the family of every token descended from it. A refresh token
is single use; presented again within the grace window it is answered with the pair it was
rotated into (a phone waking up with two requests), and at any other time it is reuse, which
revokes the whole family, access tokens included.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Update, and_, bindparam, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from api import logs, reads
from api.access import Grant, Principal
from api.config import Settings
from api.db import affected_rows, insert_for
from api.errors import (
    DevLoginDisabled,
    InvalidBindingTicket,
    InvalidRefreshToken,
    InvalidToken,
    InviteCodeInvalid,
    MemberAlreadyBound,
    MemberInactive,
    OperatorNotFound,
    RefreshTokenReused,
    RosterMemberNotFound,
    WeChatAlreadyBound,
)
from api.models import (
    InviteCode,
    LoginKind,
    LoginSession,
    Member,
    MemberStatus,
    OrgUnit,
    RefreshToken,
    Role,
    RoleAssignment,
    SessionEnd,
    WeChatAccount,
    id_of,
    utcnow,
)
from api.models.base import UTCDateTime
from api.rate_limits import RateLimiter
from api.reads import Read, Write, adopt, columns_of
from api.secrets import seal
from api.security import (
    IssuedToken,
    hash_token,
    issue_jwt,
    new_refresh_token,
    read_access_token,
    read_jwt,
    successor_refresh_token,
)
from api.services.in_force import remember_member_scheme, with_member_scheme
from api.wechat.client import WeChatClient, WeChatSession


@dataclass(frozen=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken
    member: Member
    login_id: int


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
    account = await _signed_in_account(session, wx, seal(settings, wx.session_key))
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
    now = _now()
    presented, login = await _presented(session, token, now)
    successor = successor_refresh_token(settings.jwt_secret.get_secret_value(), token)
    if presented.used_at is None and await _spend(session, presented, now):
        member = await _active_member(session, login.member_id)
        return await _rotate(session, settings, member, login, successor, now)
    # Rotated already, perhaps a moment ago by a parallel request of the same phone.
    issued = await _issued_within_grace(session, settings, login, successor, now)
    member = await _active_member(session, login.member_id)
    return _pair(settings, member, login, issued.created_at, issued.expires_at, successor)


async def logout(
    session: AsyncSession, settings: Settings, token: str, *, everywhere: bool
) -> None:
    """Revoke the login of `token` (every token descended from it) or all the member's logins.

    The token must be one `refresh` would accept; a reused one revokes its login as reuse.
    """
    now = _now()
    presented, login = await _presented(session, token, now)
    if presented.used_at is not None:
        successor = successor_refresh_token(settings.jwt_secret.get_secret_value(), token)
        await _issued_within_grace(session, settings, login, successor, now)
    if everywhere:
        await _revoke(
            session,
            _REVOKE_MEMBER,
            key=login.member_id,
            reason=SessionEnd.logout_everywhere,
            now=now,
        )
    else:
        await _revoke(session, _REVOKE_LOGIN, key=id_of(login), reason=SessionEnd.logout, now=now)


async def dev_login(
    session: AsyncSession, settings: Settings, phone: str, *, kind: LoginKind
) -> TokenPair:
    if not settings.dev_login_enabled:
        raise DevLoginDisabled()
    member = await session.scalar(select(Member).where(col(Member.phone) == phone))
    if member is None:
        raise RosterMemberNotFound()
    _require_active(member)
    return await issue_tokens(session, settings, member, kind=kind)


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


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    member: Member,
    *,
    kind: LoginKind = LoginKind.miniprogram,
    client: str | None = None,
) -> TokenPair:
    """A new login of `member` and its first token pair; a console's lasts a shorter time."""
    now = _now()
    lifetime = (
        settings.console_session_max_age if kind == LoginKind.console else settings.session_max_age
    )
    login = LoginSession(
        member_id=id_of(member), kind=kind, client=client, created_at=now, expires_at=now + lifetime
    )
    session.add(login)
    await session.flush()
    return await _rotate(session, settings, member, login, new_refresh_token(), now)


async def load_principal(
    session: AsyncSession, settings: Settings, token: str, *, member_scheme: bool = False
) -> Principal:
    """`member_scheme`: with the member scheme in force at the member's unit, in the same
    statement, for a request that reads it next (their score, their home screen, a claim);
    `schemes.in_force` then answers for that unit without a statement of its own."""
    member_id, login_id = read_access_token(settings.jwt_secret.get_secret_value(), token)
    # One query on every request: the member, their unit and their roles, if the login that
    # issued the token is still alive.
    rows = await (_PRINCIPAL_AND_SCHEME if member_scheme else _PRINCIPAL).all(
        session, {"member_id": member_id, "login_id": login_id, "now": utcnow()}
    )
    if not rows:
        raise InvalidToken()
    first = rows[0]
    member = adopt(session, Member, first[:_MEMBER_END])
    unit = adopt(session, OrgUnit, first[_MEMBER_END:_UNIT_END])
    _require_active(member)
    if member_scheme:
        remember_member_scheme(session, unit, first[_ROLES_END:])
    roles = [(row[_UNIT_END + 1], row[_UNIT_END + 2], row[_UNIT_END + 3]) for row in rows]
    return _principal(
        member, unit, roles, login_id=login_id, login_kind=LoginKind(first[_UNIT_END])
    )


async def operator(session: AsyncSession, phone: str) -> Principal:
    """A command-line operator (`pioneer … --as PHONE`): the member with this phone, acting with
    exactly the roles they hold, as if signed in; refused for nobody's phone or a member who
    has left."""
    rows = (await session.execute(_OPERATOR, {"phone": phone.strip()})).all()
    if not rows:
        raise OperatorNotFound()
    member, unit = rows[0][0], rows[0][1]
    _require_active(member)
    return _principal(member, unit, [(role, unit_id, path) for _, _, role, unit_id, path in rows])


RoleHeld = tuple[str | None, int | None, str | None]  # role, its unit, that unit's path


def _principal(
    member: Member,
    unit: OrgUnit,
    roles: Sequence[RoleHeld],
    *,
    login_id: int = 0,
    login_kind: LoginKind = LoginKind.miniprogram,
) -> Principal:
    """The principal of `_PRINCIPAL`'s or `_OPERATOR`'s rows: the member, their unit, and a
    role per row (none when the member holds none)."""
    return Principal(
        member_id=id_of(member),
        unit_path=unit.path,
        grants=tuple(
            Grant(Role(role), unit_id, path)
            for role, unit_id, path in roles
            if role is not None and unit_id is not None and path is not None
        ),
        login_id=login_id,
        login_kind=login_kind,
    )


_ROLE_UNIT = aliased(OrgUnit)
# Built once: every signed-in request runs it.
_MEMBER_END = len(columns_of(Member))
_UNIT_END = _MEMBER_END + len(columns_of(OrgUnit))
_PRINCIPAL_QUERY = (
    sa_select(
        *columns_of(Member),
        *columns_of(OrgUnit),
        col(LoginSession.kind),
        col(RoleAssignment.role),
        col(RoleAssignment.unit_id),
        col(_ROLE_UNIT.path),
    )
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .join(
        LoginSession,
        and_(
            col(LoginSession.id) == bindparam("login_id"),
            col(LoginSession.member_id) == col(Member.id),
            col(LoginSession.revoked_at).is_(None),
            col(LoginSession.expires_at) > bindparam("now", type_=UTCDateTime()),
        ),
    )
    .outerjoin(RoleAssignment, col(RoleAssignment.member_id) == col(Member.id))
    .outerjoin(_ROLE_UNIT, col(_ROLE_UNIT.id) == col(RoleAssignment.unit_id))
    .where(col(Member.id) == bindparam("member_id"))
)
_PRINCIPAL = Read(_PRINCIPAL_QUERY)
_ROLES_END = _UNIT_END + 4  # the login's kind, then a role's three columns
# With the member scheme in force at the member's unit, for the requests that read it next.
_PRINCIPAL_AND_SCHEME = Read(
    with_member_scheme(_PRINCIPAL_QUERY, OrgUnit.__table__)  # type: ignore[attr-defined]
)
# The operator's member, unit and roles, as `_PRINCIPAL` without a login.
_OPERATOR = (
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
    .where(col(Member.phone) == bindparam("phone"))
)
_TOKEN_END = len(columns_of(RefreshToken))
_LOGIN_END = _TOKEN_END + len(columns_of(LoginSession))
# With the login's member, whom the new tokens are for.
_PRESENTED = Read(
    sa_select(*columns_of(RefreshToken), *columns_of(LoginSession), *columns_of(Member))
    .join(LoginSession, col(LoginSession.id) == col(RefreshToken.session_id))
    .join(Member, col(Member.id) == col(LoginSession.member_id))
    .where(col(RefreshToken.token_hash) == bindparam("token_hash"))
)
# A refresh's statements, built once too (every phone refreshes). Its writes go to the tables,
# on the driver: nothing in the session needs them reflected.
_TOKEN = RefreshToken.__table__  # type: ignore[attr-defined]
_LOGIN = LoginSession.__table__  # type: ignore[attr-defined]
_SPEND = Write(
    update(_TOKEN)
    .where(_TOKEN.c.id == bindparam("token_id"), _TOKEN.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(_TOKEN.c.id)
)
_ISSUED = select(RefreshToken).where(col(RefreshToken.token_hash) == bindparam("token_hash"))
_INSERT_TOKEN = Write(
    insert(_TOKEN)
    .values(
        {
            name: bindparam(name)
            for name in ("member_id", "session_id", "token_hash", "created_at", "expires_at")
        }
    )
    .returning(_TOKEN.c.id)
)


def _revoking(key: ColumnElement[int]) -> Update:
    return (
        update(_LOGIN)
        .where(key == bindparam("key"), _LOGIN.c.revoked_at.is_(None))
        .values(revoked_at=bindparam("now"), revoked_reason=bindparam("reason"))
    )


_REVOKE_LOGIN = _revoking(_LOGIN.c.id)
_REVOKE_MEMBER = _revoking(_LOGIN.c.member_id)


def _now() -> datetime:
    # Whole seconds, as in the JWT: a pair issued again from the stored rows is the same pair.
    return utcnow().replace(microsecond=0)


async def _presented(
    session: AsyncSession, token: str, now: datetime
) -> tuple[RefreshToken, LoginSession]:
    """A refresh token of a live login, with that login."""
    found = await _PRESENTED.first(session, {"token_hash": hash_token(token)})
    if found is None:
        raise InvalidRefreshToken()
    presented = adopt(session, RefreshToken, found[:_TOKEN_END])
    login = adopt(session, LoginSession, found[_TOKEN_END:_LOGIN_END])
    adopt(session, Member, found[_LOGIN_END:])  # `_active_member` finds it
    if login.revoked_at is not None or login.expires_at <= now or presented.expires_at <= now:
        raise InvalidRefreshToken()
    return presented, login


async def _spend(session: AsyncSession, presented: RefreshToken, now: datetime) -> bool:
    """Mark the token used; False when another request did first (it waits for that one)."""
    spent = await _SPEND.all(session, {"token_id": presented.id, "now": now})
    return len(spent) == 1


async def _issued_within_grace(
    session: AsyncSession, settings: Settings, login: LoginSession, successor: str, now: datetime
) -> RefreshToken:
    """The token a used one was rotated into, if that happened within the grace window and it
    is still unused; anything else is reuse, and the whole login is revoked."""
    issued = await session.scalar(_ISSUED, {"token_hash": hash_token(successor)})
    if (
        issued is not None
        and issued.used_at is None
        and now - issued.created_at < settings.refresh_grace
    ):
        return issued
    await _revoke(session, _REVOKE_LOGIN, key=id_of(login), reason=SessionEnd.reuse, now=now)
    raise RefreshTokenReused()


async def _revoke(
    session: AsyncSession, logins: Update, *, key: int, reason: SessionEnd, now: datetime
) -> None:
    """End the live logins `logins` picks by `key` (`_REVOKE_LOGIN`: one login by its id,
    `_REVOKE_MEMBER`: all of a member's)."""
    await session.execute(logins, {"key": key, "now": now, "reason": reason})


async def _rotate(
    session: AsyncSession,
    settings: Settings,
    member: Member,
    login: LoginSession,
    value: str,
    now: datetime,
) -> TokenPair:
    """Store the refresh token `value` of `login` and issue its pair (the request's later log
    lines name the member signing in)."""
    logs.note_member(id_of(member))
    expires_at = min(now + settings.refresh_token_ttl, login.expires_at)
    await _INSERT_TOKEN.all(
        session,
        {
            "member_id": id_of(member),
            "session_id": id_of(login),
            "token_hash": hash_token(value),
            "created_at": now,
            "expires_at": expires_at,
        },
    )
    return _pair(settings, member, login, now, expires_at, value)


def _pair(
    settings: Settings,
    member: Member,
    login: LoginSession,
    created_at: datetime,
    expires_at: datetime,
    value: str,
) -> TokenPair:
    """The pair of a stored refresh token (created and expiring then): the same every time it
    is asked for."""
    access = issue_jwt(
        settings.jwt_secret.get_secret_value(),
        str(id_of(member)),
        "access",
        settings.access_token_ttl,
        session_id=id_of(login),
        issued_at=created_at,
        not_after=login.expires_at,
    )
    return TokenPair(access, IssuedToken(value, expires_at), member, id_of(login))


async def _signed_in_account(
    session: AsyncSession, wx: WeChatSession, session_key: str
) -> WeChatAccount:
    """The WeChat user's account, created on their first login, holding `session_key` (sealed).

    One upsert: concurrent first logins of one user (a phone retrying) all get the one account
    instead of racing to insert it.
    """
    now = utcnow()
    insert = insert_for(session)(WeChatAccount).values(
        openid=wx.openid,
        unionid=wx.unionid,
        session_key=session_key,
        created_at=now,
        last_login_at=now,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[col(WeChatAccount.openid)],
        set_={
            "session_key": insert.excluded.session_key,
            "unionid": func.coalesce(insert.excluded.unionid, col(WeChatAccount.unionid)),
            "last_login_at": insert.excluded.last_login_at,
        },
    ).returning(WeChatAccount)
    account: WeChatAccount | None = await session.scalar(
        upsert, execution_options={"populate_existing": True}
    )
    assert account is not None
    return account


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
    member = await reads.get(session, Member, member_id)
    if member is None:
        raise InvalidToken()
    _require_active(member)
    return member


def _require_active(member: Member) -> None:
    if member.status != MemberStatus.active:
        raise MemberInactive()
