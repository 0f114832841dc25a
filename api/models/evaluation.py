"""评议 rounds: self, mutual, committee and final evaluations, and their results per member."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import utc_column, utcnow
from api.models.scoring import POINTS


class RoundStatus(StrEnum):
    open = "open"
    collecting = "collecting"  # 自评、互评
    committee = "committee"  # 商评 / 支委评
    final = "final"  # 总评
    closed = "closed"


class EvaluationRound(SQLModel, table=True):
    __tablename__ = "evaluation_round"

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scheme.id")
    branch_id: int = Field(foreign_key="org_unit.id", index=True)
    period_key: str = Field(sa_type=sa.String(16))
    status: str = Field(default=RoundStatus.open, sa_type=sa.String(16))
    kinds: list[str] = Field(sa_type=sa.JSON)
    deadline: datetime = Field(sa_column=utc_column())
    reminded_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))
    created_by: int = Field(foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("branch_id", "scheme_id", "period_key"),
        sa.CheckConstraint(
            "status IN ('open', 'collecting', 'committee', 'final', 'closed')", name="status"
        ),
    )


class EvaluationScore(SQLModel, table=True):
    """One rating: `rater` scored `subject` in one kind. Raw mutual ratings are confidential."""

    __tablename__ = "evaluation_score"

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="evaluation_round.id", index=True)
    kind: str = Field(sa_type=sa.String(16))
    rater_id: int = Field(foreign_key="member.id")
    subject_id: int = Field(foreign_key="member.id")
    score: Decimal = Field(sa_type=POINTS)
    text: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_column=utc_column())

    __table_args__ = (
        sa.UniqueConstraint("round_id", "kind", "rater_id", "subject_id"),
        sa.CheckConstraint("kind IN ('self', 'mutual', 'committee', 'final')", name="kind"),
    )


class EvaluationResultRecord(SQLModel, table=True):
    """A member's aggregated score of one kind in a closed round: what the engine weighs."""

    __tablename__ = "evaluation_result"

    round_id: int = Field(foreign_key="evaluation_round.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    kind: str = Field(sa_type=sa.String(16), primary_key=True)
    score: Decimal = Field(sa_type=POINTS)
    ratings: int
