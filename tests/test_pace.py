"""The pace of WeChat calls: fixed slots however late the process wakes, one line of slots
shared by every worker process on PostgreSQL, counted in the process on SQLite."""

import asyncio
import itertools
import time

import httpx
import pytest

from api.db import create_engine, create_sessionmaker
from api.services import pace as pace_module
from api.services.pace import LocalPace, SharedPace
from api.wechat.tokens import DatabaseTokenStore
from api.worker import senders
from tests.conftest import PG_URL, make_settings

shared_by_processes = pytest.mark.skipif(
    not PG_URL, reason="the pace shared by worker processes: the PostgreSQL pass"
)


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


async def test_a_call_starved_of_cpu_goes_after_a_few_late_wake_ups(
    timer: LateTimer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each wake-up 50 ms late while the other calls keep taking the slots ahead: rather than
    take slot after slot from them, the call goes."""
    pace = LocalPace(50)
    pace._next = 0.1
    sleeps: list[float] = []

    async def sleep_while_others_take_slots(delay: float) -> None:
        assert len(sleeps) < 10, "the call never went"
        sleeps.append(delay)
        timer.now += delay + 0.05
        pace._next = timer.now + 0.1

    monkeypatch.setattr(asyncio, "sleep", sleep_while_others_take_slots)
    await pace.wait()
    assert len(sleeps) == pace_module.LATE_WAKES


async def test_without_a_rate_nothing_waits(timer: LateTimer) -> None:
    assert await woken(LocalPace(0), timer, 5) == [0.0] * 5


async def test_the_worker_shares_the_pace_and_sends_several_at_once_on_postgresql_only(
    database_url: str,
) -> None:
    settings = make_settings(database_url, delivery_rate_per_second=50, delivery_concurrency=6)
    engine = create_engine(database_url)
    tokens = DatabaseTokenStore(create_sessionmaker(engine), settings)
    try:
        async with httpx.AsyncClient() as http:
            channels = senders(settings, http, tokens, engine)
    finally:
        await engine.dispose()
    if PG_URL:
        assert isinstance(channels.pace, SharedPace)
        assert channels.at_once == 6
    else:  # one process, whose SQLite writes one at a time
        assert isinstance(channels.pace, LocalPace)
        assert channels.at_once == 1


@shared_by_processes
async def test_two_processes_sharing_the_pace_never_get_the_same_slot_and_keep_to_the_rate(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two paces on two connection pools, as two worker processes have, each with two calls
    at a time waiting."""
    taken: list[float] = []
    take = SharedPace._take

    async def recorded(pace: SharedPace, count: int) -> list[float]:
        slots = await take(pace, count)
        taken.extend(slots)
        return slots

    monkeypatch.setattr(SharedPace, "_take", recorded)
    rate, calls_per_lane = 10.0, 4
    engines = [create_engine(database_url) for _ in range(2)]
    paces = [SharedPace(engine, rate) for engine in engines]

    async def lane(pace: SharedPace) -> None:
        for _ in range(calls_per_lane):
            await pace.wait()

    started = time.monotonic()
    try:
        await asyncio.gather(*(lane(pace) for pace in paces for _ in range(2)))
    finally:
        for engine in engines:
            await engine.dispose()
    elapsed = time.monotonic() - started
    calls = 2 * 2 * calls_per_lane
    taken.sort()
    # A slot for each call and no more (none reserved and left unused); each a full interval
    # after the one before, whichever process took it, give or take the round trip that moves
    # a slot from the database's clock onto the process's.
    assert len(taken) == calls
    assert min(later - earlier for earlier, later in itertools.pairwise(taken)) >= 0.8 / rate
    assert (calls - 1) * 0.8 / rate <= elapsed <= (calls - 1) / rate + 1.0
