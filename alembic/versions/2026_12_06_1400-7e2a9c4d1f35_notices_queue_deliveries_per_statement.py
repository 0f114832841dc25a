"""On PostgreSQL a notice statement queues its deliveries in one INSERT, not one per row

A close's tens of thousands of follow-up notices and a publication's notice to every member
are multi-row INSERTs; the row trigger ran a PL/pgSQL call and a one-row INSERT for each of
them (10 000 notices: 0.26 s with it, 0.15 s with this trigger, 0.05 s with none). The
statement trigger reads the statement's new rows (a transition table) and queues them all
at once. SQLite has no statement triggers and keeps its row trigger.

Revision ID: 7e2a9c4d1f35
Revises: 4b6e0c2f9a17
Create Date: 2026-12-06 14:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e2a9c4d1f35"
down_revision: str | Sequence[str] | None = "4b6e0c2f9a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "notice_id, member_id, status, attempts, next_attempt_at, created_at"
UP = (
    "DROP TRIGGER notice_queues_delivery ON notice",
    "DROP FUNCTION queue_delivery()",
    f"""CREATE FUNCTION queue_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO delivery ({_COLUMNS})
        SELECT id, member_id, 'pending', 0, created_at, created_at FROM new_notices;
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER notice_queues_delivery AFTER INSERT ON notice "
    "REFERENCING NEW TABLE AS new_notices FOR EACH STATEMENT EXECUTE FUNCTION queue_deliveries()",
)
DOWN = (
    "DROP TRIGGER notice_queues_delivery ON notice",
    "DROP FUNCTION queue_deliveries()",
    f"""CREATE FUNCTION queue_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO delivery ({_COLUMNS})
        VALUES (NEW.id, NEW.member_id, 'pending', 0, NEW.created_at, NEW.created_at);
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER notice_queues_delivery AFTER INSERT ON notice "
    "FOR EACH ROW EXECUTE FUNCTION queue_delivery()",
)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if _is_postgresql():
        for statement in UP:
            op.execute(statement)


def downgrade() -> None:
    if _is_postgresql():
        for statement in DOWN:
            op.execute(statement)
