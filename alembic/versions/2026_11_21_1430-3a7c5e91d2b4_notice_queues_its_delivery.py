"""Every notice queues its WeChat delivery in the database (a trigger), not in the ORM

One statement fewer for every notice: an approval's notice, and each of a published period's
per-member notices, which the ORM inserts in batches but whose deliveries it inserted one by one.
Written by the database, the delivery cannot be forgotten by a path that inserts notices
without the ORM (a COPY, a script).

Revision ID: 3a7c5e91d2b4
Revises: 9d7db39e5e38
Create Date: 2026-11-21 14:30:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3a7c5e91d2b4"
down_revision: str | Sequence[str] | None = "9d7db39e5e38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VALUES = "(NEW.id, NEW.member_id, 'pending', 0, NEW.created_at, NEW.created_at)"
_INSERT = (
    "INSERT INTO delivery (notice_id, member_id, status, attempts, next_attempt_at, created_at) "
    f"VALUES {_VALUES}"
)
PG_UP = (
    f"""CREATE FUNCTION queue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_INSERT};
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER notice_queues_delivery AFTER INSERT ON notice "
    "FOR EACH ROW EXECUTE FUNCTION queue_delivery()",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS notice_queues_delivery ON notice",
    "DROP FUNCTION IF EXISTS queue_delivery()",
)
SQLITE_UP = (f"CREATE TRIGGER notice_queues_delivery AFTER INSERT ON notice BEGIN {_INSERT}; END",)
SQLITE_DOWN = ("DROP TRIGGER IF EXISTS notice_queues_delivery",)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    for statement in PG_UP if _is_postgresql() else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if _is_postgresql() else SQLITE_DOWN:
        op.execute(statement)
