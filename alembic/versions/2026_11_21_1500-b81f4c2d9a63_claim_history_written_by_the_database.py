"""A claim's history is written by the database: each claim carries its last actor and reason,
and triggers turn its creation and every change of status or step into a `claim_event`

No path can change a claim without a record, and a review step costs one statement fewer.

Revision ID: b81f4c2d9a63
Revises: 3a7c5e91d2b4
Create Date: 2026-11-21 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "b81f4c2d9a63"
down_revision: str | Sequence[str] | None = "3a7c5e91d2b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "claim_id, actor_id, from_status, to_status, reason, created_at"
# A state as the history shows it: "pending:<step waiting>", or the final status.
_PG_STATE = (
    "CASE WHEN {0}.status = 'pending' "
    "THEN 'pending:' || ({0}.steps ->> {0}.step) ELSE {0}.status END"
)
_SQLITE_STATE = (
    "CASE WHEN {0}.status = 'pending' "
    "THEN 'pending:' || json_extract({0}.steps, '$[' || {0}.step || ']') ELSE {0}.status END"
)
PG_UP = (
    f"""CREATE FUNCTION record_claim_event() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO claim_event ({_COLUMNS}) VALUES (
            NEW.id,
            NEW.last_actor_id,
            CASE WHEN TG_OP = 'INSERT' THEN '' ELSE {_PG_STATE.format("OLD")} END,
            CASE WHEN TG_OP = 'INSERT' THEN NEW.status ELSE {_PG_STATE.format("NEW")} END,
            NEW.last_reason,
            NEW.updated_at
        );
        RETURN NULL;
    END $$""",
    "CREATE TRIGGER claim_created AFTER INSERT ON claim "
    "FOR EACH ROW EXECUTE FUNCTION record_claim_event()",
    "CREATE TRIGGER claim_moved AFTER UPDATE OF status, step ON claim FOR EACH ROW "
    "WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.step IS DISTINCT FROM NEW.step) "
    "EXECUTE FUNCTION record_claim_event()",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS claim_moved ON claim",
    "DROP TRIGGER IF EXISTS claim_created ON claim",
    "DROP FUNCTION IF EXISTS record_claim_event()",
)
SQLITE_UP = (
    f"CREATE TRIGGER claim_created AFTER INSERT ON claim BEGIN "
    f"INSERT INTO claim_event ({_COLUMNS}) VALUES "
    f"(NEW.id, NEW.last_actor_id, '', NEW.status, NEW.last_reason, NEW.updated_at); END",
    f"CREATE TRIGGER claim_moved AFTER UPDATE OF status, step ON claim "
    f"WHEN OLD.status IS NOT NEW.status OR OLD.step IS NOT NEW.step BEGIN "
    f"INSERT INTO claim_event ({_COLUMNS}) VALUES (NEW.id, NEW.last_actor_id, "
    f"{_SQLITE_STATE.format('OLD')}, {_SQLITE_STATE.format('NEW')}, "
    f"NEW.last_reason, NEW.updated_at); END",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS claim_moved",
    "DROP TRIGGER IF EXISTS claim_created",
)
_LATEST_EVENT = (
    "(SELECT {} FROM claim_event e WHERE e.claim_id = claim.id ORDER BY e.id DESC LIMIT 1)"
)


def _is_postgresql() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_actor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("last_reason", sa.Text(), nullable=True))
    op.execute(
        f"UPDATE claim SET last_actor_id = coalesce({_LATEST_EVENT.format('actor_id')}, "
        f"member_id), last_reason = {_LATEST_EVENT.format('reason')}"
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.alter_column("last_actor_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_last_actor_id_member"), "member", ["last_actor_id"], ["id"]
        )
    for statement in PG_UP if _is_postgresql() else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in PG_DOWN if _is_postgresql() else SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_claim_last_actor_id_member"), type_="foreignkey")
        batch_op.drop_column("last_reason")
        batch_op.drop_column("last_actor_id")
