"""Notice templates are owned by a unit and apply to its subtree; the templates set before
(global, one per kind and channel) stay as defaults without an owner

A default applies where no unit above the member owns a template of that kind and channel, and
no admin changes it: a unit's admins replace it for their subtree by setting their own, so no
town's admin can change what another town's members receive. Downgrading keeps the defaults
and drops every unit's own templates.

Revision ID: 5d2e8a41c7f3
Revises: 829513c5934f
Create Date: 2026-12-06 09:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "5d2e8a41c7f3"
down_revision: str | Sequence[str] | None = "829513c5934f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULTS = sa.text("unit_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("notice_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notice_template_unit_id_org_unit"), "org_unit", ["unit_id"], ["id"]
        )
        batch_op.drop_constraint("uq_notice_template_kind_channel", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_notice_template_unit_id_kind_channel"), ["unit_id", "kind", "channel"]
        )
        batch_op.create_index(
            "uq_notice_template_default",
            ["kind", "channel"],
            unique=True,
            sqlite_where=_DEFAULTS,
            postgresql_where=_DEFAULTS,
        )


def downgrade() -> None:
    op.execute("DELETE FROM notice_template WHERE unit_id IS NOT NULL")
    with op.batch_alter_table("notice_template", schema=None) as batch_op:
        batch_op.drop_index("uq_notice_template_default")
        batch_op.drop_constraint(
            batch_op.f("uq_notice_template_unit_id_kind_channel"), type_="unique"
        )
        batch_op.create_unique_constraint("uq_notice_template_kind_channel", ["kind", "channel"])
        batch_op.drop_constraint(
            batch_op.f("fk_notice_template_unit_id_org_unit"), type_="foreignkey"
        )
        batch_op.drop_column("unit_id")
