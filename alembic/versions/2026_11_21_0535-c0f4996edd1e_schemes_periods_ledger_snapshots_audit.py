"""schemes, periods, ledger, snapshots, audit

Revision ID: c0f4996edd1e
Revises: 6b8e84694207
Create Date: 2026-11-21 05:35:58.653329+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "c0f4996edd1e"
down_revision: str | Sequence[str] | None = "6b8e84694207"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The ledger and the period snapshots are append-only; an entry goes only into an open period.
# The insert guard takes a share lock on the period row, so it waits for a close in progress
# (which holds the row FOR UPDATE) and then sees the period closed.
PG_GUARDS = (
    """CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$""",
    "CREATE TRIGGER score_entry_append_only BEFORE UPDATE OR DELETE ON score_entry "
    "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    "CREATE TRIGGER period_result_append_only BEFORE UPDATE OR DELETE ON period_result "
    "FOR EACH ROW EXECUTE FUNCTION refuse_change()",
    """CREATE FUNCTION require_open_period() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT status FROM period WHERE id = NEW.period_id FOR SHARE)
                IS DISTINCT FROM 'open' THEN
            RAISE EXCEPTION 'period % is not open', NEW.period_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER score_entry_open_period BEFORE INSERT ON score_entry "
    "FOR EACH ROW EXECUTE FUNCTION require_open_period()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS score_entry_open_period ON score_entry",
    "DROP TRIGGER IF EXISTS period_result_append_only ON period_result",
    "DROP TRIGGER IF EXISTS score_entry_append_only ON score_entry",
    "DROP FUNCTION IF EXISTS require_open_period()",
    "DROP FUNCTION IF EXISTS refuse_change()",
)
SQLITE_GUARDS = (
    "CREATE TRIGGER score_entry_no_update BEFORE UPDATE ON score_entry "
    "BEGIN SELECT RAISE(ABORT, 'score_entry is append-only: UPDATE refused'); END",
    "CREATE TRIGGER score_entry_no_delete BEFORE DELETE ON score_entry "
    "BEGIN SELECT RAISE(ABORT, 'score_entry is append-only: DELETE refused'); END",
    "CREATE TRIGGER period_result_no_update BEFORE UPDATE ON period_result "
    "BEGIN SELECT RAISE(ABORT, 'period_result is append-only: UPDATE refused'); END",
    "CREATE TRIGGER period_result_no_delete BEFORE DELETE ON period_result "
    "BEGIN SELECT RAISE(ABORT, 'period_result is append-only: DELETE refused'); END",
    "CREATE TRIGGER score_entry_open_period BEFORE INSERT ON score_entry "
    "WHEN (SELECT status FROM period WHERE id = NEW.period_id) IS NOT 'open' "
    "BEGIN SELECT RAISE(ABORT, 'period is not open'); END",
)
SQLITE_TRIGGERS = (
    "score_entry_no_update",
    "score_entry_no_delete",
    "period_result_no_update",
    "period_result_no_delete",
    "score_entry_open_period",
)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def _create_guards() -> None:
    for statement in PG_GUARDS if _is_postgresql() else SQLITE_GUARDS:
        op.execute(statement)


def _drop_guards() -> None:
    if _is_postgresql():
        for statement in PG_DROP:
            op.execute(statement)
        return
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.create_table(
        "scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["org_unit.id"], name=op.f("fk_scheme_unit_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme")),
        sa.CheckConstraint(
            "subject_kind IN ('member', 'branch')", name=op.f("ck_scheme_subject_kind")
        ),
        sa.UniqueConstraint("unit_id", "subject_kind", name=op.f("uq_scheme_unit_id_subject_kind")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["member.id"], name=op.f("fk_audit_log_actor_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "scheme_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["member.id"], name=op.f("fk_scheme_version_created_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_scheme_version_scheme_id_scheme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheme_version")),
        sa.UniqueConstraint(
            "scheme_id", "version", name=op.f("uq_scheme_version_scheme_id_version")
        ),
    )
    op.create_index(
        op.f("ix_scheme_version_scheme_id"), "scheme_version", ["scheme_id"], unique=False
    )

    op.create_table(
        "period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("close_count", sa.Integer(), nullable=False),
        sa.Column("scheme_version_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'published')", name=op.f("ck_period_status")
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["member.id"], name=op.f("fk_period_closed_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["member.id"], name=op.f("fk_period_published_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme.id"], name=op.f("fk_period_scheme_id_scheme")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_version_id"],
            ["scheme_version.id"],
            name=op.f("fk_period_scheme_version_id_scheme_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period")),
        sa.UniqueConstraint("scheme_id", "key", name=op.f("uq_period_scheme_id_key")),
    )
    op.create_index(op.f("ix_period_scheme_id"), "period", ["scheme_id"], unique=False)

    op.create_table(
        "period_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("close_no", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column("unit_path", sa.String(length=400), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("tier", sa.String(length=64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("prior", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_period_result_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_period_result_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_period_result_period_id_period")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_result")),
    )
    op.create_index(
        op.f("ix_period_result_member_id"), "period_result", ["member_id"], unique=False
    )
    op.create_index(
        "ix_period_result_period_id_close_no",
        "period_result",
        ["period_id", "close_no"],
        unique=False,
    )

    op.create_table(
        "score_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("branch_id", sa.Integer(), nullable=True),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "source IN ('claim', 'deduction', 'evaluation', 'assessment', 'adjustment', "
            "'reversal')",
            name=op.f("ck_score_entry_source"),
        ),
        sa.CheckConstraint(
            "(member_id IS NULL) <> (branch_id IS NULL)",
            name=op.f("ck_score_entry_exactly_one_subject"),
        ),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND points >= 0) OR (reverses_id IS NOT NULL AND points <= 0)",
            name=op.f("ck_score_entry_reversal_sign"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["member.id"], name=op.f("fk_score_entry_actor_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["branch_id"], ["org_unit.id"], name=op.f("fk_score_entry_branch_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_score_entry_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["period_id"], ["period.id"], name=op.f("fk_score_entry_period_id_period")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["score_entry.id"], name=op.f("fk_score_entry_reverses_id_score_entry")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_entry")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_score_entry_reverses_id")),
    )
    op.create_index(op.f("ix_score_entry_branch_id"), "score_entry", ["branch_id"], unique=False)
    op.create_index(op.f("ix_score_entry_member_id"), "score_entry", ["member_id"], unique=False)
    op.create_index(op.f("ix_score_entry_period_id"), "score_entry", ["period_id"], unique=False)

    _create_guards()


def downgrade() -> None:
    _drop_guards()

    op.drop_table("score_entry")

    op.drop_table("period_result")

    op.drop_table("period")

    op.drop_table("scheme_version")
    op.drop_table("audit_log")
    op.drop_table("scheme")
