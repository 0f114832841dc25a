"""Who holds which role (list, grant, revoke, hand over), invite codes, the audit log."""

from datetime import datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Principal
from api.cli.running import Operator, as_operator, checked, member_id, member_ref
from api.config import Settings, get_settings
from api.deps import PageParams
from api.models import AuditAction, InviteCode, Role, RoleAssignment
from api.schemas.labels import AUDIT_ACTION_LABELS, ROLE_LABELS
from api.schemas.org import AuditQuery, HandOverIn, RevokeIn, RoleAssign
from api.services import members, org
from api.services.audit import AuditEntry

roles = typer.Typer(help="职务：谁担任什么职务、任命、免去、交接", no_args_is_help=True)

Member = Annotated[str, typer.Option(help="党员编号或手机号", show_default=False)]
Reason = Annotated[str | None, typer.Option(help="原因（记入操作日志）", show_default=False)]


@roles.command("list")
def list_roles(
    unit: Annotated[int, typer.Option(help="组织编号（含其下级）")],
    operator: Operator,
    role: Annotated[Role | None, typer.Option(help="只看这一职务", show_default=False)] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    size: Annotated[int, typer.Option(min=1, max=100)] = 50,
) -> None:
    """组织及其下级中谁担任什么职务（职务记录编号用于免职、交接）。"""

    async def work(
        session: AsyncSession, principal: Principal, _: Settings
    ) -> tuple[list[org.RoleHolder], int]:
        params = PageParams(page=page, size=size)
        return await org.role_holders(session, principal, unit, role=role, page=params)

    holders, total = as_operator(operator, work)
    for holder in holders:
        a = holder.assignment
        typer.echo(
            f"{a.id}\t{ROLE_LABELS[Role(a.role)]}\t{holder.unit_name}（{a.unit_id}）"
            f"\t{holder.member_name}（{a.member_id}）"
        )
    typer.echo(f"共 {total} 项，第 {page} 页")


@roles.command("grant")
def grant(
    unit: Annotated[int, typer.Option(help="任职的组织编号")],
    member: Member,
    role: Annotated[Role, typer.Option(help="职务")],
    operator: Operator,
    reason: Reason = None,
) -> None:
    """任命职务（已担任的不重复任命）。"""
    ref = member_ref(member)

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> RoleAssignment:
        body = checked(
            RoleAssign, member_id=await member_id(session, ref), role=role, reason=reason
        )
        return await org.assign_role(
            session,
            principal,
            unit_id=unit,
            member_id=body.member_id,
            role=body.role,
            reason=body.reason,
        )

    done = as_operator(operator, work)
    typer.echo(f"已任命：职务记录 {done.id}，党员 {done.member_id}，{ROLE_LABELS[Role(done.role)]}")


@roles.command("revoke")
def revoke(
    assignment: Annotated[int, typer.Argument(help="职务记录编号（roles list 列出）")],
    operator: Operator,
    reason: Reason = None,
) -> None:
    """免去职务。"""
    body = checked(RevokeIn, reason=reason)

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> None:
        await org.revoke_role(session, principal, assignment_id=assignment, reason=body.reason)

    as_operator(operator, work)
    typer.echo(f"已免去职务记录 {assignment}")


@roles.command("handover")
def hand_over(
    assignment: Annotated[int, typer.Argument(help="原任者的职务记录编号（roles list 列出）")],
    to: Annotated[str, typer.Option(help="接任党员的编号或手机号", show_default=False)],
    reason: Annotated[str, typer.Option(help="交接的原因（记入操作日志）", show_default=False)],
    operator: Operator,
) -> None:
    """职务交接：一步免去原任者的职务并任命接任者（如更换支部书记）。"""
    ref = member_ref(to)

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> RoleAssignment:
        body = checked(HandOverIn, member_id=await member_id(session, ref), reason=reason)
        return await org.hand_over(
            session,
            principal,
            assignment_id=assignment,
            member_id=body.member_id,
            reason=body.reason,
        )

    done = as_operator(operator, work)
    typer.echo(
        f"已交接：{ROLE_LABELS[Role(done.role)]}由党员 {done.member_id} 接任（职务记录 {done.id}）"
    )


def invite(member: Member, operator: Operator) -> None:
    """为党员生成一次性绑定邀请码。"""
    ref = member_ref(member)

    async def work(session: AsyncSession, principal: Principal, settings: Settings) -> InviteCode:
        target = await member_id(session, ref)
        return await members.issue_invite(session, principal, settings, target)

    code = as_operator(operator, work)
    expires = code.expires_at.astimezone(get_settings().zone)
    typer.echo(f"邀请码：{code.code}（党员 {code.member_id}，{expires:%Y-%m-%d %H:%M} 前有效）")


def audit(
    unit: Annotated[int, typer.Option(help="组织编号（含其下级）")],
    operator: Operator,
    action: Annotated[
        AuditAction | None, typer.Option(help="只看这一操作", show_default=False)
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="只看这位操作人（编号或手机号）", show_default=False)
    ] = None,
    member: Annotated[
        str | None, typer.Option(help="只看对这位党员的操作（编号或手机号）", show_default=False)
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="起始时间（含），如 2026-12-01 或 2026-12-01T08:00（北京时间）", show_default=False
        ),
    ] = None,
    until: Annotated[str | None, typer.Option(help="结束时间（不含）", show_default=False)] = None,
    before: Annotated[
        int | None, typer.Option(help="翻页：上一页末尾给出的编号", show_default=False)
    ] = None,
    size: Annotated[int, typer.Option(min=1, max=100)] = 50,
) -> None:
    """操作日志：谁在何时对谁做了什么、原因（新的在前）。"""
    actor_ref = member_ref(actor) if actor else None
    member_ref_ = member_ref(member) if member else None

    async def work(
        session: AsyncSession, principal: Principal, _: Settings
    ) -> tuple[list[AuditEntry], int | None]:
        query = checked(
            AuditQuery,
            action=action,
            actor_id=await member_id(session, actor_ref) if actor_ref is not None else None,
            member_id=await member_id(session, member_ref_) if member_ref_ is not None else None,
            since=_moment(since),
            until=_moment(until),
            before=before,
            size=size,
        )
        return await org.audit_log(session, principal, unit, query=query)

    entries, cursor = as_operator(operator, work)
    for entry in entries:
        typer.echo(_line(entry))
    if cursor is not None:
        typer.echo(f"还有更早的记录：加 --before {cursor}")


def _moment(text: str | None) -> datetime | str | None:
    """A time given without a zone is in the service's zone (Asia/Shanghai); what is not a
    time at all is left for the check to refuse."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return moment if moment.tzinfo else moment.replace(tzinfo=get_settings().zone)


def _line(entry: AuditEntry) -> str:
    row = entry.row
    actor = f"{entry.actor_name}（{row.actor_id}）" if row.actor_id is not None else "初始化命令"
    whom = f" 对 {entry.member_name}（{row.member_id}）" if row.member_id is not None else ""
    where = f" 于 {entry.unit_name}" if entry.unit_name else ""
    why = f" 原因：{row.reason}" if row.reason else ""
    label = AUDIT_ACTION_LABELS[AuditAction(row.action)]
    at = row.created_at.astimezone(get_settings().zone)
    return f"{row.id}\t{at:%Y-%m-%d %H:%M:%S}\t{actor}{whom}{where} {label}{why}"
