"""WeChat delivery: templates per notice kind, the outbox, subscription quota, callbacks."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow


class Channel(StrEnum):
    subscribe = "subscribe"  # 小程序订阅消息
    service = "service"  # 服务号模板消息
    inbox = "inbox"  # 站内信 only


class DeliveryStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by a worker until `locked_until`
    sent = "sent"
    inbox_only = "inbox_only"  # no WeChat channel could take it; the reason is recorded
    dead = "dead"  # gave up after the retries; an admin can retry it


class NoticeTemplate(SQLModel, table=True):
    """Which WeChat template carries a notice kind on a channel, and how our fields fill it."""

    __tablename__ = "notice_template"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=sa.String(32))
    channel: str = Field(sa_type=sa.String(16))
    template_id: str = Field(sa_type=sa.String(128))
    page: str = Field(sa_type=sa.String(256))
    # {"thing1": "item_name", "number2": "points", …}: template key → field of the notice data
    fields: dict[str, str] = Field(sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.UniqueConstraint("kind", "channel"),)


class Delivery(SQLModel, table=True):
    """One notice on its way to WeChat: inserted with its notice by the database (the trigger
    `notice_queues_delivery`), sent by the worker."""

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(default=DeliveryStatus.pending, sa_type=sa.String(16))
    channel: str | None = Field(default=None, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    msgid: str | None = Field(default=None, sa_type=sa.String(64))
    errcode: int | None = None
    reason: str | None = Field(default=None, sa_type=sa.Text)
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'inbox_only', 'dead')", name="status"
        ),
    )


class SubscriptionQuota(SQLModel, table=True):
    """一次性订阅: each accept grants one send of that template; the backend counts."""

    __tablename__ = "subscription_quota"

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    template_id: str = Field(sa_type=sa.String(128), primary_key=True)
    remaining: int = 0
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (sa.CheckConstraint("remaining >= 0", name="remaining"),)


class ServiceFollower(SQLModel, table=True):
    """A service-account (服务号) follower, matched to members through the unionid."""

    __tablename__ = "service_follower"

    openid: str = Field(sa_type=sa.String(64), primary_key=True)
    unionid: str | None = Field(default=None, sa_type=sa.String(64), index=True)
    following: bool = True
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CallbackEvent(SQLModel, table=True):
    """A push from WeChat, kept once: WeChat retries a push it thinks we missed."""

    __tablename__ = "callback_event"

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(sa_type=sa.String(200), unique=True)
    event: str = Field(sa_type=sa.String(64))
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CallbackNonce(SQLModel, table=True):
    """A push's nonce, kept while its timestamp is inside the window: a captured push replayed
    by anyone is refused, in every API process."""

    __tablename__ = "callback_nonce"

    app: str = Field(sa_type=sa.String(16), primary_key=True)
    nonce: str = Field(sa_type=sa.String(64), primary_key=True)
    expires_at: datetime = Field(sa_column=utc_column())

    __table_args__ = (sa.Index("ix_callback_nonce_expires_at", "expires_at"),)


class StoredToken(SQLModel, table=True):
    """The access token shared by every process, with its expiry."""

    __tablename__ = "stored_token"

    name: str = Field(sa_type=sa.String(64), primary_key=True)
    token: str = Field(sa_type=sa.Text)  # sealed (`api/secrets.py`)
    expires_at: datetime = Field(sa_column=utc_column())


class JobRun(SQLModel, table=True):
    """A scheduled job that ran for one key (e.g. a scheme's month): the key makes it once."""

    __tablename__ = "job_run"

    job: str = Field(sa_type=sa.String(32), primary_key=True)
    key: str = Field(sa_type=sa.String(64), primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
