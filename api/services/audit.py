"""The audit log: each act that needs a trace writes one row; admins read their subtree's rows.

A row says who (`actor_id`) did what (`action`) to which object and member, where (the unit whose
admins read it), when and why. Rows are only ever added.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from api.access import within
from api.models import AuditAction, AuditRecord, Member, OrgUnit, utcnow
from api.schemas.org import AuditQuery


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: AuditAction,
    target_type: str,
    target_id: int,
    unit_path: str,
    member_id: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Add the row to the session (the caller's flush writes it with the act itself)."""
    row = AuditRecord(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        unit_path=unit_path,
        member_id=member_id,
        reason=reason,
        data=data or {},
        created_at=at or utcnow(),
    )
    session.add(row)
    return row


@dataclass(frozen=True)
class AuditEntry:
    """A row with the names a reader needs: the actor's, the member's and the unit's."""

    row: AuditRecord
    actor_name: str | None
    member_name: str | None
    unit_id: int | None
    unit_name: str | None


async def read_log(
    session: AsyncSession, unit: OrgUnit, query: AuditQuery
) -> tuple[list[AuditEntry], int | None]:
    """The rows of the unit's subtree that `query` asks for, newest first, `query.size` at a
    time below the row `query.before`; with the cursor of the next page (None on the last).
    Who may read them is the caller's check (`org.audit_log`)."""
    actor, subject = aliased(Member), aliased(Member)
    statement = (
        sa_select(
            AuditRecord, col(actor.name), col(subject.name), col(OrgUnit.id), col(OrgUnit.name)
        )
        .outerjoin(actor, col(actor.id) == col(AuditRecord.actor_id))
        .outerjoin(subject, col(subject.id) == col(AuditRecord.member_id))
        .outerjoin(OrgUnit, col(OrgUnit.path) == col(AuditRecord.unit_path))
        .where(within(col(AuditRecord.unit_path), [unit.path]))
    )
    for condition in _conditions(query):
        statement = statement.where(condition)
    newest_first = statement.order_by(col(AuditRecord.id).desc()).limit(query.size + 1)
    rows = (await session.execute(newest_first)).all()
    entries = [AuditEntry(*row) for row in rows[: query.size]]
    more = len(rows) > query.size
    return entries, (entries[-1].row.id if more and entries else None)


def _conditions(query: AuditQuery) -> list[ColumnElement[bool]]:
    found = []
    if query.action is not None:
        found.append(col(AuditRecord.action) == query.action)
    if query.actor_id is not None:
        found.append(col(AuditRecord.actor_id) == query.actor_id)
    if query.member_id is not None:
        found.append(col(AuditRecord.member_id) == query.member_id)
    if query.since is not None:
        found.append(col(AuditRecord.created_at) >= query.since)
    if query.until is not None:
        found.append(col(AuditRecord.created_at) < query.until)
    if query.before is not None:
        found.append(col(AuditRecord.id) < query.before)
    return found
