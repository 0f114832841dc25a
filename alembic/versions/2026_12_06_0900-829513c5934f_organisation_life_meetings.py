"""组织生活 from the phone: meetings are scheduled (time, place, expected attendees), members ask
for leave and scan in, and a close decides each attendee's outcome and points

A meeting recorded before this revision was recorded after the fact: it becomes a closed meeting
that started at midnight of its day (Asia/Shanghai), closed once by whoever recorded it.

Revision ID: 829513c5934f
Revises: 36191ea416b9
Create Date: 2026-12-06 09:00:00.000000+00:00
"""

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from alembic import op
from api.models.base import UTCDateTime

revision: str = "829513c5934f"
down_revision: str | Sequence[str] | None = "36191ea416b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Kinds were free text: the usual names become the built-in kinds' codes (the name stays shown).
_KINDS = {
    "支部党员大会": "branch_assembly",
    "支委会": "branch_committee",
    "支部委员会": "branch_committee",
    "党小组会": "group_meeting",
    "党课": "party_lecture",
    "主题党日": "activity_day",
    "固定活动日": "activity_day",
    "党员固定活动日": "activity_day",
}
_MEETING = sa.table(
    "meeting",
    sa.column("id", sa.Integer()),
    sa.column("held_on", sa.Date()),
    sa.column("starts_at", UTCDateTime()),
)


def _start_existing_meetings() -> None:
    connection = op.get_bind()
    for meeting_id, held_on in connection.execute(sa.select(_MEETING.c.id, _MEETING.c.held_on)):
        starts_at = datetime.combine(held_on, time(), tzinfo=SHANGHAI)
        connection.execute(
            _MEETING.update().where(_MEETING.c.id == meeting_id).values(starts_at=starts_at)
        )


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("kind_name", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("latitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("longitude", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("checkin_radius_m", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("close_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE meeting SET status = 'closed', kind_name = kind, place = '', close_count = 1, "
        "closed_at = created_at, closed_by = recorded_by, updated_at = created_at"
    )
    for name, code in _KINDS.items():
        op.execute(
            sa.text("UPDATE meeting SET kind = :code WHERE kind = :name").bindparams(
                code=code, name=name
            )
        )
    _start_existing_meetings()
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        for name, kind in (
            ("status", sa.String(length=16)),
            ("kind_name", sa.String(length=32)),
            ("starts_at", sa.DateTime(timezone=True)),
            ("place", sa.String(length=200)),
            ("close_count", sa.Integer()),
            ("updated_at", sa.DateTime(timezone=True)),
        ):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_meeting_closed_by_member"), "member", ["closed_by"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_meeting_status"), "status IN ('scheduled', 'cancelled', 'closed')"
        )
        batch_op.create_index("ix_meeting_status_starts_at", ["status", "starts_at"], unique=False)

    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=True)
        batch_op.add_column(sa.Column("checkin", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_meeting_attendance_checkin"), "checkin IN ('scan', 'manual')"
        )
    op.execute("UPDATE meeting_attendance SET checkin = 'manual' WHERE status = 'present'")

    op.create_table(
        "leave_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'refused')", name=op.f("ck_leave_request_status")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["member.id"], name=op.f("fk_leave_request_decided_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_leave_request_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_leave_request_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leave_request")),
    )
    op.create_index(
        op.f("ix_leave_request_meeting_id"), "leave_request", ["meeting_id"], unique=False
    )
    op.create_index(
        op.f("ix_leave_request_member_id"), "leave_request", ["member_id"], unique=False
    )
    op.create_index(
        "uq_leave_request_standing",
        "leave_request",
        ["meeting_id", "member_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('pending', 'approved')"),
        postgresql_where=sa.text("status IN ('pending', 'approved')"),
    )

    op.create_table(
        "meeting_checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('accepted', 'flagged')", name=op.f("ck_meeting_checkin_status")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_checkin_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_meeting_checkin_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_checkin")),
        sa.UniqueConstraint(
            "meeting_id", "member_id", name=op.f("uq_meeting_checkin_meeting_id_member_id")
        ),
    )
    op.create_index(
        op.f("ix_meeting_checkin_member_id"), "meeting_checkin", ["member_id"], unique=False
    )

    op.create_table(
        "meeting_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("close_no", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("reversal_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["score_entry.id"], name=op.f("fk_meeting_charge_entry_id_score_entry")
        ),
        sa.ForeignKeyConstraint(
            ["reversal_id"],
            ["score_entry.id"],
            name=op.f("fk_meeting_charge_reversal_id_score_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_charge_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_meeting_charge_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_charge")),
        sa.UniqueConstraint(
            "meeting_id",
            "member_id",
            "close_no",
            name=op.f("uq_meeting_charge_meeting_id_member_id_close_no"),
        ),
    )
    op.create_index(
        op.f("ix_meeting_charge_member_id"), "meeting_charge", ["member_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("meeting_charge")
    op.drop_table("meeting_checkin")
    op.drop_index("uq_leave_request_standing", table_name="leave_request")
    op.drop_table("leave_request")
    # Meetings not yet decided had no place in the old schema.
    op.execute(
        "DELETE FROM meeting_attendance WHERE meeting_id IN "
        "(SELECT id FROM meeting WHERE status <> 'closed')"
    )
    op.execute("DELETE FROM meeting WHERE status <> 'closed'")
    op.execute("UPDATE meeting SET kind = kind_name")
    op.execute("DELETE FROM meeting_attendance WHERE status IS NULL")
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_meeting_attendance_checkin"), type_="check")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("checked_in_at")
        batch_op.drop_column("checkin")
        batch_op.alter_column("status", existing_type=sa.String(length=16), nullable=False)
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_status_starts_at")
        batch_op.drop_constraint(batch_op.f("ck_meeting_status"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_meeting_closed_by_member"), type_="foreignkey")
        for name in (
            "updated_at",
            "closed_by",
            "closed_at",
            "close_count",
            "cancel_reason",
            "checkin_radius_m",
            "longitude",
            "latitude",
            "place",
            "starts_at",
            "kind_name",
            "status",
        ):
            batch_op.drop_column(name)
