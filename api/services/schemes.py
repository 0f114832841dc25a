"""Schemes: attach a preset or a custom definition to a unit, version it, find the one in force."""

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.errors import (
    Forbidden,
    NotABranch,
    PresetNotFound,
    SchemeExists,
    SchemeInvalid,
    SchemeNotFound,
    SchemePeriodLocked,
    SubjectKindMismatch,
    UnitCategoryInvalid,
    UnitNotFound,
)
from api.models import (
    AuditAction,
    EvaluationRound,
    Member,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    SchemeRecord,
    SchemeVersion,
    UnitKind,
    id_of,
)
from api.reads import Read, adopt, columns_of
from api.scoring import Scheme, period_from_key
from api.scoring.presets import PRESETS
from api.scoring.scheme import PeriodLength, SubjectKind
from api.services import audit
from api.services.in_force import remembered
from api.services.org import unit_for
from api.validation import describe_scheme


def parse_scheme(definition: dict[str, Any]) -> Scheme:
    """Validate a definition; every problem comes back with the field it concerns."""
    try:
        return Scheme.model_validate(definition)
    except ValidationError as exc:
        raise SchemeInvalid(detail=[describe_scheme(error) for error in exc.errors()]) from exc


def preset(slug: str) -> Scheme:
    scheme = PRESETS.get(slug)
    if scheme is None:
        raise PresetNotFound()
    return scheme


async def attach(
    session: AsyncSession, unit: OrgUnit, scheme: Scheme, actor_id: int | None
) -> tuple[SchemeRecord, SchemeVersion]:
    taken = await session.scalar(
        select(SchemeRecord.id).where(
            col(SchemeRecord.unit_id) == unit.id,
            col(SchemeRecord.subject_kind) == scheme.subject_kind,
        )
    )
    if taken is not None:
        raise SchemeExists()
    record = SchemeRecord(unit_id=id_of(unit), subject_kind=scheme.subject_kind, current_version=0)
    session.add(record)
    await session.flush()
    return record, await add_version(session, record, unit, scheme, actor_id)


async def add_version(
    session: AsyncSession,
    record: SchemeRecord,
    owner: OrgUnit,
    scheme: Scheme,
    actor_id: int | None,
) -> SchemeVersion:
    """Store `scheme` as the next version of `owner`'s record; earlier versions stay as they
    were."""
    number = record.current_version + 1
    definition = scheme.model_copy(update={"version": number}).model_dump(mode="json")
    version = SchemeVersion(
        scheme_id=id_of(record), version=number, definition=definition, created_by=actor_id
    )
    record.current_version = number
    session.add(version)
    audit.record(
        session,
        actor_id=actor_id,
        action=AuditAction.scheme_version,
        target_type="scheme",
        target_id=id_of(record),
        unit_path=owner.path,
        data={"version": number, "slug": scheme.slug},
    )
    await session.flush()
    return version


_PARSED: dict[tuple[int, int, datetime], Scheme] = {}


def scheme_of(version: SchemeVersion) -> Scheme:
    """A stored version's scheme, validated once per process (versions never change)."""
    key = (id_of(version), version.scheme_id, version.created_at)
    scheme = _PARSED.get(key)
    if scheme is None:
        if len(_PARSED) > 256:
            _PARSED.clear()
        scheme = _PARSED[key] = parse_scheme(version.definition)
    return scheme


_CURRENT: dict[tuple[int, int, datetime], tuple[int, Scheme]] = {}


async def current_scheme(session: AsyncSession, record: SchemeRecord) -> tuple[int, Scheme]:
    """The id and scheme of the record's current version, read once per process and version.

    A revision makes a new version (and a new key); a version itself never changes, so every
    request after the first skips reading and validating its definition.
    """
    key = (id_of(record), record.current_version, record.created_at)
    found = _CURRENT.get(key)
    if found is None:
        if len(_CURRENT) > 256:
            _CURRENT.clear()
        version = await current_version(session, record)
        found = _CURRENT[key] = (id_of(version), scheme_of(version))
    return found


async def current_version(session: AsyncSession, record: SchemeRecord) -> SchemeVersion:
    version = await session.scalar(
        select(SchemeVersion).where(
            col(SchemeVersion.scheme_id) == record.id,
            col(SchemeVersion.version) == record.current_version,
        )
    )
    if version is None:
        raise SchemeNotFound()
    return version


# Built once (every claim and score request looks its scheme up); only the values change.
_RECORD_END = len(columns_of(SchemeRecord))
_OWNER_PATH = _RECORD_END + [c.key for c in columns_of(OrgUnit)].index("path")
_SCHEMES_OF_UNITS = Read(
    sa_select(*columns_of(SchemeRecord), *columns_of(OrgUnit))
    .join(OrgUnit, col(OrgUnit.id) == col(SchemeRecord.unit_id))
    .where(
        col(SchemeRecord.unit_id).in_(bindparam("units", expanding=True)),
        col(SchemeRecord.subject_kind) == bindparam("kind"),
    )
)


async def in_force(
    session: AsyncSession, unit: OrgUnit, subject_kind: SubjectKind
) -> tuple[SchemeRecord, OrgUnit]:
    """The scheme of `unit` or of its nearest ancestor that has one, with the owning unit."""
    if (unit.id, subject_kind) in (known := remembered(session)):
        found = known[(unit.id, subject_kind)]
        if found is None:
            raise SchemeNotFound()
        return found
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/")]
    rows = await _SCHEMES_OF_UNITS.all(session, {"units": ancestor_ids, "kind": subject_kind})
    if not rows:
        raise SchemeNotFound()
    nearest = max(rows, key=lambda row: len(row[_OWNER_PATH]))
    return adopt(session, SchemeRecord, nearest[:_RECORD_END]), adopt(
        session, OrgUnit, nearest[_RECORD_END:]
    )


# --- use cases ---------------------------------------------------------------------------------


async def set_unit_category(
    session: AsyncSession, principal: Principal, unit_id: int, *, category: str | None
) -> OrgUnit:
    """A unit's category, set by an admin above it and checked against the scheme in force.

    A branch is scored by the branch scheme in force over it, which lists the categories its
    rules know (成庄矿: the secretary's assessed pay by category); a category outside that
    list would silently score nothing, so it is refused. Clearing one is always allowed.
    """
    unit = await unit_for(session, principal, unit_id, Action.read_org)
    parent = await session.get(OrgUnit, unit.parent_id) if unit.parent_id is not None else None
    if parent is None or not principal.can(Action.manage_org, parent.path):
        raise Forbidden()
    if unit.kind != UnitKind.branch:
        raise NotABranch()
    if category is not None:
        record, _ = await in_force(session, unit, SubjectKind.BRANCH)
        _, scheme = await current_scheme(session, record)
        if category not in scheme.categories:
            raise UnitCategoryInvalid(detail={"categories": list(scheme.categories)})
    before, unit.category = unit.category, category
    audit.record(
        session,
        actor_id=principal.member_id,
        action=AuditAction.unit_category,
        target_type="org_unit",
        target_id=id_of(unit),
        unit_path=unit.path,
        data={"from": before, "to": category},
    )
    await session.flush()
    return unit


def from_request(preset_slug: str | None, definition: dict[str, Any] | None) -> Scheme:
    if preset_slug is not None:
        return preset(preset_slug)
    assert definition is not None
    return parse_scheme(definition)


async def attach_to_unit(
    session: AsyncSession, principal: Principal, unit_id: int, scheme: Scheme
) -> tuple[SchemeRecord, SchemeVersion]:
    unit = await unit_for(session, principal, unit_id, Action.manage_schemes)
    return await attach(session, unit, scheme, principal.member_id)


async def scheme_for(
    session: AsyncSession, principal: Principal, scheme_id: int, action: Action
) -> tuple[SchemeRecord, OrgUnit]:
    record = await session.get(SchemeRecord, scheme_id)
    owner = await session.get(OrgUnit, record.unit_id) if record else None
    if record is None or owner is None or not principal.sees(owner.path):
        raise SchemeNotFound()
    if action != Action.read_org:
        principal.require(action, owner.path)
    return record, owner


async def revise(
    session: AsyncSession, principal: Principal, scheme_id: int, scheme: Scheme
) -> tuple[SchemeRecord, SchemeVersion]:
    """A new version; periods already closed keep the version they were closed with.

    The period length changes only while no period of the scheme is open: an open period's
    key, entries and close are cut by the length it was opened with.
    """
    record, owner = await scheme_for(session, principal, scheme_id, Action.manage_schemes)
    if scheme.subject_kind != record.subject_kind:
        raise SubjectKindMismatch()
    length = (await current_scheme(session, record))[1].period
    if scheme.period != length:
        open_keys = await _unsettled_periods(session, record, length)
        if open_keys:
            raise SchemePeriodLocked(detail={"open_periods": open_keys})
    return record, await add_version(session, record, owner, scheme, principal.member_id)


async def _unsettled_periods(
    session: AsyncSession, record: SchemeRecord, length: PeriodLength
) -> list[str]:
    """The scheme's periods not closed yet: those open, and those an evaluation round rates
    (a round's ratings count in its period's close, a period of the scheme's `length`)."""
    of_scheme = col(PeriodRecord.scheme_id) == record.id
    opened = await session.scalars(
        select(PeriodRecord.key)
        .where(of_scheme, col(PeriodRecord.status) == PeriodStatus.open)
        .order_by(col(PeriodRecord.starts_at))
    )
    settled = select(PeriodRecord.key).where(
        of_scheme, col(PeriodRecord.status) != PeriodStatus.open
    )
    rated = await session.scalars(
        select(EvaluationRound.period_key)
        .where(
            col(EvaluationRound.scheme_id) == record.id,
            col(EvaluationRound.period_key).not_in(settled),
        )
        .order_by(col(EvaluationRound.period_key))
    )
    return list(dict.fromkeys([*opened, *(key for key in rated if _is_period(length, key))]))


def _is_period(length: PeriodLength, key: str) -> bool:
    try:
        period_from_key(length, key)
    except ValueError:
        return False
    return True


async def in_force_for(
    session: AsyncSession, principal: Principal, unit_id: int, subject_kind: SubjectKind
) -> tuple[SchemeRecord, SchemeVersion]:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
    record, _ = await in_force(session, unit, subject_kind)
    return record, await current_version(session, record)


async def all_in_force_for(
    session: AsyncSession, principal: Principal, unit_id: int
) -> list[tuple[SchemeRecord, SchemeVersion]]:
    """The schemes in force at a unit, one per subject kind that has one."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
    found = []
    for subject_kind in SubjectKind:
        try:
            record, _ = await in_force(session, unit, subject_kind)
        except SchemeNotFound:
            continue
        found.append((record, await current_version(session, record)))
    return found


async def versions_of(
    session: AsyncSession, principal: Principal, scheme_id: int
) -> list[tuple[SchemeVersion, str | None]]:
    """Every version of a scheme, newest first, with who adopted it."""
    record, _ = await scheme_for(session, principal, scheme_id, Action.read_org)
    rows = await session.execute(
        select(SchemeVersion, Member.name)
        .outerjoin(Member, col(Member.id) == col(SchemeVersion.created_by))
        .where(col(SchemeVersion.scheme_id) == record.id)
        .order_by(col(SchemeVersion.version).desc())
    )
    return [(version, name) for version, name in rows]


async def periods_of(
    session: AsyncSession, principal: Principal, scheme_id: int
) -> list[PeriodRecord]:
    record, _ = await scheme_for(session, principal, scheme_id, Action.read_org)
    rows = await session.scalars(
        select(PeriodRecord)
        .where(col(PeriodRecord.scheme_id) == record.id)
        .order_by(col(PeriodRecord.starts_at).desc())
    )
    return list(rows)
