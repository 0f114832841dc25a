"""The first committee and its first admin, on an empty database (`pioneer init`).

Nobody is signed in yet, so nobody's rights are checked: the operator at the command line
founds the organisation once. The admin gets a one-time invite code and binds through WeChat
like everyone else; from then on every change is made by a member, through the usual checks.
"""

from dataclasses import dataclass

from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from api.config import Settings
from api.errors import DatabaseNotEmpty, RootUnitKindInvalid
from api.models import (
    AuditAction,
    InviteCode,
    Member,
    OrgUnit,
    PoliticalStatus,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.schemas.org import FoundingIn
from api.security import new_invite_code
from api.services import audit
from api.services.org import add_unit


@dataclass(frozen=True)
class Founded:
    unit: OrgUnit
    admin: Member
    invite: InviteCode


async def found(session: AsyncSession, settings: Settings, founding: FoundingIn) -> Founded:
    """The root unit, its committee admin, and the admin's invite code; refused unless the
    database has no unit at all."""
    if founding.kind != UnitKind.committee:
        raise RootUnitKindInvalid()
    if session.get_bind().dialect.name == "postgresql":
        # Two operators founding at once: the second waits, then finds the first one's unit.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('pioneer init'))"))
    if await session.scalar(select(func.count()).select_from(OrgUnit)):
        raise DatabaseNotEmpty()
    unit = await add_unit(session, founding.kind, founding.unit_name)
    admin = Member(
        unit_id=id_of(unit),
        name=founding.admin_name,
        phone=founding.admin_phone,
        political_status=PoliticalStatus.FULL,
    )
    session.add(admin)
    await session.flush()
    session.add(
        RoleAssignment(member_id=id_of(admin), unit_id=id_of(unit), role=Role.committee_admin)
    )
    invite = InviteCode(
        code=new_invite_code(),
        member_id=id_of(admin),
        issued_by=None,
        expires_at=utcnow() + settings.invite_code_ttl,
    )
    session.add(invite)
    audit.record(
        session,
        actor_id=None,
        action=AuditAction.organisation_founded,
        target_type="org_unit",
        target_id=id_of(unit),
        unit_path=unit.path,
        member_id=id_of(admin),
        data={"name": unit.name, "admin_name": admin.name},
    )
    await session.flush()
    return Founded(unit, admin, invite)
