"""Rate counters: login, binding and upload attempts per client, shared by every API process

Revision ID: c07a3b8194c6
Revises: 5450ad1244a6
Create Date: 2026-12-06 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c07a3b8194c6"
down_revision: str | Sequence[str] | None = "5450ad1244a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("resets_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counter")),
    )
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.create_index("ix_rate_counter_resets_at", ["resets_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rate_counter", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counter_resets_at")

    op.drop_table("rate_counter")
