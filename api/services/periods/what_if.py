"""试算: a draft scheme over a closed period, against its snapshot; nothing is written."""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import PeriodMismatch, PeriodNotClosed
from api.models import PeriodRecord, PeriodStatus, id_of
from api.scoring import Scheme, SubjectResult
from api.services.periods import snapshot
from api.services.periods.compute import compute_off_loop
from api.services.periods.gateway import load_inputs
from api.services.periods.scope import Scope, engine_period


@dataclass(frozen=True)
class Change:
    subject_id: str
    name: str
    total_before: Decimal | None
    total_after: Decimal | None
    tier_before: str | None
    tier_after: str | None
    ranks_before: dict[str, int]
    ranks_after: dict[str, int]


async def what_if(
    session: AsyncSession, period: PeriodRecord, scope: Scope, draft: Scheme
) -> tuple[list[Change], int]:
    """Re-run a draft scheme over a closed period; nothing is written."""
    if period.status == PeriodStatus.open:
        raise PeriodNotClosed()
    target = engine_period(scope.scheme, period)
    if draft.period != target.length or draft.subject_kind != scope.scheme.subject_kind:
        raise PeriodMismatch()
    inputs = await load_inputs(session, scope, target, id_of(period))
    after = {r.subject_id: r for r in await compute_off_loop(draft, target, inputs)}
    names = {s.id: s.name for s in inputs.subjects}
    before = await snapshot.subject_results(session, period)
    changes = [
        _change(subject_id, names.get(subject_id, ""), before.get(subject_id), result)
        for subject_id, result in sorted(after.items())
    ]
    moved = [c for c in changes if _moved(c)]
    return moved, len(after)


def _change(
    subject_id: str, name: str, before: SubjectResult | None, after: SubjectResult
) -> Change:
    """`before` is the snapshot's result, `after` the draft's fresh result."""
    return Change(
        subject_id=subject_id,
        name=name,
        total_before=before.total if before else None,
        total_after=after.total,
        tier_before=(before.tier_label or before.tier) if before else None,
        tier_after=after.tier_label or after.tier,
        ranks_before=_ranks(before) if before else {},
        ranks_after=_ranks(after),
    )


def _ranks(result: SubjectResult) -> dict[str, int]:
    return {scope.value: rank for scope, rank in result.ranks.items()}


def _moved(change: Change) -> bool:
    return (
        change.tier_before != change.tier_after
        or change.ranks_before != change.ranks_after
        or change.total_before != change.total_after
    )
