"""Command line: `pioneer seed-demo`, `pioneer import-roster FILE --unit ID [--commit]` and
`pioneer db-roles --admin-url URL` (or `--print`)."""

import argparse
import asyncio
import sys
from pathlib import Path

from api.config import get_settings
from api.db import create_engine, create_sessionmaker
from api.dbroles import DatabaseLogin, RoleSetupError, create_roles, role_statements
from api.errors import AppError
from api.models import OrgUnit, Role
from api.schemas.labels import ROLE_LABELS
from api.schemas.roster import GroupRef, RosterPreviewOut
from api.services import demo, roster


async def seed_demo() -> int:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            if await demo.database_is_empty(session):
                await demo.load_demo(session)
                await session.commit()
                print("已载入演示数据：红旗镇党委，3 个支部，4 个党小组，21 名党员。")
            elif not await demo.demo_is_loaded(session):
                print("数据库已有其他数据，未载入演示数据。")
                return 0
            boards = await demo.published_boards(session)
    finally:
        await engine.dispose()
    _print_logins(settings.port, settings.dev_login_enabled)
    base = f"http://127.0.0.1:{settings.port}/api/v1"
    for period_id, unit_id, name in boards:
        print(f"上月公示榜（{name}）：GET {base}/periods/{period_id}/boards/{unit_id}")
        print(f"    排名海报：GET {base}/periods/{period_id}/boards/{unit_id}/poster.png")
    return 0


def _print_logins(port: int, dev_login: bool) -> None:
    if not dev_login:
        print("开发登录未启用（ENV=prod 或配置了微信 AppID），请通过小程序登录。")
        return
    print("以任一角色登录（开发模式，无需微信）：")
    shown: set[Role | None] = set()
    for person in demo.PEOPLE:
        if person.role in shown:
            continue
        shown.add(person.role)
        label = ROLE_LABELS.get(person.role, "普通党员") if person.role else "普通党员"
        print(
            f"  {label:<6} {person.name}: curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/dev/login"
            f" -H 'Content-Type: application/json' -d '{{\"phone\": \"{person.phone}\"}}'"
        )
    print(f"所有演示账号：GET http://127.0.0.1:{port}/api/v1/auth/dev/accounts")
    print(f"PC 控制台：http://127.0.0.1:{port}/admin/（扫码登录，开发模式下也可选择演示账号）")
    print(f"接口文档：http://127.0.0.1:{port}/docs")


async def import_roster_file(
    content: bytes,
    unit_id: int,
    *,
    commit: bool = False,
    confirm_renames: bool = False,
    confirm_new_groups: bool = False,
) -> int:
    """The dry run of the import (what it would change); with `commit`, then its commit, with
    the renames and new groups it lists confirmed only when the operator says so."""
    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            root = await session.get(OrgUnit, unit_id)
            if root is None:
                print(f"组织 {unit_id} 不存在", file=sys.stderr)
                return 2
            try:
                preview = await roster.preview_roster(session, None, root=root, content=content)
                _print_preview(preview)
                if preview.id is None:
                    return 1
                if not commit:
                    print("以上为预览，未导入任何数据；确认无误后加 --commit 导入。")
                    return 0
                result = await roster.commit_preview(
                    session,
                    None,
                    preview_id=preview.id,
                    confirm_renames=[r.member_id for r in preview.renamed]
                    if confirm_renames
                    else [],
                    confirm_new_groups=[
                        GroupRef(branch_id=g.branch_id, name=g.name) for g in preview.new_groups
                    ]
                    if confirm_new_groups
                    else [],
                )
            except AppError as error:
                print(error.text, file=sys.stderr)
                return 1
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"导入完成：新增 {result.created} 人，更新 {result.updated} 人（改名 {result.renamed} 人，"
        f"调整组织 {result.moved} 人），新建党小组 {result.units_created} 个，"
        f"任命职务 {result.roles_granted} 项，免去职务 {result.roles_revoked} 项"
    )
    return 0


def database_roles(admin_url: str | None) -> int:
    """The owner from MIGRATION_DATABASE_URL, the app role from DATABASE_URL (names and
    passwords), created in the database of `admin_url`, or printed as SQL without it."""
    settings = get_settings()
    try:
        if not settings.migration_database_url:
            raise RoleSetupError("MIGRATION_DATABASE_URL must name the owner of the tables")
        owner = DatabaseLogin.of(settings.migration_database_url)
        app = DatabaseLogin.of(settings.database_url)
        if admin_url is None:
            print(";\n".join(role_statements(owner, app)) + ";")
            return 0
        asyncio.run(create_roles(admin_url, owner, app))
    except RoleSetupError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"已创建数据库角色：{owner.role}（表的所有者，执行迁移），{app.role}（服务使用）")
    return 0


def _print_preview(preview: RosterPreviewOut) -> None:
    for error in preview.errors:
        print(f"  第 {error.row} 行 {error.column or ''}：{error.reason}", file=sys.stderr)
    if preview.errors:
        rows = len({error.row for error in preview.errors})
        print(f"花名册有 {rows} 行错误，未导入任何数据", file=sys.stderr)
        return
    print(f"共 {preview.rows} 行：新增 {len(preview.created)} 人")
    for renamed in preview.renamed:
        names = f"{renamed.name_before} → {renamed.name}"
        print(f"  改名（须 --confirm-renames）：第 {renamed.row} 行 {names}")
    for moved in preview.moved:
        print(f"  调整组织：第 {moved.row} 行 {moved.name}：{moved.unit_before} → {moved.unit}")
    for change in preview.changed:
        print(
            f"  {change.column}：第 {change.row} 行 {change.name}：{change.before} → {change.after}"
        )
    for role in preview.role_changes:
        verb = "任命" if role.granted else "免去"
        print(f"  {verb}：第 {role.row} 行 {role.name} {role.role_label}（{role.unit}）")
    for group in preview.new_groups:
        print(f"  新建党小组（须 --confirm-new-groups）：{group.branch} / {group.name}")
    if preview.missing_total:
        print(f"  表中支部里另有 {preview.missing_total} 名在册党员不在表中（不会删除）")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pioneer", description="先锋积分 管理命令")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed-demo", help="空数据库时载入演示数据并打印登录方式")
    importer = commands.add_parser(
        "import-roster", help="预览从 Excel 导入花名册的变化；加 --commit 才导入（全部正确才导入）"
    )
    importer.add_argument("file", type=Path)
    importer.add_argument("--unit", type=int, required=True, help="导入到哪个组织（含下级）")
    importer.add_argument("--commit", action="store_true", help="预览无误后导入")
    importer.add_argument("--confirm-renames", action="store_true", help="确认预览中的全部改名")
    importer.add_argument(
        "--confirm-new-groups", action="store_true", help="确认预览中的全部新建党小组"
    )
    roles = commands.add_parser(
        "db-roles", help="创建 PostgreSQL 的两个角色：表的所有者（迁移）与服务使用的角色"
    )
    target = roles.add_mutually_exclusive_group(required=True)
    target.add_argument("--admin-url", help="超级用户连接到本服务数据库的 URL")
    target.add_argument("--print", action="store_true", help="只打印 SQL（含密码）")
    args = parser.parse_args(argv)
    if args.command == "seed-demo":
        return asyncio.run(seed_demo())
    if args.command == "db-roles":
        return database_roles(args.admin_url)
    return asyncio.run(
        import_roster_file(
            args.file.read_bytes(),
            args.unit,
            commit=args.commit,
            confirm_renames=args.confirm_renames,
            confirm_new_groups=args.confirm_new_groups,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
