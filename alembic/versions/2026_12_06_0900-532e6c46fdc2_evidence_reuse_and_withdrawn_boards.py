"""Evidence reuse across claims, micro-wishes, appeals and deductions, near copies found by a
perceptual hash; withdrawn publications; an index on pending claims

Every use of a photo as evidence is one `evidence_use` row under the photo's near-copy group, so
the reuse of a claim's evidence is counted by index, wherever else the picture was used. A
reopen of a published period records the withdrawal of its boards, which stay readable.

Revision ID: 532e6c46fdc2
Revises: b81f4c2d9a63
Create Date: 2026-12-06 09:00:00.000000+00:00
"""

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "532e6c46fdc2"
down_revision: str | Sequence[str] | None = "b81f4c2d9a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phash", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("original_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_photo_original_id_photo"), "photo", ["original_id"], ["id"]
        )
    op.create_table(
        "photo_band",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_photo_band_photo_id_photo")
        ),
        sa.PrimaryKeyConstraint("band", "value", "photo_id", name=op.f("pk_photo_band")),
    )
    op.create_table(
        "evidence_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('claim', 'wish', 'appeal', 'deduction')", name=op.f("ck_evidence_use_kind")
        ),
        sa.ForeignKeyConstraint(
            ["original_id"], ["photo.id"], name=op.f("fk_evidence_use_original_id_photo")
        ),
        sa.ForeignKeyConstraint(
            ["photo_id"], ["photo.id"], name=op.f("fk_evidence_use_photo_id_photo")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_use")),
        sa.UniqueConstraint(
            "kind", "ref_id", "photo_id", name=op.f("uq_evidence_use_kind_ref_id_photo_id")
        ),
    )
    with op.batch_alter_table("evidence_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_use_original_id"), ["original_id"])
    op.create_table(
        "publication_withdrawal",
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("close_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("withdrawn_by", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_publication_withdrawal_period_id_period")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by"],
            ["member.id"],
            name=op.f("fk_publication_withdrawal_withdrawn_by_member"),
        ),
        sa.PrimaryKeyConstraint("period_id", "close_no", name=op.f("pk_publication_withdrawal")),
    )
    op.create_index(
        "ix_claim_pending_member_item",
        "claim",
        ["member_id", "item_code"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    _record_existing_uses()


def _record_existing_uses() -> None:
    """The uses so far: live claims' photos, completed wishes', appeals', deductions'. Photos
    stored before had no hash: each is its own group."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    bind.execute(
        sa.text(
            "INSERT INTO evidence_use (photo_id, original_id, kind, ref_id, created_at) "
            "SELECT cp.photo_id, cp.photo_id, 'claim', cp.claim_id, c.created_at "
            "FROM claim_photo cp JOIN claim c ON c.id = cp.claim_id "
            "WHERE c.status IN ('pending', 'approved')"
        )
    )
    listed = (
        ("wish", "SELECT id, evidence FROM micro_wish WHERE status IN ('completed', 'confirmed')"),
        ("appeal", "SELECT id, evidence FROM appeal"),
        ("deduction", "SELECT id, evidence FROM score_entry WHERE source = 'deduction'"),
    )
    insert = sa.text(
        "INSERT INTO evidence_use (photo_id, original_id, kind, ref_id, created_at) "
        "VALUES (:photo, :photo, :kind, :ref, :now)"
    ).bindparams(sa.bindparam("now", type_=sa.DateTime(timezone=True)))
    known = {row[0] for row in bind.execute(sa.text("SELECT id FROM photo"))}
    for kind, query in listed:
        uses = [
            {"photo": photo, "kind": kind, "ref": ref, "now": now}
            for ref, evidence in bind.execute(sa.text(query))
            for photo in dict.fromkeys(_photo_ids(evidence))
            if photo in known
        ]
        if uses:
            bind.execute(insert, uses)


def _photo_ids(evidence: Any) -> Iterator[int]:
    """Photo ids of a stored evidence list: ids, or ledger links "photo:<id>"."""
    items = json.loads(evidence) if isinstance(evidence, str) else evidence or []
    for item in items:
        if isinstance(item, int):
            yield item
        elif isinstance(item, str) and item.startswith("photo:") and item[6:].isdigit():
            yield int(item[6:])


def downgrade() -> None:
    op.drop_index(
        "ix_claim_pending_member_item",
        table_name="claim",
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.drop_table("publication_withdrawal")
    with op.batch_alter_table("evidence_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_use_original_id"))
    op.drop_table("evidence_use")
    op.drop_table("photo_band")
    with op.batch_alter_table("photo", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_photo_original_id_photo"), type_="foreignkey")
        batch_op.drop_column("original_id")
        batch_op.drop_column("phash")
