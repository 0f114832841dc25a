"""The signed-in member, members within scope, invite codes."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.access import Action
from api.db import SessionDep
from api.deps import CurrentPrincipal, PageDep, SettingsDep
from api.models import MemberStatus
from api.schemas.common import Page
from api.schemas.members import InviteCodeOut, MemberPublic, MemberUpdate, MeOut, RoleOut
from api.services import members as service
from api.services.org import unit_for

router = APIRouter(tags=["members"])


@router.get("/me", summary="当前登录党员及其职务")
async def me(principal: CurrentPrincipal, session: SessionDep) -> MeOut:
    member = await service.member_for(session, principal, principal.member_id, Action.read_members)
    roles = await service.roles_of(session, principal.member_id)
    return MeOut(
        member=MemberPublic.model_validate(member),
        roles=[RoleOut.model_validate(r) for r in roles],
    )


@router.get("/org/units/{unit_id}/members", summary="组织（含下级）的党员名单")
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


@router.get("/members/{member_id}", summary="党员详情（本人或管辖范围内）")
async def get_member(
    member_id: int, principal: CurrentPrincipal, session: SessionDep
) -> MemberPublic:
    member = await service.member_for(session, principal, member_id, Action.read_members)
    return MemberPublic.model_validate(member)


@router.patch("/members/{member_id}", summary="修改党员信息、免评或组织关系转出")
async def update_member(
    member_id: int, body: MemberUpdate, principal: CurrentPrincipal, session: SessionDep
) -> MemberPublic:
    member = await service.update_member(session, principal, member_id, body)
    return MemberPublic.model_validate(member)


@router.post(
    "/members/{member_id}/invite-codes",
    status_code=201,
    summary="为党员生成一次性绑定邀请码",
)
async def issue_invite(
    member_id: int, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> InviteCodeOut:
    invite = await service.issue_invite(session, principal, settings, member_id)
    return InviteCodeOut(code=invite.code, member_id=invite.member_id, expires_at=invite.expires_at)
