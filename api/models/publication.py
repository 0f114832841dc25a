"""Publication: frozen 公示 boards, branch group robots (WeCom) and their post outbox."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class Publication(SQLModel, table=True):
    """The board of one unit for one published close of a period; never changed afterwards."""

    __tablename__ = "publication"

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="period.id")
    close_no: int
    unit_id: int = Field(foreign_key="org_unit.id")
    unit_path: str = Field(sa_type=sa.String(400))
    # `api.publication.board.Board` as JSON: names and numbers as of publication.
    board: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("period_id", "close_no", "unit_id"),
        sa.Index("ix_publication_unit_id", "unit_id"),
    )


class PublicationWithdrawal(SQLModel, table=True):
    """A published close taken back by a reopen: its boards stay readable, marked withdrawn."""

    __tablename__ = "publication_withdrawal"

    period_id: int = Field(foreign_key="period.id", primary_key=True)
    close_no: int = Field(primary_key=True)
    reason: str = Field(sa_type=sa.Text)
    withdrawn_by: int = Field(foreign_key="member.id")
    withdrawn_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class RobotStatus(StrEnum):
    active = "active"
    invalid_key = "invalid_key"  # WeCom answered 93000: the secretary must set a new key


class BranchRobot(SQLModel, table=True):
    """A branch's WeCom group robot. The webhook key is stored encrypted and never returned."""

    __tablename__ = "branch_robot"

    branch_id: int = Field(foreign_key="org_unit.id", primary_key=True)
    key_cipher: str = Field(sa_type=sa.Text)
    key_hint: str = Field(sa_type=sa.String(8))  # the key's last four characters
    status: str = Field(default=RobotStatus.active, sa_type=sa.String(16))
    top_n: int = 10
    failure: str | None = Field(default=None, sa_type=sa.Text)
    updated_by: int | None = Field(default=None, foreign_key="member.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'invalid_key')", name="status"),
        sa.CheckConstraint("top_n BETWEEN 1 AND 50", name="top_n"),
    )


class PostKind(StrEnum):
    markdown = "markdown"
    image = "image"


class PostStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"  # not retried: the robot's key is invalid (93000) or the post is refused
    dead = "dead"  # retries exhausted
    uncertain = "uncertain"  # its worker died during the post: WeCom may have shown it


class RobotPost(SQLModel, table=True):
    """One message to a branch's group robot: written with its cause, sent by the worker."""

    __tablename__ = "robot_post"

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="org_unit.id")
    publication_id: int = Field(foreign_key="publication.id")
    kind: str = Field(sa_type=sa.String(16))
    # Why it was posted, once per cause: "publish", "monthly:2026-11", "manual:<key>".
    trigger: str = Field(sa_type=sa.String(80))
    status: str = Field(default=PostStatus.pending, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    # The claim holding it (compare-and-set on every write) and, while a post is on its way
    # to WeCom, since when: a post found with one after its worker died is not posted again.
    claim_token: str | None = Field(default=None, sa_type=sa.String(32))
    sending_since: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    md5: str | None = Field(default=None, sa_type=sa.String(32))
    errcode: int | None = None
    reason: str | None = Field(default=None, sa_type=sa.Text)
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("branch_id", "publication_id", "kind", "trigger"),
        sa.Index("ix_robot_post_due", "status", "next_attempt_at"),
        sa.Index("ix_robot_post_branch_sent", "branch_id", "sent_at"),
        sa.CheckConstraint("kind IN ('markdown', 'image')", name="kind"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'uncertain')",
            name="status",
        ),
    )
