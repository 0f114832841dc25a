"""Command line: `pioneer seed-demo` and `pioneer import-roster FILE --unit ID`."""

import argparse
import asyncio
import sys
from pathlib import Path

from api.config import get_settings
from api.db import create_engine, create_sessionmaker
from api.errors import AppError
from api.models import OrgUnit, Role
from api.schemas.labels import ROLE_LABELS
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
    print(f"接口文档：http://127.0.0.1:{port}/docs")


async def import_roster_file(content: bytes, unit_id: int) -> int:
    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            root = await session.get(OrgUnit, unit_id)
            if root is None:
                print(f"组织 {unit_id} 不存在", file=sys.stderr)
                return 2
            try:
                result = await roster.import_roster(session, root, content)
            except AppError as error:
                print(error.text, file=sys.stderr)
                for problem in (error.detail or {}).get("errors", []):
                    print(
                        f"  第 {problem['row']} 行 {problem['column'] or ''}：{problem['reason']}",
                        file=sys.stderr,
                    )
                return 1
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"导入完成：新增 {result.created} 人，更新 {result.updated} 人，"
        f"新建党小组 {result.units_created} 个"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pioneer", description="先锋积分 管理命令")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seed-demo", help="空数据库时载入演示数据并打印登录方式")
    importer = commands.add_parser("import-roster", help="从 Excel 导入花名册（全部正确才导入）")
    importer.add_argument("file", type=Path)
    importer.add_argument("--unit", type=int, required=True, help="导入到哪个组织（含下级）")
    args = parser.parse_args(argv)
    if args.command == "seed-demo":
        return asyncio.run(seed_demo())
    return asyncio.run(import_roster_file(args.file.read_bytes(), args.unit))


if __name__ == "__main__":
    sys.exit(main())
