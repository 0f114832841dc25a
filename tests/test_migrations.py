"""The schema is built only by migrations: they go down and up again, and match the models."""

import asyncio
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from alembic import command
from api.db import create_engine
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
