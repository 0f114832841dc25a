"""The engine run over what the gateway read: a whole scope, or some members alone."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ScoringFailed
from api.models import Member, SchemeRecord, id_of
from api.scoring import (
    Period,
    RankedPeriod,
    Scheme,
    ScoringInputError,
    SubjectResult,
    rank_period,
)
from api.services.ledger import period_of
from api.services.periods.gateway import Inputs, load_inputs, member_inputs
from api.services.periods.offload import off_loop
from api.services.periods.scope import Scope


async def compute_off_loop(scheme: Scheme, period: Period, inputs: Inputs) -> list[SubjectResult]:
    """`compute` for a whole scope: CPU work of seconds in a county, so run in a thread; the
    event loop keeps serving the other requests of this process meanwhile."""
    return await off_loop(len(inputs.subjects), lambda: compute(scheme, period, inputs))


def compute(scheme: Scheme, period: Period, inputs: Inputs) -> list[SubjectResult]:
    """The engine over the inputs: the numbers and placement steps (no full derivation)."""
    return list(rank(scheme, period, inputs))


def rank(scheme: Scheme, period: Period, inputs: Inputs) -> RankedPeriod:
    """The engine up to the ranks (see `rank_period`); the results follow as it is iterated."""
    try:
        return rank_period(
            scheme,
            period,
            inputs.subjects,
            inputs.entries,
            inputs.evaluations,
            inputs.history,
            explain=False,
        )
    except ScoringInputError as exc:
        raise ScoringFailed(detail={"reason": str(exc)}) from exc


async def running_results(
    session: AsyncSession, scope: Scope, target: Period
) -> list[SubjectResult]:
    """Every subject's results so far in a period of the scope, ranked among them all."""
    row = await period_of(session, id_of(scope.record), target.key)
    inputs = await load_inputs(session, scope, target, row.id if row else None)
    return await compute_off_loop(scope.scheme, target, inputs)


async def standings(
    session: AsyncSession,
    record: SchemeRecord,
    scheme: Scheme,
    members: Sequence[Member],
    target: Period,
) -> dict[int, SubjectResult]:
    """Some members' results so far in a period, computed for them alone (no ranks).

    Used where numbers must be shown at once: the running total on a 告知卡, the points the
    committee sees while it evaluates.
    """
    period = await period_of(session, id_of(record), target.key)
    inputs = await member_inputs(
        session, record, scheme, target, members, period=period, ids=False, as_exempt=False
    )
    return {int(r.subject_id): r for r in compute(scheme, target, inputs)}
