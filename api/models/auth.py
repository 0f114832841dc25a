"""WeChat accounts, invite codes, logins and their refresh tokens."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class WeChatAccount(SQLModel, table=True):
    """One mini-program user. `member_id` is unique: one WeChat account ↔ one member.

    `session_key` stays here, sealed with `DATA_KEY`, and is never sent to a client.
    """

    __tablename__ = "wechat_account"

    id: int | None = Field(default=None, primary_key=True)
    openid: str = Field(sa_type=sa.String(64), unique=True)
    unionid: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    session_key: str = Field(sa_type=sa.Text)
    member_id: int | None = Field(default=None, foreign_key="member.id", unique=True)
    bound_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    last_login_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class InviteCode(SQLModel, table=True):
    """A single-use code a branch issues so a member can bind without the phone check."""

    __tablename__ = "invite_code"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=sa.String(16), unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    # None: `pioneer init`'s code for the first admin, whom nobody could issue it.
    issued_by: int | None = Field(default=None, foreign_key="member.id")
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class SessionEnd(StrEnum):
    """Why a login was revoked."""

    logout = "logout"
    logout_everywhere = "logout_everywhere"  # the member signed out of every device
    reuse = "reuse"  # a rotated refresh token came back: someone else may hold the family
    ended = "ended"  # the member ended it from their list of logins (on another device)


class LoginKind(StrEnum):
    """Where a login was made: the mini-program, or the PC console by scanning its code."""

    miniprogram = "miniprogram"
    console = "console"


class LoginSession(SQLModel, table=True):
    """One login: the family of every refresh and access token descended from it.

    It ends at `expires_at` (a fixed time after the login, however often it is refreshed) or
    when revoked; every token of the family dies with it.
    """

    __tablename__ = "login_session"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: LoginKind = Field(default=LoginKind.miniprogram, sa_type=sa.String(16))
    # The browser a console login was made in (its User-Agent, cut), so the member can tell
    # their logins apart.
    client: str | None = Field(default=None, sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    revoked_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    revoked_reason: str | None = Field(default=None, sa_type=sa.String(24))

    __table_args__ = (
        sa.CheckConstraint(
            "revoked_reason IN ('logout', 'logout_everywhere', 'reuse', 'ended')",
            name="revoked_reason",
        ),
        sa.CheckConstraint("kind IN ('miniprogram', 'console')", name="kind"),
    )


class ConsoleTicket(SQLModel, table=True):
    """A one-time ticket that signs a PC console in (扫码登录).

    The console shows `ref` as a QR code and keeps the secret, of which only the SHA-256 is
    stored; a member signed in on the mini-program confirms the ticket by scanning it, and the
    console, presenting the secret, then redeems it once for a login of its own. A ticket dies
    at `expires_at`, or when redeemed.
    """

    __tablename__ = "console_ticket"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_type=sa.String(32), unique=True)
    secret_hash: str = Field(sa_type=sa.String(64))
    client: str | None = Field(default=None, sa_type=sa.String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    expires_at: datetime = Field(sa_column=utc_column())
    member_id: int | None = Field(default=None, foreign_key="member.id")
    confirmed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    redeemed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    session_id: int | None = Field(default=None, foreign_key="login_session.id")


class RefreshToken(SQLModel, table=True):
    """An opaque, single-use refresh token of a login; only its SHA-256 is stored."""

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    session_id: int = Field(foreign_key="login_session.id", index=True)
    token_hash: str = Field(sa_type=sa.String(64), unique=True)
    expires_at: datetime = Field(sa_column=utc_column())
    used_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
