"""Console sign-in: one-time tickets a member confirms from the mini-program (扫码登录)

Each login now says where it was made (the mini-program or the PC console, with the console's
browser), and a member may end any of their logins from their list (`ended`).

Revision ID: 9c87d51ea47a
Revises: 38fb2bf8b540
Create Date: 2026-12-06 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "9c87d51ea47a"
down_revision: str | Sequence[str] | None = "38fb2bf8b540"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REASONS = "'logout', 'logout_everywhere', 'reuse'"


def upgrade() -> None:
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="miniprogram")
        )
        batch_op.add_column(sa.Column("client", sa.String(length=200), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_login_session_kind"), "kind IN ('miniprogram', 'console')"
        )
        batch_op.drop_constraint(batch_op.f("ck_login_session_revoked_reason"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_login_session_revoked_reason"),
            f"revoked_reason IN ({_REASONS}, 'ended')",
        )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.alter_column("kind", existing_type=sa.String(length=16), server_default=None)

    op.create_table(
        "console_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeemed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_console_ticket_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_session.id"],
            name=op.f("fk_console_ticket_session_id_login_session"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_ticket")),
        sa.UniqueConstraint("ref", name=op.f("uq_console_ticket_ref")),
    )


def downgrade() -> None:
    op.drop_table("console_ticket")
    # Logins ended from the list read as logged out, the reason the older schema knows.
    op.execute("UPDATE login_session SET revoked_reason = 'logout' WHERE revoked_reason = 'ended'")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_login_session_revoked_reason"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_login_session_revoked_reason"), f"revoked_reason IN ({_REASONS})"
        )
        batch_op.drop_constraint(batch_op.f("ck_login_session_kind"), type_="check")
        batch_op.drop_column("client")
        batch_op.drop_column("kind")
