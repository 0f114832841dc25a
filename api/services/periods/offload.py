"""CPU work of a county off the event loop, and concurrent reads that fail plainly."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")
OFF_LOOP_ROWS = 2000  # above this, CPU-heavy work runs in a thread (see `off_loop`)


async def off_loop(size: int, work: Callable[[], T]) -> T:
    """Work of this many rows: in a thread when it is CPU of a second or more (a county), so
    the event loop keeps serving the other requests of this process meanwhile."""
    if size < OFF_LOOP_ROWS:
        return work()
    return await asyncio.to_thread(work)


@asynccontextmanager
async def tasks() -> AsyncIterator[asyncio.TaskGroup]:
    """A task group that fails with the first failure itself, not an exception group: the
    error handlers (a lost database, an unscorable scheme) see what they know."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
