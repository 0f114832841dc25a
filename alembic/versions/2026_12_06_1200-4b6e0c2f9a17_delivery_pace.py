"""The delivery pace: the next free WeChat send slot, shared by every worker process

Revision ID: 4b6e0c2f9a17
Revises: 138983118fc7
Create Date: 2026-12-06 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "4b6e0c2f9a17"
down_revision: str | Sequence[str] | None = "138983118fc7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_pace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_delivery_pace_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_pace")),
    )


def downgrade() -> None:
    op.drop_table("delivery_pace")
