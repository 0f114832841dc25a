"""The schema is built only by migrations: they go down and up again, and match the models."""

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from alembic import command
from api.config import get_settings
from api.db import create_engine
from api.secrets import unseal
from tests.conftest import PG_URL, alembic_config


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[set[str], list[object]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(_tables)
            diff = await connection.run_sync(_diff)
    finally:
        await engine.dispose()
    return tables, diff


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"


def test_downgrade_to_base_and_upgrade_again(scratch_url: str, template_url: str) -> None:
    config = alembic_config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    tables, _ = asyncio.run(_inspect(scratch_url))
    assert tables <= {"alembic_version"}
    command.upgrade(config, "head")
    tables, diff = asyncio.run(_inspect(scratch_url))
    assert {"member", "org_unit", "wechat_account"} <= tables
    assert diff == []


_CLAIM_HISTORY_BEFORE = "3a7c5e91d2b4"  # the revision before claims carried their last actor
_FOLLOW_UPS_BEFORE = "b81f4c2d9a63"  # the revision before follow-ups had a period and an owner


async def _run(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL in one transaction; the rows of the last statement."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await engine.dispose()


def test_existing_claims_get_their_last_actor_and_reason_from_their_history(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, _CLAIM_HISTORY_BEFORE)
    stamp = "'2026-11-01 08:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            f"INSERT INTO org_unit (id, kind, name, path, created_at) "
            f"VALUES (1, 'branch', '一支部', '/1/', {stamp})",
            *(
                f"INSERT INTO member (id, unit_id, name, phone, political_status, exempt, status, "
                f"created_at, updated_at) VALUES ({i}, 1, '党员{i}', '1380000000{i}', 'full', "
                f"false, 'active', {stamp}, {stamp})"
                for i in (1, 2, 3)
            ),
            f"INSERT INTO scheme (id, unit_id, subject_kind, current_version, created_at) "
            f"VALUES (1, 1, 'member', 1, {stamp})",
            *(
                f"INSERT INTO claim (id, member_id, scheme_id, item_code, points, occurred_on, "
                f"description, idempotency_key, status, steps, step, created_at, updated_at) "
                f"VALUES ({i}, 1, 1, 'x', 1, '2026-11-01', 'd', 'key-{i}', '{status}', "
                f"'[\"group_leader\"]', 0, {stamp}, {stamp})"
                for i, status in ((1, "rejected"), (2, "pending"))
            ),
            f"INSERT INTO claim_event (claim_id, actor_id, from_status, to_status, reason, "
            f"created_at) VALUES (1, 1, '', 'pending', NULL, {stamp}), "
            f"(1, 3, 'pending:group_leader', 'rejected', '照片不清楚', {stamp})",
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(
        _run(scratch_url, "SELECT id, last_actor_id, last_reason FROM claim ORDER BY id")
    )
    # The rejected claim: its reviewer and reason; one without history: its member.
    assert rows == [(1, 3, "照片不清楚"), (2, 1, None)]


def test_existing_follow_ups_get_their_period_owning_branch_and_status(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, _FOLLOW_UPS_BEFORE)
    stamp = "'2026-11-01 08:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            *(
                f"INSERT INTO org_unit (id, kind, name, path, created_at) "
                f"VALUES ({i}, '{kind}', '单位{i}', '{path}', {stamp})"
                for i, kind, path in ((1, "committee", "/1/"), (2, "branch", "/1/2/"))
            ),
            f"INSERT INTO org_unit (id, kind, name, path, parent_id, created_at) "
            f"VALUES (3, 'group', '一小组', '/1/2/3/', 2, {stamp})",
            *(
                f"INSERT INTO member (id, unit_id, name, phone, political_status, exempt, status, "
                f"created_at, updated_at) VALUES ({i}, {unit}, '党员{i}', '1380000000{i}', "
                f"'full', false, 'active', {stamp}, {stamp})"
                for i, unit in ((1, 3), (2, 2))
            ),
            f"INSERT INTO scheme (id, unit_id, subject_kind, current_version, created_at) "
            f"VALUES (1, 1, 'member', 1, {stamp})",
            f"INSERT INTO period (id, scheme_id, key, starts_at, ends_at, status, close_count) "
            f"VALUES (7, 1, '2026-11', {stamp}, {stamp}, 'open', 0)",
            *(
                f"INSERT INTO score_entry (id, period_id, member_id, item_code, points, source, "
                f"reason, evidence, occurred_on, created_at) VALUES ({i}, 7, {i}, 'absent', 6, "
                f"'deduction', '缺席', '[]', '2026-11-01', {stamp})"
                for i in (1, 2)
            ),
            f"INSERT INTO committee_action (id, member_id, scheme_id, cycle, action_code, label, "
            f"entry_id, done_at, created_at) VALUES "
            f"(1, 1, 1, 2026, 'reminder', '约谈提醒', 1, NULL, {stamp}), "
            f"(2, 2, 1, 2026, 'reminder', '约谈提醒', 2, {stamp}, {stamp})",
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(
        _run(
            scratch_url,
            "SELECT id, unit_id, period_id, source, status FROM committee_action ORDER BY id",
        )
    )
    # A group member's follow-up belongs to the branch above the group.
    assert rows == [(1, 2, 7, "threshold", "open"), (2, 2, 7, "threshold", "done")]


_BEFORE_SEALING = "69b42596e03b"  # the revision before session keys and tokens were sealed


def test_stored_session_keys_and_tokens_are_sealed_and_opened_again_on_the_way_down(
    scratch_url: str, template_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_KEY", "migration-test-data-key-0123456789abcdef")
    get_settings.cache_clear()
    settings = get_settings()
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, _BEFORE_SEALING)
    stamp = "'2026-11-01 08:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            "INSERT INTO wechat_account (id, openid, session_key, created_at, last_login_at) "
            f"VALUES (1, 'o-1', 'SESSIONKEY-plain==', {stamp}, {stamp})",
            "INSERT INTO stored_token (name, token, expires_at) "
            f"VALUES ('wx-app', 'ACCESS-plain', {stamp})",
        )
    )
    try:
        command.upgrade(config, "head")
        [(session_key,)] = asyncio.run(_run(scratch_url, "SELECT session_key FROM wechat_account"))
        [(token,)] = asyncio.run(_run(scratch_url, "SELECT token FROM stored_token"))
        assert "plain" not in str(session_key) and "plain" not in str(token)
        assert unseal(settings, str(session_key)) == "SESSIONKEY-plain=="
        assert unseal(settings, str(token)) == "ACCESS-plain"
        command.downgrade(config, _BEFORE_SEALING)
        rows = asyncio.run(
            _run(
                scratch_url,
                "SELECT session_key, token FROM wechat_account, stored_token",
            )
        )
        assert rows == [("SESSIONKEY-plain==", "ACCESS-plain")]
    finally:
        command.upgrade(config, "head")
        get_settings.cache_clear()


_AUDIT_SCOPE_BEFORE = "7a53793f7e52"  # the revision before audit rows carried their unit


def test_existing_audit_rows_get_the_unit_they_belong_to_and_the_member_acted_on(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, _AUDIT_SCOPE_BEFORE)
    stamp = "'2026-11-01 08:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            f"INSERT INTO org_unit (id, kind, name, path, created_at) "
            f"VALUES (1, 'committee', '一镇', '/1/', {stamp})",
            f"INSERT INTO org_unit (id, kind, name, path, parent_id, created_at) "
            f"VALUES (2, 'branch', '一支部', '/1/2/', 1, {stamp})",
            f"INSERT INTO member (id, unit_id, name, phone, political_status, exempt, status, "
            f"created_at, updated_at) VALUES (1, 2, '党员1', '13800000001', 'full', false, "
            f"'active', {stamp}, {stamp})",
            f"INSERT INTO scheme (id, unit_id, subject_kind, current_version, created_at) "
            f"VALUES (1, 1, 'member', 1, {stamp})",
            f"INSERT INTO period (id, scheme_id, key, starts_at, ends_at, status, close_count) "
            f"VALUES (7, 1, '2026-11', {stamp}, {stamp}, 'open', 0)",
            f"INSERT INTO evaluation_round (id, scheme_id, branch_id, period_key, status, kinds, "
            f"deadline, created_by, created_at) VALUES (3, 1, 2, '2026-H2', 'open', '[]', "
            f"{stamp}, 1, {stamp})",
            f"INSERT INTO meeting (id, branch_id, held_on, kind, kind_name, title, starts_at, "
            f"place, recorded_by, status, close_count, created_at, updated_at) "
            f"VALUES (5, 2, '2026-11-01', "
            f"'branch_assembly', '党员大会', '会', {stamp}, '', 1, 'closed', 1, {stamp}, {stamp})",
            *(
                f"INSERT INTO audit_log (id, actor_id, action, target_type, target_id, data, "
                f"created_at) VALUES ({i}, 1, '{action}', '{target}', {target_id}, "
                f"'{data}', {stamp})"
                for i, action, target, target_id, data in (
                    (1, "period_reopen", "period", 7, "{}"),
                    (2, "scheme_version", "scheme", 1, "{}"),
                    (3, "round_advance", "evaluation_round", 3, "{}"),
                    (4, "meeting_present", "meeting", 5, '{"member_id": 1}'),
                    (5, "period_close", "period", 99, "{}"),
                )
            ),
        )
    )
    command.upgrade(config, "head")
    rows = asyncio.run(
        _run(scratch_url, "SELECT id, unit_path, member_id FROM audit_log ORDER BY id")
    )
    # A period and a scheme belong to the scheme's owner, a round and a meeting to their branch;
    # a row whose target is gone to no unit any admin reads.
    assert rows == [
        (1, "/1/", None),
        (2, "/1/", None),
        (3, "/1/2/", None),
        (4, "/1/2/", 1),
        (5, "/", None),
    ]
