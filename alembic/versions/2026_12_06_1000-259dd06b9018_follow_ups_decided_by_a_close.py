"""Follow-ups decided by a close: a committee action belongs to a member or a branch, a period,
the committee that owns it, and has a status (open, done, withdrawn)

Until now only deduction thresholds created follow-ups, once per member and year; what a close
decides (talks, notices, removal, education-branch transfers) went nowhere. One row per subject,
period and action now, so a re-close neither doubles one nor loses track of one it withdraws.

Revision ID: 259dd06b9018
Revises: a7c31e9f0b24
Create Date: 2026-12-06 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "259dd06b9018"
down_revision: str | Sequence[str] | None = "a7c31e9f0b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
UPDATE committee_action SET
    period_id = (SELECT e.period_id FROM score_entry e WHERE e.id = committee_action.entry_id),
    unit_id = (
        SELECT CASE WHEN u.kind = 'group' THEN u.parent_id ELSE u.id END
        FROM member m JOIN org_unit u ON u.id = m.unit_id
        WHERE m.id = committee_action.member_id
    ),
    source = 'threshold',
    status = CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END
"""
# What the old shape cannot hold: branch follow-ups, those without an entry, and a second one of
# a member's action in the same scheme and year (the old key).
_UNFIT = """
DELETE FROM committee_action
WHERE member_id IS NULL OR entry_id IS NULL OR id NOT IN (
    SELECT min(id) FROM committee_action
    WHERE member_id IS NOT NULL
    GROUP BY member_id, scheme_id, cycle, action_code
)
"""
_NEW_COLUMNS = ("branch_id", "unit_id", "period_id", "source", "status", "withdrawn_at")


def upgrade() -> None:
    with op.batch_alter_table("committee_action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("branch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("period_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(_BACKFILL)
    with op.batch_alter_table("committee_action", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_committee_action_member_id_scheme_id_cycle_action_code"),
            type_="unique",
        )
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("entry_id", existing_type=sa.Integer(), nullable=True)
        for name in ("unit_id", "period_id"):
            batch_op.alter_column(name, existing_type=sa.Integer(), nullable=False)
        for name in ("source", "status"):
            batch_op.alter_column(name, existing_type=sa.String(length=16), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_committee_action_branch_id_org_unit"), "org_unit", ["branch_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_committee_action_unit_id_org_unit"), "org_unit", ["unit_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_committee_action_period_id_period"), "period", ["period_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_committee_action_subject"), "(member_id IS NULL) <> (branch_id IS NULL)"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_committee_action_status"), "status IN ('open', 'done', 'withdrawn')"
        )
        batch_op.create_index(batch_op.f("ix_committee_action_branch_id"), ["branch_id"])
        batch_op.create_index(batch_op.f("ix_committee_action_unit_id"), ["unit_id"])
    for subject in ("member", "branch"):
        where = sa.text(f"{subject}_id IS NOT NULL")
        op.create_index(
            f"uq_committee_action_{subject}",
            "committee_action",
            [f"{subject}_id", "period_id", "action_code"],
            unique=True,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for subject in ("branch", "member"):
        op.drop_index(f"uq_committee_action_{subject}", table_name="committee_action")
    op.execute(_UNFIT)
    with op.batch_alter_table("committee_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committee_action_unit_id"))
        batch_op.drop_index(batch_op.f("ix_committee_action_branch_id"))
        batch_op.drop_constraint(batch_op.f("ck_committee_action_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_committee_action_subject"), type_="check")
        for name in ("period_id_period", "unit_id_org_unit", "branch_id_org_unit"):
            batch_op.drop_constraint(batch_op.f(f"fk_committee_action_{name}"), type_="foreignkey")
        for name in _NEW_COLUMNS:
            batch_op.drop_column(name)
        batch_op.alter_column("entry_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_committee_action_member_id_scheme_id_cycle_action_code"),
            ["member_id", "scheme_id", "cycle", "action_code"],
        )
