"""The outboxes hold their claims by token and keep what each attempt did: a delivery's
channel history, `uncertain` for a call whose outcome was lost; a robot post's
`sending_since`; and the worker's job failures, each with its own backoff

A worker whose lease ran out mid-send could send or record over the worker that took the row
over (both sent it); a worker killed between WeChat's answer and its record left a subscribe
message to be sent again. Rows written before keep an empty history.

Revision ID: 5450ad1244a6
Revises: 4df8216af1cb
Create Date: 2026-12-06 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5450ad1244a6"
down_revision: str | Sequence[str] | None = "4df8216af1cb"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DELIVERY = "status IN ('pending', 'sending', 'sent', 'inbox_only', 'dead'{})"
POST = "status IN ('pending', 'sending', 'sent', 'failed', 'dead'{})"
UNCERTAIN = ", 'uncertain'"
# SQLite rebuilds `delivery` (batch mode), and refuses to while the trigger on `notice` names
# it: the trigger is dropped around the changes and written again as it was.
SQLITE_TRIGGER = (
    "CREATE TRIGGER notice_queues_delivery AFTER INSERT ON notice BEGIN "
    "INSERT INTO delivery (notice_id, member_id, status, attempts, next_attempt_at, created_at) "
    "VALUES (NEW.id, NEW.member_id, 'pending', 0, NEW.created_at, NEW.created_at); END"
)


def _is_sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _checks(delivery: str, post: str) -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_delivery_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_delivery_status"), delivery)
    with op.batch_alter_table("robot_post", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_robot_post_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_robot_post_status"), post)


def upgrade() -> None:
    if _is_sqlite():
        op.execute("DROP TRIGGER IF EXISTS notice_queues_delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("history", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
    with op.batch_alter_table("robot_post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))
    _checks(DELIVERY.format(UNCERTAIN), POST.format(UNCERTAIN))
    if _is_sqlite():
        op.execute(SQLITE_TRIGGER)
    op.create_table(
        "job_failure",
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job", "key", name=op.f("pk_job_failure")),
    )


def downgrade() -> None:
    if _is_sqlite():
        op.execute("DROP TRIGGER IF EXISTS notice_queues_delivery")
    op.drop_table("job_failure")
    # An uncertain row goes back to what the old schema knew of it: kept in the inbox.
    op.execute("UPDATE delivery SET status = 'inbox_only' WHERE status = 'uncertain'")
    op.execute("UPDATE robot_post SET status = 'failed' WHERE status = 'uncertain'")
    _checks(DELIVERY.format(""), POST.format(""))
    with op.batch_alter_table("robot_post", schema=None) as batch_op:
        batch_op.drop_column("sending_since")
        batch_op.drop_column("claim_token")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("history")
        batch_op.drop_column("claim_token")
    if _is_sqlite():
        op.execute(SQLITE_TRIGGER)
