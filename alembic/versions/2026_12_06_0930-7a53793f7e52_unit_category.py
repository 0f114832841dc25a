"""Units carry the category their scheme scores them by (成庄矿: the secretary's pay band)

Revision ID: 7a53793f7e52
Revises: 216d320f815b
Create Date: 2026-12-06 09:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "7a53793f7e52"
down_revision: str | Sequence[str] | None = "216d320f815b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.drop_column("category")
