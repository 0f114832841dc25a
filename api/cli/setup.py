"""Setting a database up: the first committee and admin, the demo, the PostgreSQL roles."""

import asyncio
from typing import Annotated

import typer

from api.cli.running import USAGE, Maker, checked, run
from api.config import Settings, get_settings
from api.dbroles import DatabaseLogin, RoleSetupError, create_roles, role_statements
from api.models import Role, UnitKind
from api.schemas.labels import ROLE_LABELS
from api.schemas.org import FoundingIn
from api.scoring.presets import PRESETS
from api.services import bootstrap, demo

MINUTE = "%Y-%m-%d %H:%M"


def init(
    unit: Annotated[str, typer.Option(help="最上级组织的名称，如 红旗镇党委")],
    admin_name: Annotated[str, typer.Option(help="第一位党委管理员的姓名")],
    admin_phone: Annotated[str, typer.Option(help="第一位党委管理员的手机号")],
    kind: Annotated[
        UnitKind, typer.Option(help="组织类别：最上级须为 committee（党委、党工委、党总支）")
    ] = UnitKind.committee,
) -> None:
    """空数据库时：建立最上级组织及其第一位党委管理员，打印管理员的绑定邀请码（不需要 --as）。"""
    founding = checked(
        FoundingIn, unit_name=unit, kind=kind, admin_name=admin_name, admin_phone=admin_phone
    )

    async def found(maker: Maker, settings: Settings) -> bootstrap.Founded:
        async with maker() as session:
            founded = await bootstrap.found(session, settings, founding)
            await session.commit()
            return founded

    founded = run(found)
    expires = founded.invite.expires_at.astimezone(get_settings().zone).strftime(MINUTE)
    typer.echo(
        f"已建立「{founded.unit.name}」（组织编号 {founded.unit.id}）及其党委管理员"
        f" {founded.admin.name}（党员编号 {founded.admin.id}，手机号 {founded.admin.phone}）。"
    )
    typer.echo(f"管理员绑定邀请码：{founded.invite.code}（{expires} 前有效，仅可使用一次）")
    typer.echo(
        "请管理员打开小程序登录，按提示输入邀请码完成绑定；此后以其身份（--as 手机号）"
        "导入花名册、设置积分方案。"
    )


def seed_demo() -> None:
    """空数据库时载入演示数据（一个镇、3 个支部、21 名党员）并打印登录方式。"""

    async def load(maker: Maker, settings: Settings) -> list[tuple[int, int, str]] | None:
        async with maker() as session:
            if await demo.database_is_empty(session):
                await demo.load_demo(session)
                await session.commit()
                typer.echo("已载入演示数据：红旗镇党委，3 个支部，4 个党小组，21 名党员。")
            elif not await demo.demo_is_loaded(session):
                typer.echo("数据库已有其他数据，未载入演示数据。")
                return None
            return await demo.published_boards(session)

    boards = run(load)
    if boards is None:
        return
    settings = get_settings()
    _print_logins(settings.port, settings.dev_login_enabled)
    base = f"http://127.0.0.1:{settings.port}/api/v1"
    for period_id, unit_id, name in boards:
        typer.echo(f"上月公示榜（{name}）：GET {base}/periods/{period_id}/boards/{unit_id}")
        typer.echo(f"    排名海报：GET {base}/periods/{period_id}/boards/{unit_id}/poster.png")


def _print_logins(port: int, dev_login: bool) -> None:
    if not dev_login:
        typer.echo("开发登录未启用（ENV=prod 或配置了微信 AppID），请通过小程序登录。")
        return
    typer.echo("以任一角色登录（开发模式，无需微信）：")
    shown: set[Role | None] = set()
    for person in demo.PEOPLE:
        if person.role in shown:
            continue
        shown.add(person.role)
        label = ROLE_LABELS.get(person.role, "普通党员") if person.role else "普通党员"
        typer.echo(
            f"  {label:<6} {person.name}: curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/dev/login"
            f" -H 'Content-Type: application/json' -d '{{\"phone\": \"{person.phone}\"}}'"
        )
    typer.echo(f"所有演示账号：GET http://127.0.0.1:{port}/api/v1/auth/dev/accounts")
    typer.echo(f"PC 控制台：http://127.0.0.1:{port}/admin/（扫码登录，开发模式下也可选择演示账号）")
    typer.echo(f"接口文档：http://127.0.0.1:{port}/docs")


def db_roles(
    admin_url: Annotated[
        str | None, typer.Option(help="超级用户连接到本服务数据库的 URL", show_default=False)
    ] = None,
    print_sql: Annotated[bool, typer.Option("--print", help="只打印 SQL（含密码）")] = False,
) -> None:
    """创建 PostgreSQL 的两个角色：表的所有者（执行迁移）与服务使用的角色。"""
    if (admin_url is None) == (not print_sql):
        typer.echo("须给出 --admin-url 或 --print 之一", err=True)
        raise typer.Exit(USAGE)
    settings = get_settings()
    try:
        if not settings.migration_database_url:
            raise RoleSetupError("MIGRATION_DATABASE_URL must name the owner of the tables")
        owner = DatabaseLogin.of(settings.migration_database_url)
        app = DatabaseLogin.of(settings.database_url)
        if admin_url is None:
            typer.echo(";\n".join(role_statements(owner, app)) + ";")
            return
        asyncio.run(create_roles(admin_url, owner, app))
    except RoleSetupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(USAGE) from error
    typer.echo(f"已创建数据库角色：{owner.role}（表的所有者，执行迁移），{app.role}（服务使用）")


def presets() -> None:
    """列出内置的方案预设（attach-preset 使用其代号）。"""
    for scheme in PRESETS.values():
        typer.echo(f"{scheme.slug}\t{scheme.name}")
