"""Publication boards (append-only), branch group robots and their post outbox

Revision ID: 4f3e0b8b641a
Revises: 94bb641e0866
Create Date: 2026-11-21 07:21:13.477362+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "4f3e0b8b641a"
down_revision: str | Sequence[str] | None = "94bb641e0866"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A board is what was published: the database refuses to change it, as for the snapshots.
PG_GUARDS = (
    "CREATE TRIGGER publication_append_only BEFORE UPDATE OR DELETE ON publication "
    "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
)
SQLITE_GUARDS = (
    "CREATE TRIGGER publication_no_update BEFORE UPDATE ON publication "
    "BEGIN SELECT RAISE(ABORT, 'publication is append-only: UPDATE refused'); END",
    "CREATE TRIGGER publication_no_delete BEFORE DELETE ON publication "
    "BEGIN SELECT RAISE(ABORT, 'publication is append-only: DELETE refused'); END",
)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "branch_robot",
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("key_cipher", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("top_n", sa.Integer(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('active', 'invalid_key')", name=op.f("ck_branch_robot_status")
        ),
        sa.CheckConstraint("top_n BETWEEN 1 AND 50", name=op.f("ck_branch_robot_top_n")),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_branch_robot_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["member.id"], name=op.f("fk_branch_robot_updated_by_member")
        ),
        sa.PrimaryKeyConstraint("branch_id", name=op.f("pk_branch_robot")),
    )
    op.create_table(
        "publication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("close_no", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_path", sa.String(length=400), nullable=False),
        sa.Column("board", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_publication_period_id_period")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_publication_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication")),
        sa.UniqueConstraint(
            "period_id",
            "close_no",
            "unit_id",
            name=op.f("uq_publication_period_id_close_no_unit_id"),
        ),
    )
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.create_index("ix_publication_unit_id", ["unit_id"], unique=False)

    op.create_table(
        "robot_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("branch_id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('markdown', 'image')", name=op.f("ck_robot_post_kind")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'dead')",
            name=op.f("ck_robot_post_status"),
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_robot_post_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publication.id"],
            name=op.f("fk_robot_post_publication_id_publication"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_robot_post")),
        sa.UniqueConstraint(
            "branch_id",
            "publication_id",
            "kind",
            "trigger",
            name=op.f("uq_robot_post_branch_id_publication_id_kind_trigger"),
        ),
    )
    with op.batch_alter_table("robot_post", schema=None) as batch_op:
        batch_op.create_index("ix_robot_post_branch_sent", ["branch_id", "sent_at"], unique=False)
        batch_op.create_index("ix_robot_post_due", ["status", "next_attempt_at"], unique=False)

    for statement in PG_GUARDS if _is_postgresql() else SQLITE_GUARDS:
        op.execute(statement)


def downgrade() -> None:
    if _is_postgresql():
        op.execute("DROP TRIGGER IF EXISTS publication_append_only ON publication")
    else:
        op.execute("DROP TRIGGER IF EXISTS publication_no_update")
        op.execute("DROP TRIGGER IF EXISTS publication_no_delete")
    with op.batch_alter_table("robot_post", schema=None) as batch_op:
        batch_op.drop_index("ix_robot_post_due")
        batch_op.drop_index("ix_robot_post_branch_sent")

    op.drop_table("robot_post")
    with op.batch_alter_table("publication", schema=None) as batch_op:
        batch_op.drop_index("ix_publication_unit_id")

    op.drop_table("publication")
    op.drop_table("branch_robot")
