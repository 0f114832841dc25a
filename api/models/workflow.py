"""The weekly workflow: evidence photos, claims and their review trail, notices, appeals."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow
from api.models.scoring import POINTS


class ClaimStatus(StrEnum):
    pending = "pending"  # waiting for the reviewer of `step`
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class NoticeKind(StrEnum):
    deduction_card = "deduction_card"  # 记分告知卡
    threshold = "threshold"  # 累计记分达到阈值
    claim_result = "claim_result"
    appeal_filed = "appeal_filed"
    appeal_result = "appeal_result"
    evaluation_reminder = "evaluation_reminder"
    monthly_score = "monthly_score"  # 月度积分与排名
    period_result = "period_result"
    period_reminder = "period_reminder"  # 考核期已结束，请结算
    quarterly_summary = "quarterly_summary"  # 汇总公示卡, to the level above
    robot_failed = "robot_failed"  # 群机器人推送失败 (e.g. the webhook key is invalid)
    publication_withdrawn = "publication_withdrawn"  # 公示撤回 (the period was reopened)
    share_board = "share_board"  # 本月公示已生成，分享到支部微信群: to who shares it
    # 组织生活: to the expected attendees of a meeting, and about their leave requests.
    meeting_scheduled = "meeting_scheduled"  # 会议通知
    meeting_changed = "meeting_changed"  # 会议变更
    meeting_cancelled = "meeting_cancelled"  # 会议取消
    meeting_reminder = "meeting_reminder"  # 会前提醒
    leave_requested = "leave_requested"  # 请假申请, to who decides it
    leave_result = "leave_result"  # 请假审批结果
    follow_up = "follow_up"  # 结算决定的处理 (谈话、通报、免职…) concerning the recipient
    follow_up_withdrawn = "follow_up_withdrawn"  # 重新结算后不再适用，已撤回


class AppealStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # 维持
    revoked = "revoked"  # 撤销记分


class Photo(SQLModel, table=True):
    """An evidence photo, stored once by the hash of its cleaned bytes."""

    __tablename__ = "photo"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(sa_type=sa.String(64), unique=True)
    storage_key: str = Field(sa_type=sa.String(200))
    content_type: str = Field(sa_type=sa.String(32))
    size: int
    width: int
    height: int
    uploaded_by: int = Field(foreign_key="member.id")
    # The perceptual hash (pHash, 64 bits as a signed integer): near copies of a picture (saved
    # again, recompressed, a pixel changed) have hashes a few bits apart. None: stored before
    # hashes were computed.
    phash: int | None = Field(default=None, sa_type=sa.BigInteger)
    # The first stored photo this one nearly copies (its group, see `api.services.photos`);
    # None: the photo is the first of its group.
    original_id: int | None = Field(default=None, foreign_key="photo.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class PhotoBand(SQLModel, table=True):
    """One 16-bit quarter of a photo's perceptual hash: two hashes at most three bits apart
    share at least one quarter, so near copies are found by equality on this index."""

    __tablename__ = "photo_band"

    band: int = Field(primary_key=True)
    value: int = Field(primary_key=True)
    photo_id: int = Field(foreign_key="photo.id", primary_key=True)


class EvidenceKind(StrEnum):
    claim = "claim"
    wish = "wish"  # a micro-wish's completion
    appeal = "appeal"
    deduction = "deduction"


class EvidenceUse(SQLModel, table=True):
    """A photo used as evidence somewhere, under its near-copy group (`original_id`): the uses
    sharing a group are the same picture used again (重复证据)."""

    __tablename__ = "evidence_use"

    id: int | None = Field(default=None, primary_key=True)
    photo_id: int = Field(foreign_key="photo.id")
    original_id: int = Field(foreign_key="photo.id", index=True)
    kind: str = Field(sa_type=sa.String(16))
    ref_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("kind", "ref_id", "photo_id"),
        sa.CheckConstraint("kind IN ('claim', 'wish', 'appeal', 'deduction')", name="kind"),
    )


class PhotoUpload(SQLModel, table=True):
    """Who uploaded a picture: one photo row may have several uploaders (same bytes)."""

    __tablename__ = "photo_upload"

    photo_id: int = Field(foreign_key="photo.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Claim(SQLModel, table=True):
    """党员自主申报: what a member says they did, on its way through the review steps."""

    __tablename__ = "claim"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    scheme_id: int = Field(foreign_key="scheme.id")
    item_code: str = Field(sa_type=sa.String(64))
    points: Decimal = Field(sa_type=POINTS)
    occurred_on: date
    description: str = Field(sa_type=sa.Text)
    idempotency_key: str = Field(sa_type=sa.String(64))
    status: str = Field(default=ClaimStatus.pending, sa_type=sa.String(16))
    # The review steps this claim needs (decided at submission) and where it stands.
    steps: list[str] = Field(sa_type=sa.JSON)
    step: int = 0
    entry_id: int | None = Field(default=None, foreign_key="score_entry.id")
    # Who made the last transition (the submitter, then each reviewer) and why. The database's
    # triggers write the creation and every change of status or step into `claim_event` with
    # these: no path changes a claim without a record.
    last_actor_id: int = Field(foreign_key="member.id")
    last_reason: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("member_id", "idempotency_key"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name="status"
        ),
        # The pending claims of a member (the review inbox, the cap on pending claims per item).
        sa.Index(
            "ix_claim_pending_member_item",
            "member_id",
            "item_code",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )


class ClaimPhoto(SQLModel, table=True):
    __tablename__ = "claim_photo"

    claim_id: int = Field(foreign_key="claim.id", primary_key=True)
    photo_id: int = Field(foreign_key="photo.id", primary_key=True, index=True)
    position: int


class ClaimEvent(SQLModel, table=True):
    """Every transition of a claim: who, when, from → to, why. Written by the database's
    triggers on `claim` (from its `last_actor_id` and `last_reason`), never by the service."""

    __tablename__ = "claim_event"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    actor_id: int = Field(foreign_key="member.id")
    from_status: str = Field(sa_type=sa.String(32))
    to_status: str = Field(sa_type=sa.String(32))
    reason: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class Notice(SQLModel, table=True):
    """A message to one member, written in the same transaction as its cause.

    The in-app inbox reads these rows; delivery through WeChat is added on top of them.
    """

    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(sa_type=sa.String(32))
    title: str = Field(sa_type=sa.String(100))
    data: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    read_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class FollowUpStatus(StrEnum):
    open = "open"
    done = "done"
    withdrawn = "withdrawn"  # 撤回: a later close of its period no longer decides it


class CommitteeAction(SQLModel, table=True):
    """A follow-up the committee must carry out (提醒, 谈话, 通报, 免职, 转入教育支部…).

    What a threshold decides at a deduction, or a period's close decides (thresholds, streaks,
    items), for one member or branch: one row per subject, period and action, whatever the
    retries, re-closes or reopenings. `unit_id` is the committee that owns it: the member's
    branch, or the unit above the branch.
    """

    __tablename__ = "committee_action"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    branch_id: int | None = Field(default=None, foreign_key="org_unit.id", index=True)
    unit_id: int = Field(foreign_key="org_unit.id", index=True)
    scheme_id: int = Field(foreign_key="scheme.id")
    period_id: int = Field(foreign_key="period.id")
    cycle: int
    action_code: str = Field(sa_type=sa.String(64))
    label: str = Field(sa_type=sa.String(200))
    source: str = Field(sa_type=sa.String(16))  # api.scoring.results.ActionSource
    status: str = Field(default=FollowUpStatus.open, sa_type=sa.String(16))
    entry_id: int | None = Field(default=None, foreign_key="score_entry.id")
    done_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    withdrawn_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("(member_id IS NULL) <> (branch_id IS NULL)", name="subject"),
        sa.CheckConstraint("status IN ('open', 'done', 'withdrawn')", name="status"),
        sa.Index(
            "uq_committee_action_member",
            "member_id",
            "period_id",
            "action_code",
            unique=True,
            sqlite_where=sa.text("member_id IS NOT NULL"),
            postgresql_where=sa.text("member_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_committee_action_branch",
            "branch_id",
            "period_id",
            "action_code",
            unique=True,
            sqlite_where=sa.text("branch_id IS NOT NULL"),
            postgresql_where=sa.text("branch_id IS NOT NULL"),
        ),
    )


class Appeal(SQLModel, table=True):
    """申诉 against one ledger entry; at most one open appeal per entry."""

    __tablename__ = "appeal"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="score_entry.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    reason: str = Field(sa_type=sa.Text)
    evidence: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    status: str = Field(default=AppealStatus.open, sa_type=sa.String(16))
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decision_reason: str | None = Field(default=None, sa_type=sa.Text)
    decided_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    reversal_id: int | None = Field(default=None, foreign_key="score_entry.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'upheld', 'revoked')", name="status"),
        sa.Index(
            "uq_appeal_open_entry",
            "entry_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
    )


class WishStatus(StrEnum):
    open = "open"  # published, waiting for a member
    claimed = "claimed"
    completed = "completed"  # the member reported it done
    confirmed = "confirmed"  # the branch confirmed it
    cancelled = "cancelled"


class MicroWish(SQLModel, table=True):
    """微心愿: a resident's small wish, published by a branch for a member to fulfil.

    `contact` is the resident's phone or address: shown only to the branch, and to the member
    who took the wish on once an officer of the branch has approved them as its taker.
    """

    __tablename__ = "micro_wish"

    id: int | None = Field(default=None, primary_key=True)
    branch_id: int = Field(foreign_key="org_unit.id", index=True)
    title: str = Field(sa_type=sa.String(100))
    description: str = Field(sa_type=sa.Text)
    location: str = Field(sa_type=sa.String(200))
    contact: str = Field(sa_type=sa.String(100))
    item_code: str | None = Field(default=None, sa_type=sa.String(64))
    status: str = Field(default=WishStatus.open, sa_type=sa.String(16))
    claimed_by: int | None = Field(default=None, foreign_key="member.id", index=True)
    claimed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    taker_approved_by: int | None = Field(default=None, foreign_key="member.id")
    taker_approved_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    completion_note: str | None = Field(default=None, sa_type=sa.Text)
    evidence: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    completed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    confirmed_by: int | None = Field(default=None, foreign_key="member.id")
    confirmed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    entry_id: int | None = Field(default=None, foreign_key="score_entry.id")
    created_by: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'completed', 'confirmed', 'cancelled')", name="status"
        ),
    )


class WishYearEnd(SQLModel, table=True):
    """The year-end settlement of required micro-wishes, done once per branch and year."""

    __tablename__ = "wish_year_end"

    branch_id: int = Field(foreign_key="org_unit.id", primary_key=True)
    year: int = Field(primary_key=True)
    required: int
    item_code: str = Field(sa_type=sa.String(64))
    settled_by: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())


class CommitmentStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class Commitment(SQLModel, table=True):
    """亮承诺: a public commitment for a period, approved by the branch, reported and rated."""

    __tablename__ = "commitment"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    branch_id: int = Field(foreign_key="org_unit.id", index=True)
    period_key: str = Field(sa_type=sa.String(16))
    text: str = Field(sa_type=sa.Text)
    status: str = Field(default=CommitmentStatus.pending, sa_type=sa.String(16))
    decided_by: int | None = Field(default=None, foreign_key="member.id")
    decision_reason: str | None = Field(default=None, sa_type=sa.Text)
    report: str | None = Field(default=None, sa_type=sa.Text)
    reported_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    rating: Decimal | None = Field(default=None, sa_type=POINTS)
    rating_comment: str | None = Field(default=None, sa_type=sa.Text)
    rated_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )
