"""Each push's nonce is kept while its timestamp is inside the five-minute window, so that a
captured push replayed to any API process is refused

Revision ID: 69b42596e03b
Revises: 259dd06b9018
Create Date: 2026-12-06 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "69b42596e03b"
down_revision: str | Sequence[str] | None = "259dd06b9018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_nonce",
        sa.Column("app", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app", "nonce", name=op.f("pk_callback_nonce")),
    )
    op.create_index("ix_callback_nonce_expires_at", "callback_nonce", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_callback_nonce_expires_at", table_name="callback_nonce")
    op.drop_table("callback_nonce")
