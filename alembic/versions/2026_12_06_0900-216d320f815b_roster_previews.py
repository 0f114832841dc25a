"""Roster previews: an import is a dry run stored here, then the commit of that preview

Revision ID: 216d320f815b
Revises: c07a3b8194c6
Create Date: 2026-12-06 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "216d320f815b"
down_revision: str | Sequence[str] | None = "c07a3b8194c6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roster_preview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["member.id"], name=op.f("fk_roster_preview_created_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_roster_preview_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_preview")),
    )
    with op.batch_alter_table("roster_preview", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_roster_preview_created_by"), ["created_by"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("roster_preview", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_preview_created_by"))
    op.drop_table("roster_preview")
