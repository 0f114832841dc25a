"""The names a screen shows beside ids (member, branch, item), so a phone needs no second call.

Each list is labelled by one statement that joins the rows to their member, branch and scheme
(none for a claim whose member and scheme the request already holds); an item's name comes from
the scheme's current version, read once per process.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from api.models import (
    Appeal,
    Claim,
    CommitteeAction,
    Member,
    OrgUnit,
    PeriodRecord,
    SchemeRecord,
    ScoreEntry,
    id_of,
)
from api.reads import Read, adopt, columns_of, held
from api.services.schemes import current_scheme


@dataclass(frozen=True)
class Labels:
    member_name: str | None
    branch_name: str | None
    item_name: str


async def _labelled(session: AsyncSession, rows: Iterable[Sequence[Any]]) -> dict[int, Labels]:
    """Rows of (id, member name, branch name, item code, scheme record) as labels by id; an
    item the scheme no longer lists keeps its code as its name."""
    labels: dict[int, Labels] = {}
    for row_id, member_name, branch_name, item_code, record in rows:
        scheme = (await current_scheme(session, record))[1]
        item = scheme.item(item_code)
        labels[row_id] = Labels(member_name, branch_name, item.name if item else item_code)
    return labels


async def claim_labels(session: AsyncSession, claims: Sequence[Claim]) -> dict[int, Labels]:
    """A claim whose member and scheme the session already holds (a submission's: the member
    signed in, the scheme in force) is labelled from them, without a statement."""
    rows: list[Sequence[Any]] = []
    missing: list[int] = []
    for claim in claims:
        member = held(session, Member, claim.member_id)
        record = held(session, SchemeRecord, claim.scheme_id)
        if member is not None and record is not None:
            rows.append((id_of(claim), member.name, None, claim.item_code, record))
        else:
            missing.append(id_of(claim))
    if missing:
        found = await _CLAIM_LABELS.all(session, {"ids": missing})
        rows += [(*row[:4], adopt(session, SchemeRecord, row[4:])) for row in found]
    return await _labelled(session, rows)


# Built once: every answer of the claims' screens is labelled by it.
_CLAIM_LABELS = Read(
    select(
        col(Claim.id),
        col(Member.name),
        null(),
        col(Claim.item_code),
        *columns_of(SchemeRecord),
    )
    .join(Member, col(Member.id) == col(Claim.member_id))
    .join(SchemeRecord, col(SchemeRecord.id) == col(Claim.scheme_id))
    .where(col(Claim.id).in_(bindparam("ids", expanding=True)))
)


async def entry_labels(session: AsyncSession, entry_ids: Sequence[int]) -> dict[int, Labels]:
    if not entry_ids:
        return {}
    branch = aliased(OrgUnit)
    query = (
        select(
            col(ScoreEntry.id),
            col(Member.name),
            col(branch.name),
            col(ScoreEntry.item_code),
            SchemeRecord,
        )
        .join(PeriodRecord, col(PeriodRecord.id) == col(ScoreEntry.period_id))
        .join(SchemeRecord, col(SchemeRecord.id) == col(PeriodRecord.scheme_id))
        .outerjoin(Member, col(Member.id) == col(ScoreEntry.member_id))
        .outerjoin(branch, col(branch.id) == col(ScoreEntry.branch_id))
        .where(col(ScoreEntry.id).in_(entry_ids))
    )
    return await _labelled(session, await session.execute(query))


async def appeal_labels(session: AsyncSession, appeal_ids: Sequence[int]) -> dict[int, Labels]:
    if not appeal_ids:
        return {}
    query = (
        select(col(Appeal.id), col(Member.name), null(), col(ScoreEntry.item_code), SchemeRecord)
        .join(ScoreEntry, col(ScoreEntry.id) == col(Appeal.entry_id))
        .join(PeriodRecord, col(PeriodRecord.id) == col(ScoreEntry.period_id))
        .join(SchemeRecord, col(SchemeRecord.id) == col(PeriodRecord.scheme_id))
        .join(Member, col(Member.id) == col(Appeal.member_id))
        .where(col(Appeal.id).in_(appeal_ids))
    )
    return await _labelled(session, await session.execute(query))


async def subject_names(
    session: AsyncSession, action_ids: Sequence[int]
) -> dict[int, tuple[str | None, str | None]]:
    """Each committee action's member name and branch name (one of them is empty)."""
    if not action_ids:
        return {}
    branch = aliased(OrgUnit)
    rows = await session.execute(
        select(col(CommitteeAction.id), col(Member.name), col(branch.name))
        .outerjoin(Member, col(Member.id) == col(CommitteeAction.member_id))
        .outerjoin(branch, col(branch.id) == col(CommitteeAction.branch_id))
        .where(col(CommitteeAction.id).in_(action_ids))
    )
    return {int(action_id or 0): (member, unit) for action_id, member, unit in rows}
