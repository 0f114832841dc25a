"""PostgreSQL's binary COPY, fed row by row: how a close stores 100 000 results.

asyncpg's own `copy_records_to_table` would take the results' JSON only as `str` (the JSON
codec SQLAlchemy installs encodes text), and turning the encoder's UTF-8 bytes into text and
back costs more than scoring a member. Here each row is written in the binary COPY format
(https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4) from what the caller
already has: the JSON as bytes, numbers, text, one timestamp.
"""

import asyncio
import struct
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, DecimalTuple
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

Field = Callable[[Any], bytes]

_NULL = struct.pack(">i", -1)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMERIC_NEGATIVE = 0x4000
_ROWS_PER_MESSAGE = 500


def _sized(data: bytes) -> bytes:
    return struct.pack(">i", len(data)) + data


def int4(value: int | None) -> bytes:
    return _NULL if value is None else b"\x00\x00\x00\x04" + struct.pack(">i", value)


def varchar(value: str | None) -> bytes:
    """varchar, text: UTF-8."""
    return _NULL if value is None else _sized(value.encode())


def json_utf8(value: bytes | None) -> bytes:
    """json: the document's UTF-8 text itself."""
    return _NULL if value is None else _sized(value)


def timestamptz(value: datetime | None) -> bytes:
    """Microseconds since 2000-01-01 UTC."""
    if value is None:
        return _NULL
    return b"\x00\x00\x00\x08" + struct.pack(">q", (value - _EPOCH) // _MICROSECOND)


def numeric(value: Decimal | None) -> bytes:
    """numeric: base-10000 digits with the weight of the first, a sign and the display scale."""
    if value is None:
        return _NULL
    if not value.is_finite():
        raise ValueError(f"{value} is not a number PostgreSQL's numeric column stores here")
    return _numeric(value.as_tuple())


# By sign, digits and exponent (2 and 2.00 are equal Decimals with different scales). Scores
# repeat: a close of 100 000 members has a few hundred different ones.
@lru_cache(maxsize=4096)
def _numeric(number: DecimalTuple) -> bytes:
    sign, digits, exponent = number
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text_digits = "".join(map(str, digits))
    if exponent > 0:
        text_digits += "0" * exponent
        exponent = 0
    # Align the decimal point to a group of four digits on both sides.
    pad = exponent % 4
    text_digits += "0" * pad
    fraction_groups = (-exponent + pad) // 4
    text_digits = "0" * (-len(text_digits) % 4) + text_digits
    groups = [int(text_digits[i : i + 4]) for i in range(0, len(text_digits), 4)]
    weight = len(groups) - fraction_groups - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight, sign = 0, 0
    head = struct.pack(">hhHH", len(groups), weight, _NUMERIC_NEGATIVE if sign else 0, scale)
    return _sized(head + struct.pack(f">{len(groups)}H", *groups))


def row(*fields: bytes) -> bytes:
    """One tuple of fields already encoded by the functions above."""
    return struct.pack(">h", len(fields)) + b"".join(fields)


async def copy_rows(
    session: AsyncSession,
    table: str,
    columns: Sequence[str],
    rows: Iterable[bytes],
    *,
    rows_per_statement: int = 10_000,
) -> None:
    """COPY the rows (see `row`) into the table, in the session's transaction.

    The rows are built in a thread while the database stores the ones already built. They go
    in COPY statements of `rows_per_statement`: PostgreSQL checks a table's foreign keys at the
    end of each statement, and meanwhile the thread goes on building the next rows.
    """
    loop = asyncio.get_running_loop()
    built: asyncio.Queue[list[bytes] | BaseException | None] = asyncio.Queue()
    stop = threading.Event()

    def build() -> None:
        batch: list[bytes] = []
        try:
            for encoded in rows:
                batch.append(encoded)
                if len(batch) == _ROWS_PER_MESSAGE:
                    if stop.is_set():
                        return
                    loop.call_soon_threadsafe(built.put_nowait, batch)
                    batch = []
            if batch:
                loop.call_soon_threadsafe(built.put_nowait, batch)
            loop.call_soon_threadsafe(built.put_nowait, None)
        except BaseException as error:  # handed to the COPY, which fails with it
            loop.call_soon_threadsafe(built.put_nowait, error)

    async def batches() -> AsyncIterator[list[bytes]]:
        while (item := await built.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    Batches = AsyncIterator[list[bytes]]

    async def statement(source: Batches, first: list[bytes]) -> AsyncIterator[bytes]:
        yield _HEADER + b"".join(first)
        sent = len(first)
        if sent < rows_per_statement:
            async for batch in source:
                yield b"".join(batch)
                sent += len(batch)
                if sent >= rows_per_statement:
                    break
        yield _TRAILER

    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    builder = asyncio.create_task(asyncio.to_thread(build))
    try:
        source = batches()
        while (first := await anext(source, None)) is not None:
            await driver.copy_to_table(
                table, source=statement(source, first), columns=list(columns), format="binary"
            )
    finally:
        stop.set()
        await builder
