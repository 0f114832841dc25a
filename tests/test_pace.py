"""The pace of WeChat calls: fixed slots however late the process wakes."""

import asyncio
import itertools

import pytest

from api.services import pace as pace_module
from api.services.pace import LocalPace


class LateTimer:
    """The pace's clock, moved on only by its sleeps, each `late` seconds longer than asked
    (a busy machine's timer)."""

    def __init__(self, late: float) -> None:
        self.now = 0.0
        self.late = late

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay + self.late


@pytest.fixture
def timer(monkeypatch: pytest.MonkeyPatch) -> LateTimer:
    timer = LateTimer(late=0.0)
    monkeypatch.setattr(pace_module, "_clock", timer.clock)
    monkeypatch.setattr(asyncio, "sleep", timer.sleep)
    return timer


async def woken(pace: LocalPace, timer: LateTimer, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        await pace.wait()
        times.append(timer.now)
    return times


async def test_a_late_timer_does_not_push_the_following_slots_back(timer: LateTimer) -> None:
    timer.late = 0.004
    times = await woken(LocalPace(50), timer, 10)
    # 20 ms apart from the first; counted from each late wake-up they would be 24 ms apart.
    assert times == pytest.approx([0.0] + [0.02 * k + 0.004 for k in range(1, 10)])


async def test_a_call_that_wakes_an_interval_late_takes_a_new_slot_not_the_next_ones(
    timer: LateTimer,
) -> None:
    timer.late = 0.05
    times = await woken(LocalPace(50), timer, 10)
    # Had the late calls kept their slots, the next would have found its own already past
    # and gone at the same moment.
    assert min(later - earlier for earlier, later in itertools.pairwise(times)) >= 0.02


async def test_without_a_rate_nothing_waits(timer: LateTimer) -> None:
    assert await woken(LocalPace(0), timer, 5) == [0.0] * 5
