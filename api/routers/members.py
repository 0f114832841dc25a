"""The signed-in member, members within scope, invite codes."""

from typing import TYPE_CHECKING, Annotated

from fastapi import Query

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, SettingsDep
from api.models import MemberStatus, Role, UnitKind, id_of
from api.routers import DomainRouter
from api.schemas.common import Page
from api.schemas.members import (
    CapabilityOut,
    InviteCodeOut,
    MemberPublic,
    MemberUpdate,
    MeOut,
    MyRoleOut,
    UnitRef,
)
from api.services import members as service
from api.services.org import unit_for

if TYPE_CHECKING:
    from api.models import OrgUnit

router = DomainRouter(tags=["党员"])


@router.get(
    "/me",
    summary="当前登录党员：所在组织（小组、支部）、职务及可以做的事",
    description="当前登录党员的基本信息、所在组织（小组、支部）、担任的职务和可以做的事，小程序首页和控制台启动时读取。",
)
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    me = await service.profile(session, principal)
    return MeOut(
        member=MemberPublic.model_validate(me.member),
        unit=_ref(me.unit),
        group=_ref(me.group) if me.group else None,
        branch=_ref(me.branch) if me.branch else None,
        roles=[
            MyRoleOut(
                id=id_of(r),
                member_id=r.member_id,
                unit_id=r.unit_id,
                role=Role(r.role),
                unit_name=name,
            )
            for r, name in me.roles
        ],
        can=[CapabilityOut(action=action, unit_ids=ids) for action, ids in me.can.items()],
    )


def _ref(unit: "OrgUnit") -> UnitRef:
    return UnitRef(id=id_of(unit), name=unit.name, kind=UnitKind(unit.kind))


@router.get(
    "/org/units/{unit_id}/members",
    summary="组织（含下级）的党员名单",
    description="组织及其下级组织的在册党员；只能查看管辖范围内的组织。",
)
async def list_members(
    unit_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[MemberStatus | None, Query(description="按在册状态筛选")] = None,
    category: Annotated[str | None, Query(max_length=16, description="按类别筛选")] = None,
    q: Annotated[
        str | None, Query(max_length=50, description="按姓名（包含）或手机号（开头）查找")
    ] = None,
) -> Page[MemberPublic]:
    unit = await unit_for(session, principal, unit_id, Action.read_members)
    members, total = await service.list_members(
        session, principal, unit, page, status=status, category=category, search=q
    )
    return Page.of([MemberPublic.model_validate(m) for m in members], total, page)


@router.get(
    "/members/{member_id}",
    summary="党员详情（本人或管辖范围内）",
    description="党员的基本信息；本人可看自己，支委及以上可看管辖范围内的党员。",
)
async def get_member(
    member_id: int, principal: CurrentPrincipal, session: SessionDep
) -> MemberPublic:
    member = await service.member_for(session, principal, member_id, Action.read_members)
    return MemberPublic.model_validate(member)


@router.patch(
    "/members/{member_id}",
    summary="修改党员信息、免评或组织关系转出",
    description="修改姓名、政治面貌、类别、免于评分，调入管辖范围内的其他组织，或登记组织关系转出（转出后不能再登录）。不能修改本人或职务不低于自己的党员。",
)
async def update_member(
    member_id: int, body: MemberUpdate, principal: CurrentPrincipal, session: SessionDep
) -> MemberPublic:
    member = await service.update_member(session, principal, member_id, body)
    return MemberPublic.model_validate(member)


@router.post(
    "/members/{member_id}/invite-codes",
    status_code=201,
    summary="为党员生成一次性绑定邀请码",
    description="为花名册中的党员生成一次性邀请码，党员在小程序中输入后完成绑定。",
)
async def issue_invite(
    member_id: int, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> InviteCodeOut:
    invite = await service.issue_invite(session, principal, settings, member_id)
    return InviteCodeOut(code=invite.code, member_id=invite.member_id, expires_at=invite.expires_at)
