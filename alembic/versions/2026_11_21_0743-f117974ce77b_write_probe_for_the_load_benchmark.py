"""Write probe: the load benchmark's baseline endpoint inserts here

Revision ID: f117974ce77b
Revises: 4f3e0b8b641a
Create Date: 2026-11-21 07:43:24.712354+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "f117974ce77b"
down_revision: str | Sequence[str] | None = "4f3e0b8b641a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "probe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_probe_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe")),
    )


def downgrade() -> None:
    op.drop_table("probe")
