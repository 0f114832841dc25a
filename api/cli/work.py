"""Admin jobs: roster import, schemes, periods, dead letters, live ranks."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from api.access import Action, Principal
from api.cli.running import (
    REFUSED,
    Maker,
    Operator,
    as_operator,
    checked,
    progress,
    run,
)
from api.config import Settings
from api.models import PeriodRecord, SchemeRecord, SchemeVersion, utcnow
from api.schemas.periods import CloseIn, ReopenIn
from api.schemas.roster import GroupRef, RosterImportOut, RosterPreviewOut
from api.services import auth, periods, publication, roster, schemes, templates
from api.services.org import unit_for

period = typer.Typer(help="考核期：结算、公示、重新打开", no_args_is_help=True)


def import_roster(
    file: Annotated[Path, typer.Argument(help="花名册 .xlsx", exists=True, dir_okay=False)],
    unit: Annotated[int, typer.Option(help="导入到哪个组织（含下级）")],
    operator: Operator,
    commit: Annotated[
        bool, typer.Option(help="预览无误后导入（默认只预览，不改动任何数据）")
    ] = False,
    confirm_renames: Annotated[bool, typer.Option(help="确认预览中的全部改名")] = False,
    confirm_new_groups: Annotated[bool, typer.Option(help="确认预览中的全部新建党小组")] = False,
) -> None:
    """从 Excel 导入花名册：先预览将发生的全部变化；加 --commit 才导入（全部正确才导入）。"""
    content = file.read_bytes()

    async def work(
        session: AsyncSession, principal: Principal, _: Settings
    ) -> tuple[RosterPreviewOut, RosterImportOut | None]:
        root = await unit_for(session, principal, unit, Action.import_roster)
        with Console(stderr=True).status("正在检查花名册…"):
            preview = await roster.preview_roster(session, principal, root=root, content=content)
        _print_preview(preview)
        if preview.id is None or not commit:
            return preview, None
        with Console(stderr=True).status("正在导入…"):
            done = await roster.commit_preview(
                session,
                principal,
                preview_id=preview.id,
                confirm_renames=[r.member_id for r in preview.renamed] if confirm_renames else [],
                confirm_new_groups=[
                    GroupRef(branch_id=g.branch_id, name=g.name) for g in preview.new_groups
                ]
                if confirm_new_groups
                else [],
            )
        return preview, done

    preview, done = as_operator(operator, work)
    if preview.id is None:
        raise typer.Exit(REFUSED)
    if done is None:
        typer.echo("以上为预览，未导入任何数据；确认无误后加 --commit 导入。")
        return
    typer.echo(
        f"导入完成：新增 {done.created} 人，更新 {done.updated} 人（改名 {done.renamed} 人，"
        f"调整组织 {done.moved} 人），新建党小组 {done.units_created} 个，"
        f"任命职务 {done.roles_granted} 项，免去职务 {done.roles_revoked} 项"
    )


def _print_preview(preview: RosterPreviewOut) -> None:
    for error in preview.errors:
        typer.echo(f"  第 {error.row} 行 {error.column or ''}：{error.reason}", err=True)
    if preview.errors:
        rows = len({error.row for error in preview.errors})
        typer.echo(f"花名册有 {rows} 行错误，未导入任何数据", err=True)
        return
    typer.echo(f"共 {preview.rows} 行：新增 {len(preview.created)} 人")
    for renamed in preview.renamed:
        names = f"{renamed.name_before} → {renamed.name}"
        typer.echo(f"  改名（须 --confirm-renames）：第 {renamed.row} 行 {names}")
    for moved in preview.moved:
        typer.echo(
            f"  调整组织：第 {moved.row} 行 {moved.name}：{moved.unit_before} → {moved.unit}"
        )
    for change in preview.changed:
        typer.echo(
            f"  {change.column}：第 {change.row} 行 {change.name}：{change.before} → {change.after}"
        )
    for role in preview.role_changes:
        verb = "任命" if role.granted else "免去"
        typer.echo(f"  {verb}：第 {role.row} 行 {role.name} {role.role_label}（{role.unit}）")
    for group in preview.new_groups:
        typer.echo(f"  新建党小组（须 --confirm-new-groups）：{group.branch} / {group.name}")
    if preview.missing_total:
        typer.echo(f"  表中支部里另有 {preview.missing_total} 名在册党员不在表中（不会删除）")


def attach_preset(
    unit: Annotated[int, typer.Option(help="组织编号：其下级沿用该方案，除非另设")],
    preset: Annotated[str, typer.Option(help="方案预设的代号（pioneer presets 列出）")],
    operator: Operator,
) -> None:
    """为组织设置积分方案（内置预设）。"""

    async def work(
        session: AsyncSession, principal: Principal, _: Settings
    ) -> tuple[SchemeRecord, SchemeVersion]:
        return await schemes.attach_to_unit(session, principal, unit, schemes.preset(preset))

    record, version = as_operator(operator, work)
    typer.echo(f"已设置积分方案：方案编号 {record.id}，第 {version.version} 版（{preset}）")


@period.command("close")
def close(
    period_id: Annotated[int, typer.Argument(help="考核期编号")],
    operator: Operator,
    force: Annotated[
        bool, typer.Option(help="确认结算：提前结算或仍有待处理的申报、申诉时必须，并填原因")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="确认结算的原因", show_default=False)] = None,
) -> None:
    """结算考核期（生成不可更改的结果快照）。"""
    body = checked(CloseIn, force=force, reason=reason)

    async def work(
        session: AsyncSession, principal: Principal, _: Settings
    ) -> tuple[PeriodRecord, int]:
        confirmed = body.reason if body.force else None
        return await periods.close(session, principal, period_id, reason=confirmed)

    closed, subjects = as_operator(operator, work)
    typer.echo(f"已结算 {closed.key}（第 {closed.close_count} 次结算，{subjects} 个考核对象）")


@period.command("publish")
def publish(
    period_id: Annotated[int, typer.Argument(help="考核期编号")], operator: Operator
) -> None:
    """公示已结算的考核结果（通知每位党员，向支部群推送）。"""

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> PeriodRecord:
        return await publication.publish(session, principal, period_id)

    published = as_operator(operator, work)
    typer.echo(f"已公示 {published.key}")


@period.command("reopen")
def reopen(
    period_id: Annotated[int, typer.Argument(help="考核期编号")],
    reason: Annotated[str, typer.Option(help="重新打开的原因", show_default=False)],
    operator: Operator,
) -> None:
    """重新打开已结算或已公示的考核期（党委管理员；已公示的撤回公示并通知党员）。"""
    body = checked(ReopenIn, reason=reason)

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> PeriodRecord:
        return await periods.reopen(session, principal, period_id, body.reason)

    reopened = as_operator(operator, work)
    typer.echo(f"已重新打开 {reopened.key}")


def resend_dead(
    operator: Operator,
    delivery: Annotated[
        list[int] | None,
        typer.Option("--id", help="只重发这些投递（可多次给出）；默认重发管辖范围内的全部死信"),
    ] = None,
) -> None:
    """重新投递已放弃的通知（死信）：交由 worker 按原渠道重新发送。"""

    async def work(session: AsyncSession, principal: Principal, _: Settings) -> int:
        wanted = delivery or await templates.dead_letter_ids(session, principal)
        for delivery_id in progress(wanted, "重新投递", total=len(wanted)):
            await templates.retry(session, principal, delivery_id)
        return len(wanted)

    count = as_operator(operator, work)
    typer.echo(f"已重新排队投递 {count} 条通知")


def rebuild_ranks(operator: Operator) -> None:
    """立即重算管辖范围内各积分方案本期的实时排名（worker 每分钟也会重算），每个方案单独提交。"""

    async def work(maker: Maker, settings: Settings) -> tuple[int, list[int]]:
        async with maker() as session:
            principal = await auth.operator(session, operator)
            scheme_ids = await periods.schemes_to_rank(session, principal)
        failed = []
        now = utcnow()
        for scheme_id in progress(scheme_ids, "重算排名", total=len(scheme_ids)):
            try:
                async with maker() as session:
                    await periods.refresh_scheme(session, scheme_id=scheme_id, now=now)
                    await session.commit()
            except Exception as exc:  # one scheme failing leaves the others ranked
                typer.echo(f"方案 {scheme_id} 重算失败：{exc}", err=True)
                failed.append(scheme_id)
        return len(scheme_ids), failed

    total, failed = run(work)
    typer.echo(f"已重算 {total - len(failed)} 个方案的实时排名")
    if failed:
        raise typer.Exit(REFUSED)
