"""The member scheme in force at a unit, read along with another statement.

A member's score, home screen and claims need the scheme in force at the member's own unit,
which `schemes.in_force` reads with a statement of its own. The signed-in member's is read with
their principal instead (`with_member_scheme`), remembered for the request's session
(`remember_member_scheme`), and `in_force` answers from it (`remembered`).
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import FromClause, Select, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession

from api.models import OrgUnit, SchemeRecord
from api.reads import adopt, columns_of
from api.scoring.scheme import SubjectKind

_RECORD_END = len(columns_of(SchemeRecord))
# The scheme attached at the unit or nearest above it, and the unit that owns it.
_IN_FORCE = SchemeRecord.__table__.alias("in_force")  # type: ignore[attr-defined]
_IN_FORCE_OWNER = OrgUnit.__table__.alias("in_force_owner")  # type: ignore[attr-defined]
_CANDIDATE = SchemeRecord.__table__.alias("candidate")  # type: ignore[attr-defined]
_CANDIDATE_OWNER = OrgUnit.__table__.alias("candidate_owner")  # type: ignore[attr-defined]
# Remembered for the session by `remember_member_scheme`: (unit id, kind) → record and owner.
_KNOWN = "schemes.in_force"


def with_member_scheme(query: Select[Any], unit: FromClause) -> Select[Any]:
    """`query` (which reads the table `unit` of `OrgUnit`) with the columns of the member scheme
    in force at that unit and of its owner appended, NULL where none is: what
    `remember_member_scheme` takes."""
    nearest = (
        sa_select(_CANDIDATE.c.id)
        .join(_CANDIDATE_OWNER, _CANDIDATE_OWNER.c.id == _CANDIDATE.c.unit_id)
        .where(
            _CANDIDATE.c.subject_kind == SubjectKind.MEMBER.value,
            unit.c.path.startswith(_CANDIDATE_OWNER.c.path),
        )
        .order_by(func.length(_CANDIDATE_OWNER.c.path).desc())
        .limit(1)
        .correlate(unit)
        .scalar_subquery()
    )
    return (
        query.add_columns(*_IN_FORCE.c, *_IN_FORCE_OWNER.c)
        .outerjoin(_IN_FORCE, _IN_FORCE.c.id == nearest)
        .outerjoin(_IN_FORCE_OWNER, _IN_FORCE_OWNER.c.id == _IN_FORCE.c.unit_id)
    )


def remember_member_scheme(session: AsyncSession, unit: OrgUnit, values: Sequence[Any]) -> None:
    """The member scheme in force at `unit` as `with_member_scheme` read it (its columns'
    values): `in_force` answers from it for the rest of the session without a statement."""
    found = None
    if values[0] is not None:
        found = (
            adopt(session, SchemeRecord, values[:_RECORD_END]),
            adopt(session, OrgUnit, values[_RECORD_END:]),
        )
    remembered(session)[(unit.id, SubjectKind.MEMBER)] = found


def remembered(
    session: AsyncSession,
) -> dict[tuple[int | None, SubjectKind], tuple[SchemeRecord, OrgUnit] | None]:
    """What the session remembers of schemes in force: (unit id, kind) → record and owner,
    None where none is."""
    known: dict[tuple[int | None, SubjectKind], tuple[SchemeRecord, OrgUnit] | None]
    known = session.info.setdefault(_KNOWN, {})
    return known
