"""A period's scope (the scheme in force and the unit that owns it) and its engine period."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Action, Principal
from api.errors import PeriodNotFound
from api.models import OrgUnit, PeriodRecord, SchemeRecord
from api.scoring import Period, Scheme, period_containing, period_from_key, period_of_key
from api.scoring.scheme import PeriodLength
from api.services.schemes import current_scheme


@dataclass(frozen=True)
class Scope:
    """A scheme in force over the subtree of its owner unit."""

    record: SchemeRecord
    owner: OrgUnit
    scheme: Scheme
    version_id: int


async def scope_of(session: AsyncSession, record: SchemeRecord) -> Scope:
    owner = await session.get(OrgUnit, record.unit_id)
    assert owner is not None
    version_id, scheme = await current_scheme(session, record)
    return Scope(record, owner, scheme, version_id)


def engine_period(scheme: Scheme, period: PeriodRecord) -> Period:
    """A stored period as the engine's: of the scheme's length, or, for a period kept from
    before the scheme changed its length, of the length its key is written in."""
    try:
        return period_from_key(PeriodLength(scheme.period), period.key)
    except ValueError:
        return period_of_key(period.key)


def current_period(scheme: Scheme, today: date) -> Period:
    return period_containing(PeriodLength(scheme.period), today)


async def period_for(
    session: AsyncSession, principal: Principal, period_id: int, action: Action
) -> tuple[PeriodRecord, Scope]:
    """The period and its scope, if the principal sees the scheme's owner and, for anything
    but reading results (which `results_visible` decides), may take `action` there."""
    period = await session.get(PeriodRecord, period_id)
    if period is None:
        raise PeriodNotFound()
    record = await session.get(SchemeRecord, period.scheme_id)
    assert record is not None
    scope = await scope_of(session, record)
    if not principal.sees(scope.owner.path):
        raise PeriodNotFound()
    if action != Action.read_results:
        principal.require(action, scope.owner.path)
    return period, scope
