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
    # A call on a channel without idempotency whose outcome nobody recorded (the worker died
    # during it): WeChat may have shown it, so it is not sent again; the inbox has it.
    uncertain = "uncertain"


class AttemptResult(StrEnum):
    """What became of one channel in a delivery's history."""

    started = "started"  # the call is made; its outcome replaces this when it returns
    sent = "sent"
    failed = "failed"  # refused or unreachable: the next channel, or a retry later
    skipped = "skipped"  # not usable for this member (no quota, no template, not following)
    unknown = "unknown"  # a call whose worker died before it could record the outcome
    error = "error"  # a fault in our own code: retried with backoff


class NoticeTemplate(SQLModel, table=True):
    """Which WeChat template carries a notice kind on a channel, and how our fields fill it.

    A unit owns it (only that unit's admins change it) and it applies to the unit's subtree,
    except where a unit below owns one of its own: a member gets the template of the nearest
    owning unit above them. Without an owner (`unit_id` NULL) it is a default kept from before
    templates had owners: it applies where no unit above the member owns one, and no admin
    changes it (a unit's admins replace it for their subtree by setting their own).
    """

    __tablename__ = "notice_template"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="org_unit.id")
    kind: str = Field(sa_type=sa.String(32))
    channel: str = Field(sa_type=sa.String(16))
    template_id: str = Field(sa_type=sa.String(128))
    page: str = Field(sa_type=sa.String(256))
    # {"thing1": "item_name", "number2": "points", …}: template key → field of the notice data
    fields: dict[str, str] = Field(sa_type=sa.JSON)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "kind", "channel"),
        # A unique constraint lets NULLs repeat: one default per kind and channel.
        sa.Index(
            "uq_notice_template_default",
            "kind",
            "channel",
            unique=True,
            sqlite_where=sa.text("unit_id IS NULL"),
            postgresql_where=sa.text("unit_id IS NULL"),
        ),
    )


class Delivery(SQLModel, table=True):
    """One notice on its way to WeChat: inserted with its notice by the database (the trigger
    `notice_queues_delivery`), sent by the worker.

    `claim_token` names the worker's claim that holds it: every write while sending is a
    compare-and-set on it, so a worker whose lease ran out cannot send or record over the one
    that took the delivery over. `history` keeps every channel tried and what became of it
    (`AttemptResult`), each call recorded before it is made.
    """

    __tablename__ = "delivery"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    status: str = Field(default=DeliveryStatus.pending, sa_type=sa.String(16))
    channel: str | None = Field(default=None, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    locked_until: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    claim_token: str | None = Field(default=None, sa_type=sa.String(32))
    msgid: str | None = Field(default=None, sa_type=sa.String(64))
    errcode: int | None = None
    reason: str | None = Field(default=None, sa_type=sa.Text)
    history: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=sa.Column(sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    sent_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.Index("ix_delivery_due", "status", "next_attempt_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'inbox_only', 'dead', 'uncertain')",
            name="status",
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


class JobFailure(SQLModel, table=True):
    """A worker job, or one unit of it (a scheme's schedules, a round's reminders), that failed:
    how often in a row, the last error, and when it is tried again. Gone once it succeeds."""

    __tablename__ = "job_failure"

    job: str = Field(sa_type=sa.String(32), primary_key=True)
    key: str = Field(sa_type=sa.String(64), primary_key=True)
    failures: int = 1
    error: str = Field(sa_type=sa.Text)
    failed_at: datetime = Field(sa_column=utc_column())
    retry_at: datetime = Field(sa_column=utc_column())


class JobRun(SQLModel, table=True):
    """A scheduled job that ran for one key (e.g. a scheme's month): the key makes it once."""

    __tablename__ = "job_run"

    job: str = Field(sa_type=sa.String(32), primary_key=True)
    key: str = Field(sa_type=sa.String(64), primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class WorkerHeartbeat(SQLModel, table=True):
    """A running worker's last loop, written every few seconds: `/readyz` reports the service
    not ready when the newest is older than `WORKER_STALE_SECONDS`. A worker that stops
    removes its row; one that died leaves it behind, stale."""

    __tablename__ = "worker_heartbeat"

    worker: str = Field(sa_type=sa.String(64), primary_key=True)
    started_at: datetime = Field(sa_column=utc_column())
    last_loop_at: datetime = Field(sa_column=utc_column())


class DeliveryPace(SQLModel, table=True):
    """The next free slot for a WeChat send, shared by every worker process on PostgreSQL:
    each takes its sends' slots from it, so that together they keep to
    `DELIVERY_RATE_PER_SECOND` (api/services/pace.py). One row, made by the first send."""

    __tablename__ = "delivery_pace"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    next_at: datetime = Field(sa_column=utc_column())
