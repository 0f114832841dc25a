"""The database itself keeps the ledger append-only and closed periods closed (SQLite and PG)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.models import PeriodRecord, SchemeRecord, ScoreEntry, id_of
from tests.conftest import PG_URL, Org

Maker = async_sessionmaker[AsyncSession]


async def _period_with_entry(org: Org, sessionmaker: Maker, status: str = "open") -> int:
    async with sessionmaker() as session:
        scheme = SchemeRecord(unit_id=org.unit_id("town"), subject_kind="member")
        session.add(scheme)
        await session.flush()
        period = PeriodRecord(
            scheme_id=id_of(scheme),
            key="2026-11",
            starts_at=datetime(2026, 10, 31, 16, tzinfo=UTC),
            ends_at=datetime(2026, 11, 30, 16, tzinfo=UTC),
        )
        session.add(period)
        await session.flush()
        session.add(_entry(id_of(period), org.id("member_a1")))
        await session.commit()
        return id_of(period)


def _entry(period_id: int, member_id: int) -> ScoreEntry:
    return ScoreEntry(
        period_id=period_id,
        member_id=member_id,
        item_code="village_cleaning",
        points=Decimal(2),
        source="adjustment",
        reason="测试",
        occurred_on=date(2026, 11, 2),
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE score_entry SET points = 99",
        "UPDATE score_entry SET reason = '改写'",
        "DELETE FROM score_entry",
    ],
)
async def test_the_database_refuses_changes_to_ledger_rows(
    org: Org, sessionmaker: Maker, statement: str
) -> None:
    await _period_with_entry(org, sessionmaker)
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text(statement))
        await session.rollback()
        count = await session.scalar(text("SELECT count(*) FROM score_entry WHERE points = 2"))
    assert count == 1


async def test_the_database_refuses_entries_into_a_closed_period(
    org: Org, sessionmaker: Maker
) -> None:
    period_id = await _period_with_entry(org, sessionmaker)
    async with sessionmaker() as session:
        await session.execute(text(f"UPDATE period SET status = 'closed' WHERE id = {period_id}"))
        await session.commit()
    async with sessionmaker() as session:
        session.add(_entry(period_id, org.id("member_a1")))
        with pytest.raises(DBAPIError, match="not open"):
            await session.flush()


async def test_the_database_refuses_changes_to_snapshots(org: Org, sessionmaker: Maker) -> None:
    period_id = await _period_with_entry(org, sessionmaker)
    async with sessionmaker() as session:
        await session.execute(
            text(
                "INSERT INTO period_result (period_id, close_no, member_id, unit_path, total, "
                "result, prior, created_at) VALUES "
                f"({period_id}, 1, {org.id('member_a1')}, '/1/', 62, '{{}}', '{{}}', "
                "CURRENT_TIMESTAMP)"
            )
        )
        await session.commit()
    for statement in ("UPDATE period_result SET total = 100", "DELETE FROM period_result"):
        async with sessionmaker() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))


# pg_trigger.tgtype bits: 1 row-level, 8 DELETE, 16 UPDATE.
_APPEND_ONLY_TABLES = (
    "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
    "WHERE t.tgfoid = 'refuse_change'::regproc AND t.tgtype & 1 = 1 AND t.tgtype & 24 <> 0 "
    "ORDER BY c.relname"
)


@pytest.mark.skipif(not PG_URL, reason="TRUNCATE fires no row trigger: the PostgreSQL pass")
async def test_the_database_refuses_to_truncate_any_append_only_table(
    org: Org, sessionmaker: Maker
) -> None:
    """Every table whose rows refuse UPDATE and DELETE refuses TRUNCATE, even to a superuser."""
    await _period_with_entry(org, sessionmaker)
    async with sessionmaker() as session:
        tables = list(await session.scalars(text(_APPEND_ONLY_TABLES)))
    assert "score_entry" in tables
    for table in tables:
        async with sessionmaker() as session:
            with pytest.raises(DBAPIError, match=f"{table} is append-only: TRUNCATE refused"):
                await session.execute(text(f"TRUNCATE {table} CASCADE"))
    async with sessionmaker() as session:
        assert await session.scalar(text("SELECT count(*) FROM score_entry")) == 1
