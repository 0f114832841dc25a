"""The pace of WeChat sends: at most `DELIVERY_RATE_PER_SECOND`, however many worker processes
send (0: no limit).

Each call to WeChat waits for a slot of its own, the slots `1 / rate` apart. On PostgreSQL one
row (`delivery_pace`) holds the next free slot, and every worker process takes its slots from
it: one statement moves it on by as many slots as the process has calls waiting at that moment
(`next_at = greatest(next_at, now) + k / rate`). So the processes together keep to the rate,
and a slot is taken only by a call that waits for it: none is reserved ahead.
The slots are on the database's clock; a process moves them onto its own by the difference
the same statement returned, off by less than that round trip. On SQLite (the embedded,
single-process set-up) the slots are counted in the process.

A slot is a fixed time, one interval after the slot before it: a call that wakes late does not
push the following slots back. (Counting each interval from the moment the previous call woke
up lost the timer's lateness on every call, a tenth of the rate at 100 per second.) A call that
wakes more than an interval after its slot (its process had no CPU) takes a new one rather
than crowd the calls after it into the same second, and leaves its own unused; after
`LATE_WAKES` such wake-ups it goes at once: a process that starved of CPU so long sends well
below the rate, and must not take slot after slot from the others.

A slot that cannot be taken (the database unreachable) is `PaceUnavailable`: the delivery is
left to its claim's lapse and retried, its attempts untouched.
"""

import asyncio
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Interval, func, literal
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from api.models import DeliveryPace

LATE_WAKES = 3


class PaceUnavailable(Exception):
    """The shared pace could not hand out a slot."""


class Pace(Protocol):
    async def wait(self) -> None:
        """Return at this call's slot."""


class LocalPace:
    """Slots counted in this process (rate 0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        for _ in range(LATE_WAKES):
            slot = max(self._next, _clock())
            self._next = slot + self._interval
            if await _on_time(slot, self._interval):
                return


class SharedPace:
    """Slots taken from `delivery_pace` (PostgreSQL), shared by every process that sends."""

    def __init__(self, engine: AsyncEngine, rate: float) -> None:
        # One statement, no transaction around it: the row is locked only while it runs.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._interval = 1 / rate
        self._waiting: list[asyncio.Future[float]] = []
        self._taking: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        for _ in range(LATE_WAKES):
            if await _on_time(await self._slot(), self._interval):
                return

    async def _slot(self) -> float:
        slot: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.append(slot)
        try:
            while not slot.done():
                if self._taking is None:
                    await self._take_for_waiting(slot)
                else:
                    # Calls that come while slots are being taken wait for the next statement.
                    await asyncio.wait((slot, self._taking), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if slot in self._waiting:
                self._waiting.remove(slot)
        return slot.result()

    async def _take_for_waiting(self, own: asyncio.Future[float]) -> None:
        taking = self._taking = asyncio.get_running_loop().create_future()
        waiting, self._waiting = self._waiting, []
        try:
            slots = await self._take(len(waiting))
        except BaseException:
            # This call fails; the others take their slots themselves.
            self._waiting[:0] = [slot for slot in waiting if slot is not own]
            raise
        finally:
            self._taking = None
            taking.set_result(None)
        for slot, at in zip(waiting, slots, strict=True):
            slot.set_result(at)

    async def _take(self, count: int) -> list[float]:
        """The next `count` slots, on this process's clock."""
        span = literal(timedelta(seconds=count * self._interval), Interval())
        now = func.clock_timestamp()
        row = DeliveryPace.__table__.c  # type: ignore[attr-defined]
        statement = (
            insert(DeliveryPace)
            .values(id=1, next_at=now + span)
            .on_conflict_do_update(
                index_elements=[row.id], set_={"next_at": func.greatest(row.next_at, now) + span}
            )
            .returning(row.next_at - span, now)
        )
        try:
            async with self._engine.connect() as connection:
                first, there = (await connection.execute(statement)).one()
        except Exception as exc:
            raise PaceUnavailable() from exc
        start = _clock() + (first - there).total_seconds()
        return [start + index * self._interval for index in range(count)]


def pace_for(rate: float, engine: AsyncEngine) -> Pace:
    """Shared by every worker process on PostgreSQL; counted in this one on SQLite."""
    if rate and engine.dialect.name == "postgresql":
        return SharedPace(engine, rate)
    return LocalPace(rate)


def _clock() -> float:
    return asyncio.get_running_loop().time()


async def _on_time(slot: float, interval: float) -> bool:
    """Sleep until the slot; whether the call woke within an interval of it."""
    delay = slot - _clock()
    if delay > 0:
        await asyncio.sleep(delay)
    return _clock() - slot <= interval
