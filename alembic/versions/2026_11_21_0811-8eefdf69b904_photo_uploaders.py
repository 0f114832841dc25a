"""Photo uploaders: every member who uploaded a picture (stored once) may use it as evidence

Revision ID: 8eefdf69b904
Revises: f117974ce77b
Create Date: 2026-11-21 08:11:49.764485+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "8eefdf69b904"
down_revision: str | Sequence[str] | None = "f117974ce77b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "photo_upload",
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_photo_upload_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_photo_upload_photo_id_photo")
        ),
        sa.PrimaryKeyConstraint("photo_id", "member_id", name=op.f("pk_photo_upload")),
    )
    with op.batch_alter_table("photo_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_photo_upload_member_id"), ["member_id"], unique=False)
    # Until now a photo had one uploader.
    op.execute(
        "INSERT INTO photo_upload (photo_id, member_id, created_at) "
        "SELECT id, uploaded_by, created_at FROM photo"
    )


def downgrade() -> None:
    with op.batch_alter_table("photo_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_photo_upload_member_id"))

    op.drop_table("photo_upload")
