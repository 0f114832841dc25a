"""Meetings recorded before meetings were scheduled become closed meetings of their day."""

import asyncio
from pathlib import Path

import pytest

from alembic import command
from tests.conftest import PG_URL, alembic_config
from tests.test_migrations import _run

_BEFORE = "b81f4c2d9a63"  # the revision before meetings were scheduled


@pytest.fixture
def scratch_url(tmp_path: Path) -> str:
    if PG_URL:
        return PG_URL
    return f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"


def test_a_recorded_meeting_becomes_a_closed_meeting_of_its_day(
    scratch_url: str, template_url: str
) -> None:
    config = alembic_config(scratch_url)
    command.downgrade(config, "base")
    command.upgrade(config, _BEFORE)
    stamp = "'2026-11-03 02:00:00+00:00'"
    asyncio.run(
        _run(
            scratch_url,
            f"INSERT INTO org_unit (id, kind, name, path, created_at) "
            f"VALUES (1, 'branch', '一支部', '/1/', {stamp})",
            f"INSERT INTO member (id, unit_id, name, phone, political_status, exempt, status, "
            f"created_at, updated_at) VALUES (1, 1, '书记', '13800000001', 'full', false, "
            f"'active', {stamp}, {stamp})",
            f"INSERT INTO meeting (id, branch_id, held_on, kind, title, recorded_by, created_at) "
            f"VALUES (1, 1, '2026-11-02', '党小组会', '学习党章', 1, {stamp}), "
            f"(2, 1, '2026-11-02', '学习交流会', '交流', 1, {stamp})",
            "INSERT INTO meeting_attendance (meeting_id, member_id, status) "
            "VALUES (1, 1, 'present')",
        )
    )
    command.upgrade(config, "head")
    meetings = asyncio.run(
        _run(
            scratch_url,
            "SELECT id, kind, kind_name, status, close_count, closed_by FROM meeting ORDER BY id",
        )
    )
    assert meetings == [
        (1, "group_meeting", "党小组会", "closed", 1, 1),
        (2, "学习交流会", "学习交流会", "closed", 1, 1),
    ]
    [(starts_at,)] = asyncio.run(_run(scratch_url, "SELECT starts_at FROM meeting WHERE id = 1"))
    assert str(starts_at).startswith("2026-11-01 16:00:00")  # midnight in Asia/Shanghai
    attendance = asyncio.run(_run(scratch_url, "SELECT status, checkin FROM meeting_attendance"))
    assert attendance == [("present", "manual")]
    command.downgrade(config, _BEFORE)
    kinds = asyncio.run(_run(scratch_url, "SELECT kind FROM meeting ORDER BY id"))
    assert kinds == [("党小组会",), ("学习交流会",)]
    command.upgrade(config, "head")
