"""Index period results by branch: explaining a branch's result reads its earlier results

Revision ID: 49c8176cfaec
Revises: 8eefdf69b904
Create Date: 2026-11-21 08:37:50.760972+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "49c8176cfaec"
down_revision: str | Sequence[str] | None = "8eefdf69b904"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("period_result", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_period_result_branch_id"), ["branch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("period_result", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_period_result_branch_id"))
