"""Live placements: members' ranks in the running period, computed by the worker each minute

Revision ID: 9d7db39e5e38
Revises: 49c8176cfaec
Create Date: 2026-11-21 08:52:10.225304+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "9d7db39e5e38"
down_revision: str | Sequence[str] | None = "49c8176cfaec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_placement",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("period_key", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("placement", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_live_placement_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_live_placement_scheme_id_scheme")
        ),
        sa.PrimaryKeyConstraint(
            "scheme_id", "period_key", "member_id", name=op.f("pk_live_placement")
        ),
    )


def downgrade() -> None:
    op.drop_table("live_placement")
