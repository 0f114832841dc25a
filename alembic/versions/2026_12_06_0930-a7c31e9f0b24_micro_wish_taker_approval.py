"""A micro-wish's taker is approved by an officer of the branch before the resident's contact
is shown to them

Wishes taken before this revision count as approved when they were taken (no approver): their
takers have seen the contact already.

Revision ID: a7c31e9f0b24
Revises: 5d2e8a41c7f3
Create Date: 2026-12-06 09:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "a7c31e9f0b24"
down_revision: str | Sequence[str] | None = "5d2e8a41c7f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("micro_wish", schema=None) as batch_op:
        batch_op.add_column(sa.Column("taker_approved_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("taker_approved_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_micro_wish_taker_approved_by_member"),
            "member",
            ["taker_approved_by"],
            ["id"],
        )
    op.execute("UPDATE micro_wish SET taker_approved_at = claimed_at WHERE claimed_by IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("micro_wish", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_micro_wish_taker_approved_by_member"), type_="foreignkey"
        )
        batch_op.drop_column("taker_approved_at")
        batch_op.drop_column("taker_approved_by")
