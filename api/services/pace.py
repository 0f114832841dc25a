"""The pace of WeChat calls: at most `DELIVERY_RATE_PER_SECOND` (0: no limit).

Each call to WeChat waits for a slot of its own, the slots `1 / rate` apart.

A slot is a fixed time, one interval after the slot before it: a call that wakes late does not
push the following slots back. (Counting each interval from the moment the previous call woke
up lost the timer's lateness on every call, a tenth of the rate at 100 per second.) A call that
wakes more than an interval after its slot (its process had no CPU) takes a new one rather
than crowd the calls after it into the same second.
"""

import asyncio
from typing import Protocol


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
        while True:
            slot = max(self._next, _clock())
            self._next = slot + self._interval
            if await _on_time(slot, self._interval):
                return


def _clock() -> float:
    return asyncio.get_running_loop().time()


async def _on_time(slot: float, interval: float) -> bool:
    """Sleep until the slot; whether the call woke within an interval of it."""
    delay = slot - _clock()
    if delay > 0:
        await asyncio.sleep(delay)
    return _clock() - slot <= interval
