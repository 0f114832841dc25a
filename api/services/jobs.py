"""The worker's units of work fail alone.

Each unit (a scheme's schedules, an evaluation round's reminders, a scheme's live ranks) runs
in its own session and transaction. One that raises is rolled back, logged and recorded in
`job_failure` (how often in a row, the error, when to try again, doubling from a minute to an
hour); the others go on, and it is skipped until its retry time. Its record is removed once it
succeeds.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api import metrics
from api.db import insert_for
from api.logs import redact
from api.models import JobFailure

log = logging.getLogger("api.jobs")
BACKOFF = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=1)
Work = Callable[[AsyncSession], Awaitable[int]]
Maker = async_sessionmaker[AsyncSession]


def backoff(failures: int) -> timedelta:
    doubled: timedelta = BACKOFF * 2 ** (failures - 1)
    return min(doubled, BACKOFF_MAX)


def describe(exc: BaseException) -> str:
    """The error as recorded: its type and message, any query string's values hidden."""
    return redact(f"{type(exc).__name__}: {exc}")[:500]


async def each_alone(
    sessionmaker: Maker, job: str, units: Sequence[tuple[str, Work]], now: datetime
) -> int:
    """Run each `(key, work)` in its own transaction; returns the sum of what they did."""
    async with sessionmaker() as session:
        failing = {
            row.key: row.retry_at
            for row in await session.scalars(select(JobFailure).where(col(JobFailure.job) == job))
        }
    done = 0
    for key, work in units:
        if key in failing and failing[key] > now:
            metrics.JOB_UNITS.labels(job, "deferred").inc()
            continue
        try:
            async with sessionmaker() as session:
                done += await work(session)
                if key in failing:
                    await _forget(session, job, key)
                await session.commit()
        except Exception as exc:
            log.exception("%s %s failed; tried again with backoff", job, key)
            metrics.JOB_UNITS.labels(job, "failed").inc()
            await record_failure(sessionmaker, job, key, exc, now)
        else:
            metrics.JOB_UNITS.labels(job, "ok").inc()
    return done


async def record_failure(
    sessionmaker: Maker, job: str, key: str, exc: BaseException, now: datetime
) -> None:
    try:
        async with sessionmaker() as session:
            before = await session.get(JobFailure, (job, key))
            failures = (before.failures if before else 0) + 1
            values = {
                "failures": failures,
                "error": describe(exc),
                "failed_at": now,
                "retry_at": now + backoff(failures),
            }
            await session.execute(
                insert_for(session)(JobFailure)
                .values(job=job, key=key, **values)
                .on_conflict_do_update(index_elements=["job", "key"], set_=values)
            )
            await session.commit()
    except Exception:
        log.exception("%s %s: its failure could not be recorded either", job, key)


async def forget_failure(sessionmaker: Maker, job: str, key: str) -> None:
    async with sessionmaker() as session:
        await _forget(session, job, key)
        await session.commit()


async def _forget(session: AsyncSession, job: str, key: str) -> None:
    await session.execute(
        delete(JobFailure).where(col(JobFailure.job) == job, col(JobFailure.key) == key)
    )
