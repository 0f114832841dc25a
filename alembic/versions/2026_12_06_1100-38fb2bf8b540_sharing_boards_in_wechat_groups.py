"""Sharing a published board in WeChat groups: scene codes with their 小程序码, the images drawn
from a board, who was nudged to share it and whether anyone opened its share screen

A 小程序码's scene holds at most 32 characters: a short random code stands for what it opens.
WeChat is asked once per code and board images are drawn once per board (a board never
changes), so both are kept.

Revision ID: 38fb2bf8b540
Revises: 7a53793f7e52
Create Date: 2026-12-06 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "38fb2bf8b540"
down_revision: str | Sequence[str] | None = "7a53793f7e52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_code",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=True),
        sa.Column("image_env", sa.String(length=16), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('board', 'member_card')", name=op.f("ck_scene_code_kind")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_scene_code")),
        sa.UniqueConstraint("kind", "target_id", name=op.f("uq_scene_code_kind_target_id")),
    )
    op.create_table(
        "branch_sharer",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("named_by", sa.Integer(), nullable=False),
        sa.Column("named_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_branch_sharer_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_branch_sharer_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["named_by"], ["member.id"], name=op.f("fk_branch_sharer_named_by_member")
        ),
        sa.PrimaryKeyConstraint("branch_id", "member_id", name=op.f("pk_branch_sharer")),
    )
    op.create_table(
        "board_image",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("with_code", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('card', 'poster')", name=op.f("ck_board_image_kind")),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publication.id"],
            name=op.f("fk_board_image_publication_id_publication"),
        ),
        sa.PrimaryKeyConstraint("publication_id", "kind", name=op.f("pk_board_image")),
    )
    op.create_table(
        "board_share",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.Integer(), nullable=True),
        sa.Column("url_link", sa.String(length=200), nullable=True),
        sa.Column("url_link_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("url_link_retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["member.id"], name=op.f("fk_board_share_opened_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publication.id"],
            name=op.f("fk_board_share_publication_id_publication"),
        ),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_board_share")),
    )


def downgrade() -> None:
    op.drop_table("board_share")
    op.drop_table("board_image")
    op.drop_table("branch_sharer")
    op.drop_table("scene_code")
