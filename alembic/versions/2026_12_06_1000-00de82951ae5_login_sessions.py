"""Logins: every refresh token belongs to the login it descends from (its family)

A reused token revokes its whole family, a logout revokes it, and a family ends a fixed time
after its login. Refresh tokens issued before have no family to join: they are deleted, and each
phone signs in again silently (wx.login) on its next refresh.

Revision ID: 00de82951ae5
Revises: 532e6c46fdc2
Create Date: 2026-12-06 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "00de82951ae5"
down_revision: str | Sequence[str] | None = "532e6c46fdc2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=24), nullable=True),
        sa.CheckConstraint(
            "revoked_reason IN ('logout', 'logout_everywhere', 'reuse')",
            name=op.f("ck_login_session_revoked_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_login_session_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
    )
    op.create_index(
        op.f("ix_login_session_member_id"), "login_session", ["member_id"], unique=False
    )
    op.execute("DELETE FROM refresh_token")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=False))
        batch_op.create_index(batch_op.f("ix_refresh_token_session_id"), ["session_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_refresh_token_session_id_login_session"),
            "login_session",
            ["session_id"],
            ["id"],
        )


def downgrade() -> None:
    # Without their families, revoked tokens would be good again.
    op.execute("DELETE FROM refresh_token")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_refresh_token_session_id_login_session"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_refresh_token_session_id"))
        batch_op.drop_column("session_id")
    op.drop_index(op.f("ix_login_session_member_id"), table_name="login_session")
    op.drop_table("login_session")
