"""organisation, members, wechat login

Revision ID: 6b8e84694207
Revises:
Create Date: 2026-11-21 05:20:34.142340+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "6b8e84694207"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('committee', 'branch', 'group')", name=op.f("ck_org_unit_kind")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org_unit.id"], name=op.f("fk_org_unit_parent_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_unit")),
        sa.UniqueConstraint("parent_id", "name", name=op.f("uq_org_unit_parent_id_name")),
    )
    op.create_index(op.f("ix_org_unit_parent_id"), "org_unit", ["parent_id"], unique=False)
    op.create_index(
        op.f("ix_org_unit_path"),
        "org_unit",
        ["path"],
        unique=False,
        postgresql_ops={"path": "varchar_pattern_ops"},
    )

    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("political_status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("exempt", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "political_status IN ('full', 'probationary', 'activist')",
            name=op.f("ck_member_political_status"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'transferred_out')", name=op.f("ck_member_status")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_member_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("phone", name=op.f("uq_member_phone")),
    )
    op.create_index(op.f("ix_member_unit_id"), "member", ["unit_id"], unique=False)

    op.create_table(
        "invite_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["member.id"], name=op.f("fk_invite_code_issued_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_invite_code_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_code")),
        sa.UniqueConstraint("code", name=op.f("uq_invite_code_code")),
    )
    op.create_index(op.f("ix_invite_code_member_id"), "invite_code", ["member_id"], unique=False)

    op.create_table(
        "refresh_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_refresh_token_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_token_token_hash")),
    )
    op.create_index(
        op.f("ix_refresh_token_member_id"), "refresh_token", ["member_id"], unique=False
    )

    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('member', 'group_leader', 'branch_committee', 'branch_secretary', "
            "'committee_admin')",
            name=op.f("ck_role_assignment_role"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_role_assignment_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_role_assignment_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_assignment")),
        sa.UniqueConstraint(
            "member_id", "unit_id", "role", name=op.f("uq_role_assignment_member_id_unit_id_role")
        ),
    )
    op.create_index(
        op.f("ix_role_assignment_member_id"), "role_assignment", ["member_id"], unique=False
    )
    op.create_index(
        op.f("ix_role_assignment_unit_id"), "role_assignment", ["unit_id"], unique=False
    )

    op.create_table(
        "wechat_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("session_key", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_wechat_account_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wechat_account")),
        sa.UniqueConstraint("member_id", name=op.f("uq_wechat_account_member_id")),
        sa.UniqueConstraint("openid", name=op.f("uq_wechat_account_openid")),
    )
    op.create_index(op.f("ix_wechat_account_unionid"), "wechat_account", ["unionid"], unique=False)


def downgrade() -> None:

    op.drop_table("wechat_account")

    op.drop_table("role_assignment")

    op.drop_table("refresh_token")

    op.drop_table("invite_code")

    op.drop_table("member")

    op.drop_table("org_unit")
