"""The binary COPY encoders against PostgreSQL itself: what goes in comes back the same.

PostgreSQL's COPY is what a close uses there; on SQLite a close inserts, and this module runs in
the PostgreSQL pass of CI (`TEST_DATABASE_URL`).
"""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from api import pg_copy
from api.db import create_engine
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's COPY: the PostgreSQL pass")


def _scale(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


numbers = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda value: value.adjusted() < 60 and _scale(value) < 60
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
texts = st.text(
    st.characters(categories=("L", "M", "N", "P", "S", "Z", "Cc"), exclude_characters="\x00")
)
Row = tuple[int | None, str | None, Decimal | None, bytes, datetime | None]
rows = st.tuples(
    st.none() | st.integers(-(2**31), 2**31 - 1),
    st.none() | texts,
    st.none() | numbers,
    texts.map(lambda value: json.dumps({"v": value}, ensure_ascii=False).encode()),
    st.none() | moments,
)


async def _round_trip(session: AsyncSession, sent: list[Row]) -> list[tuple[object, ...]]:
    await session.execute(
        text(
            "CREATE TEMPORARY TABLE copied (n serial, i integer, s varchar, d numeric, "
            "j json, t timestamptz) ON COMMIT DROP"
        )
    )
    encoded = (
        pg_copy.row(
            pg_copy.int4(i),
            pg_copy.varchar(s),
            pg_copy.numeric(d),
            pg_copy.json_utf8(j),
            pg_copy.timestamptz(t),
        )
        for i, s, d, j, t in sent
    )
    await pg_copy.copy_rows(
        session, "copied", ("i", "s", "d", "j", "t"), encoded, rows_per_statement=7
    )
    found = await session.execute(text("SELECT i, s, d, j::text, t FROM copied ORDER BY n"))
    return [tuple(row) for row in found]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, max_size=30))
def test_rows_come_back_as_they_were_sent(sent: list[Row]) -> None:
    async def run() -> list[tuple[object, ...]]:
        engine = create_engine(PG_URL)
        try:
            async with AsyncSession(engine) as session, session.begin():
                return await _round_trip(session, sent)
        finally:
            await engine.dispose()

    back = asyncio.run(run())
    assert len(back) == len(sent)
    for (i, s, d, j, t), (i2, s2, d2, j2, t2) in zip(sent, back, strict=True):
        assert (i2, s2, j2, t2) == (i, s, j.decode(), t)
        if d is None:
            assert d2 is None
        else:
            assert isinstance(d2, Decimal)
            assert d2 == d
            # The display scale survives: 2.50 stays 2.50.
            assert _scale(d2) == _scale(d)


async def test_a_row_that_cannot_be_built_fails_the_copy_with_its_own_error() -> None:
    built: list[int] = []

    def rows() -> Iterator[bytes]:
        for number in range(10_000):
            built.append(number)
            if number == 1234:
                raise ValueError("a row the caller could not build")
            nothing = pg_copy.varchar(None)
            yield pg_copy.row(
                pg_copy.int4(number), nothing, nothing, b"\x00\x00\x00\x02{}", nothing
            )

    engine = create_engine(PG_URL)
    try:
        async with AsyncSession(engine) as session:
            await session.execute(
                text(
                    "CREATE TEMPORARY TABLE copied (i integer, s varchar, d numeric, j json, "
                    "t timestamptz)"
                )
            )
            with pytest.raises(ValueError, match="could not build"):
                await pg_copy.copy_rows(
                    session, "copied", ("i", "s", "d", "j", "t"), rows(), rows_per_statement=500
                )
            await session.rollback()
    finally:
        await engine.dispose()
    assert built[-1] == 1234


def test_numbers_postgresql_cannot_store_are_refused() -> None:
    with pytest.raises(ValueError, match="not a number"):
        pg_copy.numeric(Decimal("NaN"))
    assert pg_copy.numeric(Decimal("-0.00")) == pg_copy.numeric(Decimal("0.00"))
    assert pg_copy.timestamptz(
        datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=1)
    ).endswith(b"\x00\x00\x00\x00\x00\x00\x00\x01")
