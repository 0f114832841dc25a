"""micro-wishes and commitments

Revision ID: fe0d00e32f3f
Revises: 2dc2f70d92a7
Create Date: 2026-11-21 06:07:22.098285+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "fe0d00e32f3f"
down_revision: str | Sequence[str] | None = "2dc2f70d92a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("rated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')", name=op.f("ck_commitment_status")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_commitment_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["member.id"], name=op.f("fk_commitment_decided_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_commitment_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["rated_by"], ["member.id"], name=op.f("fk_commitment_rated_by_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment")),
    )
    op.create_index(op.f("ix_commitment_branch_id"), "commitment", ["branch_id"], unique=False)
    op.create_index(op.f("ix_commitment_member_id"), "commitment", ["member_id"], unique=False)

    op.create_table(
        "wish_year_end",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("settled_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_wish_year_end_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["settled_by"], ["member.id"], name=op.f("fk_wish_year_end_settled_by_member")
        ),
        sa.PrimaryKeyConstraint("branch_id", "year", name=op.f("pk_wish_year_end")),
    )
    op.create_table(
        "micro_wish",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'completed', 'confirmed', 'cancelled')",
            name=op.f("ck_micro_wish_status"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_micro_wish_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["member.id"], name=op.f("fk_micro_wish_claimed_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["member.id"], name=op.f("fk_micro_wish_confirmed_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["member.id"], name=op.f("fk_micro_wish_created_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["score_entry.id"], name=op.f("fk_micro_wish_entry_id_score_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_micro_wish")),
    )
    op.create_index(op.f("ix_micro_wish_branch_id"), "micro_wish", ["branch_id"], unique=False)
    op.create_index(op.f("ix_micro_wish_claimed_by"), "micro_wish", ["claimed_by"], unique=False)


def downgrade() -> None:
    op.drop_table("micro_wish")
    op.drop_table("wish_year_end")
    op.drop_table("commitment")
