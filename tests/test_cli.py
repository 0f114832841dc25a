"""The command line an operator runs: `pioneer init` on an empty database, then every admin job
as a named member, through the same service calls and checks as the API, with clear exit codes
(0 done, 1 refused by a rule of the service with its message on stderr, 2 a usage error).
"""

import re
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.cli import main
from api.models import (
    Delivery,
    DeliveryStatus,
    LivePlacement,
    Member,
    MemberStatus,
    Notice,
    NoticeKind,
    OrgUnit,
    RoleAssignment,
)
from tests.access_matrix import png
from tests.conftest import ROOT, Org, Pioneer
from tests.fakes.wechat import FakeWeChat
from tests.test_roster import workbook
from tests.workflow import attach, open_period, shanghai_today

Maker = async_sessionmaker[AsyncSession]
V1 = "/api/v1"
ADMIN_PHONE = "13900000001"  # the `org` fixture's town admin
SECRETARY_PHONE = "13900000002"
MEMBER_PHONE = "13900000005"


async def bind(
    client: httpx.AsyncClient, wechat: FakeWeChat, openid: str, *, invite: str | None = None
) -> dict[str, str]:
    """A WeChat user logs in and binds (with an invite code, else the phone WeChat gives)."""
    wechat.add_login(f"login-{openid}", openid)
    login = await client.post(f"{V1}/auth/wechat/login", json={"code": f"login-{openid}"})
    assert login.status_code == 200, login.text
    ticket = login.json()["binding_ticket"]
    if invite is not None:
        body = {"binding_ticket": ticket, "invite_code": invite}
        bound = await client.post(f"{V1}/auth/bind/invite", json=body)
    else:
        body = {"binding_ticket": ticket, "phone_code": f"phone-{openid}"}
        bound = await client.post(f"{V1}/auth/bind/phone", json=body)
    assert bound.status_code == 200, bound.text
    return {"Authorization": f"Bearer {bound.json()['access_token']}"}


async def count(maker: Maker, model: type[OrgUnit] | type[Member]) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- the checked-by flow ------------------------------------------------------------------------


async def test_a_township_starts_from_an_empty_database_with_the_cli_and_the_api(
    client: httpx.AsyncClient, wechat: FakeWeChat, pioneer: Pioneer, tmp_path: Path
) -> None:
    founded = await pioneer(
        "init",
        "--unit",
        "红旗镇党委",
        "--kind",
        "committee",
        "--admin-name",
        "张书记",
        "--admin-phone",
        "13911112222",
    )
    assert founded.exit_code == 0, founded.output
    code = re.search(r"邀请码：([A-Z0-9]+)", founded.stdout)
    assert code is not None, founded.stdout
    admin = await bind(client, wechat, "openid-admin", invite=code.group(1))
    me = (await client.get(f"{V1}/me", headers=admin)).json()
    assert me["member"]["name"] == "张书记"
    assert [r["role"] for r in me["roles"]] == ["committee_admin"]
    town = me["member"]["unit_id"]

    branch = await client.post(
        f"{V1}/org/units",
        json={"parent_id": town, "kind": "branch", "name": "红旗村党支部"},
        headers=admin,
    )
    assert branch.status_code == 201, branch.text
    sheet = tmp_path / "roster.xlsx"
    sheet.write_bytes(
        workbook(
            [
                ["李支书", "13622223333", "红旗村党支部", "", "正式党员", "", "支部书记"],
                ["王党员", "13622224444", "红旗村党支部", "第一党小组", "正式党员", "", ""],
            ]
        )
    )
    as_admin = ("--unit", str(town), "--as", "13911112222")
    dry_run = await pioneer("import-roster", str(sheet), *as_admin)
    assert dry_run.exit_code == 0, dry_run.output
    assert "新增 2 人" in dry_run.stdout and "未导入任何数据" in dry_run.stdout
    listed = await client.get(f"{V1}/org/units/{town}/members", headers=admin)
    assert listed.json()["total"] == 1
    unconfirmed = await pioneer("import-roster", str(sheet), *as_admin, "--commit")
    assert unconfirmed.exit_code == 1
    assert "请逐一确认" in unconfirmed.stderr
    committed = await pioneer(
        "import-roster", str(sheet), *as_admin, "--commit", "--confirm-new-groups"
    )
    assert committed.exit_code == 0, committed.output
    assert "新增 2 人" in committed.stdout and "任命职务 1 项" in committed.stdout
    preset = await pioneer("attach-preset", "--preset", "lutou", *as_admin)
    assert preset.exit_code == 0, preset.output

    wechat.add_phone("phone-openid-wang", "13622224444")
    member = await bind(client, wechat, "openid-wang")
    photo = await client.post(f"{V1}/photos", files={"file": ("p.png", png(7))}, headers=member)
    assert photo.status_code == 201, photo.text
    claim = await client.post(
        f"{V1}/claims",
        json={
            "item_code": "village_cleaning",
            "occurred_on": shanghai_today().isoformat(),
            "description": "参加村容村貌环境卫生整治",
            "photo_ids": [photo.json()["id"]],
        },
        headers={**member, "Idempotency-Key": "first-claim-0001"},
    )
    assert claim.status_code == 201, claim.text

    log = await client.get(f"{V1}/org/units/{town}/audit", headers=admin)
    assert [(r["action"], r["actor_name"]) for r in log.json()["items"]] == [
        ("scheme_version", "张书记"),
        ("roster_import", "张书记"),
        ("organisation_founded", None),
    ]


# --- init -------------------------------------------------------------------------------------


async def test_init_refuses_a_database_that_has_an_organisation(
    org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    before = await count(sessionmaker, OrgUnit), await count(sessionmaker, Member)
    again = await pioneer(
        "init", "--unit", "红旗镇党委", "--admin-name", "张三", "--admin-phone", "13911112222"
    )
    assert again.exit_code == 1
    assert "数据库中已有组织，不能再次初始化" in again.stderr
    assert again.stdout == ""
    assert (await count(sessionmaker, OrgUnit), await count(sessionmaker, Member)) == before


async def test_init_answers_bad_input_as_a_usage_error_or_a_refusal(
    pioneer: Pioneer, sessionmaker: Maker
) -> None:
    given = ("--unit", "红旗镇党委", "--admin-name", "张三")
    bad_phone = await pioneer("init", *given, "--admin-phone", "12345")
    assert bad_phone.exit_code == 2
    assert "「管理员手机号」格式不正确" in bad_phone.stderr
    missing = await pioneer("init", *given)
    assert missing.exit_code == 2
    branch = await pioneer("init", *given, "--admin-phone", "13911112222", "--kind", "branch")
    assert branch.exit_code == 1
    assert "最上级组织须为党委" in branch.stderr
    unknown_kind = await pioneer("init", *given, "--admin-phone", "13911112222", "--kind", "乡")
    assert unknown_kind.exit_code == 2
    assert await count(sessionmaker, OrgUnit) == 0


# --- the operator -------------------------------------------------------------------------------


async def test_a_command_acts_only_as_a_member_on_the_roster(
    org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    town = str(org.unit_id("town"))
    without = await pioneer("attach-preset", "--unit", town, "--preset", "heyang")
    assert without.exit_code == 2
    stranger = await pioneer("attach-preset", "--unit", town, "--preset", "heyang", "--as", "1")
    assert stranger.exit_code == 1
    assert "没有使用该手机号的在册党员" in stranger.stderr
    async with sessionmaker() as session:
        await session.execute(
            update(Member)
            .where(col(Member.id) == org.id("admin"))
            .values(status=MemberStatus.transferred_out)
        )
        await session.commit()
    left = await pioneer("attach-preset", "--unit", town, "--preset", "heyang", "--as", ADMIN_PHONE)
    assert left.exit_code == 1
    assert "组织关系已转出" in left.stderr


async def test_the_operator_has_the_rights_of_their_roles_and_no_more(
    org: Org, pioneer: Pioneer
) -> None:
    town, branch = str(org.unit_id("town")), str(org.unit_id("branch_a"))
    secretary = await pioneer(
        "attach-preset", "--unit", branch, "--preset", "heyang", "--as", SECRETARY_PHONE
    )
    assert (secretary.exit_code, secretary.stderr.strip()) == (1, "您没有权限进行此操作")
    other_town = await pioneer(
        "attach-preset",
        "--unit",
        str(org.unit_id("town2")),
        "--preset",
        "heyang",
        "--as",
        ADMIN_PHONE,
    )
    assert other_town.exit_code == 1
    assert "不在您的管辖范围内" in other_town.stderr
    own = await pioneer(
        "roles",
        "grant",
        "--unit",
        str(org.unit_id("branch_a")),
        "--member",
        ADMIN_PHONE,
        "--role",
        "branch_committee",
        "--as",
        ADMIN_PHONE,
    )
    assert (own.exit_code, own.stderr.strip()) == (1, "不能办理本人的记录")
    unknown = await pioneer(
        "attach-preset", "--unit", town, "--preset", "nowhere", "--as", ADMIN_PHONE
    )
    assert (unknown.exit_code, unknown.stderr.strip()) == (1, "没有这个方案预设")
    done = await pioneer("attach-preset", "--unit", town, "--preset", "heyang", "--as", ADMIN_PHONE)
    assert done.exit_code == 0, done.output


# --- periods ------------------------------------------------------------------------------------


async def test_a_period_closes_publishes_and_reopens_with_the_apis_confirmations(
    client: httpx.AsyncClient, org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    scheme = await attach(client, org, "heyang")
    period = str(await open_period(sessionmaker, scheme))
    admin = ("--as", ADMIN_PHONE)
    early = await pioneer("period", "close", period, *admin)
    assert early.exit_code == 1
    assert "确认" in early.stderr
    unexplained = await pioneer("period", "close", period, "--force", *admin)
    assert unexplained.exit_code == 2
    assert "确认结算须填写原因" in unexplained.stderr
    by_member = await pioneer(
        "period", "close", period, "--force", "--reason", "月中提前结算", "--as", MEMBER_PHONE
    )
    assert by_member.exit_code == 1
    closed = await pioneer("period", "close", period, "--force", "--reason", "月中提前结算", *admin)
    assert closed.exit_code == 0, closed.output
    again = await pioneer("period", "close", period, "--force", "--reason", "再结算一次", *admin)
    assert again.exit_code == 1
    published = await pioneer("period", "publish", period, *admin)
    assert published.exit_code == 0, published.output
    shown = await client.get(f"{V1}/periods/{period}", headers=org.headers("admin"))
    assert shown.json()["status"] == "published"
    no_reason = await pioneer("period", "reopen", period, *admin)
    assert no_reason.exit_code == 2
    secretary = await pioneer(
        "period", "reopen", period, "--reason", "名单有误", "--as", SECRETARY_PHONE
    )
    assert secretary.exit_code == 1
    reopened = await pioneer("period", "reopen", period, "--reason", "名单有误", *admin)
    assert reopened.exit_code == 0, reopened.output
    shown = await client.get(f"{V1}/periods/{period}", headers=org.headers("admin"))
    assert shown.json()["status"] == "open"
    log = await client.get(
        f"{V1}/org/units/{org.unit_id('town')}/audit", headers=org.headers("admin")
    )
    actions = [(r["action"], r["reason"]) for r in log.json()["items"]]
    assert actions[:3] == [
        ("period_reopen", "名单有误"),
        ("period_publish", None),
        ("period_close", "月中提前结算"),
    ]


# --- dead letters, live ranks, invite codes ------------------------------------------------------


async def dead_letter(maker: Maker, org: Org, member: str) -> int:
    async with maker() as session:
        notice = Notice(
            member_id=org.id(member), kind=NoticeKind.claim_result, title="结果", data={}
        )
        session.add(notice)
        await session.flush()
        await session.execute(
            update(Delivery)
            .where(col(Delivery.notice_id) == notice.id)
            .values(status=DeliveryStatus.dead, attempts=30, reason="投递失败")
        )
        found = await session.scalar(
            select(Delivery.id).where(col(Delivery.notice_id) == notice.id)
        )
        await session.commit()
    assert found is not None
    return int(found)


async def statuses(maker: Maker, ids: list[int]) -> list[str]:
    async with maker() as session:
        rows = await session.scalars(
            select(Delivery.status).where(col(Delivery.id).in_(ids)).order_by(col(Delivery.id))
        )
        return list(rows)


async def test_dead_letters_are_sent_again_within_the_admins_scope(
    org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    ours = [await dead_letter(sessionmaker, org, m) for m in ("member_a1", "member_b1")]
    theirs = await dead_letter(sessionmaker, org, "member_c")
    other_town = await pioneer("resend-dead", "--id", str(theirs), "--as", ADMIN_PHONE)
    assert other_town.exit_code == 1
    assert await statuses(sessionmaker, [*ours, theirs]) == ["dead", "dead", "dead"]
    secretary = await pioneer("resend-dead", "--as", SECRETARY_PHONE)
    assert secretary.exit_code == 1
    done = await pioneer("resend-dead", "--as", ADMIN_PHONE)
    assert done.exit_code == 0, done.output
    assert "2 条" in done.stdout
    assert await statuses(sessionmaker, [*ours, theirs]) == ["pending", "pending", "dead"]


async def test_live_ranks_are_rebuilt_for_the_schemes_the_admin_manages(
    client: httpx.AsyncClient, org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    await attach(client, org, "heyang")
    other_town = await client.post(
        f"{V1}/org/units/{org.unit_id('town2')}/schemes",
        json={"preset": "heyang"},
        headers=org.headers("admin2"),
    )
    assert other_town.status_code == 201, other_town.text
    member = await pioneer("rebuild-ranks", "--as", MEMBER_PHONE)
    assert (member.exit_code, member.stderr.strip()) == (1, "您没有权限进行此操作")
    done = await pioneer("rebuild-ranks", "--as", ADMIN_PHONE)
    assert done.exit_code == 0, done.output
    async with sessionmaker() as session:
        ranked = set(await session.scalars(select(LivePlacement.member_id)))
    assert org.id("member_a1") in ranked
    assert org.id("member_c") not in ranked


async def test_an_invite_code_from_the_cli_binds_through_wechat(
    client: httpx.AsyncClient, org: Org, pioneer: Pioneer, wechat: FakeWeChat
) -> None:
    refused = await pioneer("invite", "--member", "13900000006", "--as", MEMBER_PHONE)
    assert refused.exit_code == 1
    not_a_member = await pioneer("invite", "--member", "张三", "--as", SECRETARY_PHONE)
    assert not_a_member.exit_code == 2
    issued = await pioneer("invite", "--member", "13900000006", "--as", SECRETARY_PHONE)
    assert issued.exit_code == 0, issued.output
    code = re.search(r"邀请码：([A-Z0-9]+)", issued.stdout)
    assert code is not None
    headers = await bind(client, wechat, "openid-a1b", invite=code.group(1))
    me = await client.get(f"{V1}/me", headers=headers)
    assert me.json()["member"]["id"] == org.id("member_a1b")


# --- roles and the audit log --------------------------------------------------------------------


async def test_a_secretary_is_replaced_in_one_step_from_the_cli(
    client: httpx.AsyncClient, org: Org, pioneer: Pioneer, sessionmaker: Maker
) -> None:
    branch = str(org.unit_id("branch_a"))
    listed = await pioneer(
        "roles", "list", "--unit", branch, "--role", "branch_secretary", "--as", ADMIN_PHONE
    )
    assert listed.exit_code == 0, listed.output
    [line] = [row for row in listed.stdout.splitlines() if "支部书记" in row]
    assignment = line.split("\t")[0]
    assert "secretary_a" in line and "甲村党支部" in line
    unexplained = await pioneer(
        "roles", "handover", assignment, "--to", "13900000006", "--as", ADMIN_PHONE
    )
    assert unexplained.exit_code == 2
    by_secretary = await pioneer(
        "roles",
        "handover",
        assignment,
        "--to",
        "13900000006",
        "--reason",
        "换届",
        "--as",
        SECRETARY_PHONE,
    )
    assert by_secretary.exit_code == 1
    done = await pioneer(
        "roles",
        "handover",
        assignment,
        "--to",
        "13900000006",
        "--reason",
        "换届选举",
        "--as",
        ADMIN_PHONE,
    )
    assert done.exit_code == 0, done.output
    async with sessionmaker() as session:
        holders = list(
            await session.scalars(
                select(RoleAssignment.member_id).where(
                    col(RoleAssignment.unit_id) == org.unit_id("branch_a"),
                    col(RoleAssignment.role) == "branch_secretary",
                )
            )
        )
    assert holders == [org.id("member_a1b")]
    log = await pioneer(
        "audit",
        "--unit",
        branch,
        "--action",
        "role_handover",
        "--member",
        SECRETARY_PHONE,
        "--as",
        ADMIN_PHONE,
    )
    assert log.exit_code == 0, log.output
    [row] = log.stdout.splitlines()
    assert "admin" in row and "secretary_a" in row and "职务交接" in row and "换届选举" in row
    not_admin = await pioneer("audit", "--unit", branch, "--as", SECRETARY_PHONE)
    assert not_admin.exit_code == 1
    bad_time = await pioneer("audit", "--unit", branch, "--since", "昨天", "--as", ADMIN_PHONE)
    assert bad_time.exit_code == 2


async def test_roles_are_granted_and_revoked_from_the_cli_with_a_reason(
    org: Org, pioneer: Pioneer, client: httpx.AsyncClient
) -> None:
    group = str(org.unit_id("group_a1"))
    granted = await pioneer(
        "roles",
        "grant",
        "--unit",
        group,
        "--member",
        MEMBER_PHONE,
        "--role",
        "group_leader",
        "--reason",
        "小组长增补",
        "--as",
        ADMIN_PHONE,
    )
    assert granted.exit_code == 0, granted.output
    assignment = re.search(r"职务记录 (\d+)", granted.stdout)
    assert assignment is not None
    wrong_place = await pioneer(
        "roles",
        "grant",
        "--unit",
        group,
        "--member",
        MEMBER_PHONE,
        "--role",
        "branch_secretary",
        "--as",
        ADMIN_PHONE,
    )
    assert (wrong_place.exit_code, wrong_place.stderr.strip()) == (1, "该职务不能设在这一类组织上")
    short = await pioneer(
        "roles", "revoke", assignment.group(1), "--reason", "调", "--as", ADMIN_PHONE
    )
    assert short.exit_code == 2
    revoked = await pioneer(
        "roles", "revoke", assignment.group(1), "--reason", "调离本村", "--as", ADMIN_PHONE
    )
    assert revoked.exit_code == 0, revoked.output
    gone = await pioneer("roles", "revoke", assignment.group(1), "--as", ADMIN_PHONE)
    assert (gone.exit_code, gone.stderr.strip()) == (1, "职务记录不存在或不在您的管辖范围内")
    log = await client.get(
        f"{V1}/org/units/{group}/audit",
        params={"member_id": org.id("member_a1")},
        headers=org.headers("admin"),
    )
    assert [(r["action"], r["reason"]) for r in log.json()["items"]] == [
        ("role_revoke", "调离本村"),
        ("role_grant", "小组长增补"),
    ]


# --- the entry points ----------------------------------------------------------------------------


def test_main_returns_the_exit_code_and_python_m_runs_the_same_app() -> None:
    assert main(["--help"]) == 0
    assert main(["no-such-command"]) == 2
    ran = subprocess.run(
        [sys.executable, "-m", "api.cli", "period", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "close" in ran.stdout and "reopen" in ran.stdout


async def test_seed_demo_loads_an_empty_database_once(
    pioneer: Pioneer, sessionmaker: Maker
) -> None:
    loaded = await pioneer("seed-demo")
    assert loaded.exit_code == 0, loaded.output
    assert "已载入演示数据" in loaded.stdout
    members = await count(sessionmaker, Member)
    again = await pioneer("seed-demo")
    assert again.exit_code == 0, again.output
    assert "已载入演示数据" not in again.stdout and "上月公示榜" in again.stdout
    assert await count(sessionmaker, Member) == members
