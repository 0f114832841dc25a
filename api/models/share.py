"""Sharing a published board in a WeChat group: scene codes, cached images, the nudge."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class SceneKind(StrEnum):
    """What a scene code opens."""

    board = "board"  # a publication (one branch's board of one close)
    member_card = "member_card"  # a member's 一人一卡


class Opens(StrEnum):
    """What a scanned code or a 小程序码's scene opens in the mini-program."""

    board = "board"
    member_card = "member_card"
    checkin = "checkin"  # a meeting's scan-in code


class SceneCode(SQLModel, table=True):
    """A short random code standing for a target in a 小程序码's `scene` (32 characters at
    most): the service resolves it to what it opens. With it, once WeChat made one, the code's
    image, kept: a target's code never changes."""

    __tablename__ = "scene_code"

    code: str = Field(sa_type=sa.String(16), primary_key=True)
    kind: str = Field(sa_type=sa.String(16))
    target_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    image: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    # The mini-program version the image opens (`WXA_ENV_VERSION` when it was made).
    image_env: str | None = Field(default=None, sa_type=sa.String(16))
    # WeChat's last refusal or fault, and when to ask again (not on every poster).
    errcode: int | None = None
    failure: str | None = Field(default=None, sa_type=sa.Text)
    retry_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))

    __table_args__ = (
        sa.UniqueConstraint("kind", "target_id"),
        sa.CheckConstraint("kind IN ('board', 'member_card')", name="kind"),
    )


class BoardImageKind(StrEnum):
    card = "card"  # the 5:4 share card
    poster = "poster"  # the default poster (top 30), with the 小程序码 where WeChat gave one


class BoardImage(SQLModel, table=True):
    """An image drawn from a published board, drawn once: a board never changes."""

    __tablename__ = "board_image"

    publication_id: int = Field(foreign_key="publication.id", primary_key=True)
    kind: str = Field(sa_type=sa.String(16), primary_key=True)
    png: bytes = Field(sa_type=sa.LargeBinary)
    # A poster drawn without the 小程序码 (WeChat could not give one) is drawn again once it can.
    with_code: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.CheckConstraint("kind IN ('card', 'poster')", name="kind"),)


class BoardShare(SQLModel, table=True):
    """How a published board is shared: who was nudged to share it and when, whether anyone
    opened its share screen, and its URL Link for outside WeChat (until it expires; after a
    failure, not asked again before `url_link_retry_at`)."""

    __tablename__ = "board_share"

    publication_id: int = Field(foreign_key="publication.id", primary_key=True)
    nudged_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    opened_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    opened_by: int | None = Field(default=None, foreign_key="member.id")
    url_link: str | None = Field(default=None, sa_type=sa.String(200))
    url_link_expires_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    url_link_retry_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class BranchSharer(SQLModel, table=True):
    """A member the branch names, besides its secretaries, to be nudged to share its board."""

    __tablename__ = "branch_sharer"

    branch_id: int = Field(foreign_key="org_unit.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    named_by: int = Field(foreign_key="member.id")
    named_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
