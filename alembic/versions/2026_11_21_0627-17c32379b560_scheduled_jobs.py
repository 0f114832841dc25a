"""scheduled jobs

Revision ID: 17c32379b560
Revises: 043d86efef61
Create Date: 2026-11-21 06:27:48.145133+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "17c32379b560"
down_revision: str | Sequence[str] | None = "043d86efef61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "key", name=op.f("pk_job_run")),
    )


def downgrade() -> None:
    op.drop_table("job_run")
