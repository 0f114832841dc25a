"""Audit rows carry the unit they belong to and the member acted on; invites may have no issuer

An admin reads the audit log of their subtree: each row keeps the path of the unit it belongs
to (a period's and a scheme's owner, a round's or a meeting's branch), filled in here for the
rows written before, and the member whose record was acted on (the members of the meeting
corrections recorded before, from their data). `pioneer init` issues the first admin's invite
code, which no member issued.

Revision ID: 138983118fc7
Revises: c2d47571167c
Create Date: 2026-12-06 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "138983118fc7"
down_revision: str | Sequence[str] | None = "c2d47571167c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The unit of each kind of row written before this revision, by its target.
_UNIT_OF_TARGET = {
    "period": (
        "SELECT u.path FROM period p JOIN scheme s ON s.id = p.scheme_id "
        "JOIN org_unit u ON u.id = s.unit_id WHERE p.id = audit_log.target_id"
    ),
    "scheme": (
        "SELECT u.path FROM scheme s JOIN org_unit u ON u.id = s.unit_id "
        "WHERE s.id = audit_log.target_id"
    ),
    "evaluation_round": (
        "SELECT u.path FROM evaluation_round r JOIN org_unit u ON u.id = r.branch_id "
        "WHERE r.id = audit_log.target_id"
    ),
    "meeting": (
        "SELECT u.path FROM meeting m JOIN org_unit u ON u.id = m.branch_id "
        "WHERE m.id = audit_log.target_id"
    ),
}
# Rows naming a member in their data: leave recorded afterwards, presence marked by hand.
_MEMBER_ACTIONS = "('meeting_leave_recorded', 'meeting_present')"


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_path", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("member_id", sa.Integer(), nullable=True))
    for target_type, unit in _UNIT_OF_TARGET.items():
        op.execute(f"UPDATE audit_log SET unit_path = ({unit}) WHERE target_type = '{target_type}'")
    # A row whose target is gone belongs to no unit: no admin reads it.
    op.execute("UPDATE audit_log SET unit_path = '/' WHERE unit_path IS NULL")
    member = (
        "CAST(data ->> 'member_id' AS INTEGER)"
        if _is_postgresql()
        else "CAST(json_extract(data, '$.member_id') AS INTEGER)"
    )
    op.execute(
        f"UPDATE audit_log SET member_id = {member} "
        f"WHERE action IN {_MEMBER_ACTIONS} AND {member} IN (SELECT id FROM member)"
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("unit_path", existing_type=sa.String(length=400), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_audit_log_member_id_member"), "member", ["member_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_audit_log_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            "ix_audit_log_unit_path",
            ["unit_path"],
            unique=False,
            postgresql_ops={"unit_path": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("invite_code", schema=None) as batch_op:
        batch_op.alter_column("issued_by", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # The first admin's code stands as issued by that admin.
    op.execute("UPDATE invite_code SET issued_by = member_id WHERE issued_by IS NULL")
    with op.batch_alter_table("invite_code", schema=None) as batch_op:
        batch_op.alter_column("issued_by", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_unit_path")
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_member_id"))
        batch_op.drop_constraint(batch_op.f("fk_audit_log_member_id_member"), type_="foreignkey")
        batch_op.drop_column("member_id")
        batch_op.drop_column("unit_path")
