"""The append-only tables refuse TRUNCATE too

Their row triggers refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: a statement
trigger refuses it on PostgreSQL. SQLite has no TRUNCATE (its `DELETE FROM t` fires the row
triggers), so nothing changes there.

Revision ID: 36191ea416b9
Revises: 00de82951ae5
Create Date: 2026-12-06 10:10:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "36191ea416b9"
down_revision: str | Sequence[str] | None = "00de82951ae5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables whose UPDATE and DELETE `refuse_change()` already refuses.
APPEND_ONLY = ("score_entry", "period_result", "publication")


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgresql():
        return
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )


def downgrade() -> None:
    if not _is_postgresql():
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
