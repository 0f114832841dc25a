"""evaluation rounds

Revision ID: 449a57915a2f
Revises: fe0d00e32f3f
Create Date: 2026-11-21 06:14:21.968267+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "449a57915a2f"
down_revision: str | Sequence[str] | None = "fe0d00e32f3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'collecting', 'committee', 'final', 'closed')",
            name=op.f("ck_evaluation_round_status"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_evaluation_round_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["member.id"], name=op.f("fk_evaluation_round_created_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_evaluation_round_scheme_id_scheme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_round")),
        sa.UniqueConstraint(
            "branch_id",
            "scheme_id",
            "period_key",
            name=op.f("uq_evaluation_round_branch_id_scheme_id_period_key"),
        ),
    )
    op.create_index(
        op.f("ix_evaluation_round_branch_id"), "evaluation_round", ["branch_id"], unique=False
    )

    op.create_table(
        "evaluation_result",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("ratings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_evaluation_result_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["evaluation_round.id"],
            name=op.f("fk_evaluation_result_round_id_evaluation_round"),
        ),
        sa.PrimaryKeyConstraint("round_id", "member_id", "kind", name=op.f("pk_evaluation_result")),
    )
    op.create_table(
        "evaluation_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rater_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('self', 'mutual', 'committee', 'final')",
            name=op.f("ck_evaluation_score_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["rater_id"], ["member.id"], name=op.f("fk_evaluation_score_rater_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["evaluation_round.id"],
            name=op.f("fk_evaluation_score_round_id_evaluation_round"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["member.id"], name=op.f("fk_evaluation_score_subject_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_score")),
        sa.UniqueConstraint(
            "round_id",
            "kind",
            "rater_id",
            "subject_id",
            name=op.f("uq_evaluation_score_round_id_kind_rater_id_subject_id"),
        ),
    )
    op.create_index(
        op.f("ix_evaluation_score_round_id"), "evaluation_score", ["round_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("evaluation_score")
    op.drop_table("evaluation_result")
    op.drop_table("evaluation_round")
