"""The worker's heartbeat: each worker's last loop in `worker_heartbeat`, which the API's
`/readyz` reads (the newest of them) to say whether notices, ranks and schedules are moving."""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from api.config import Settings
from api.db import insert_for
from api.errors import WorkerNotRunning
from api.models import WorkerHeartbeat

NEWEST = select(func.max(col(WorkerHeartbeat.last_loop_at)))


async def beat(
    sessionmaker: async_sessionmaker[AsyncSession], worker: str, started_at: datetime, now: datetime
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            insert_for(session)(WorkerHeartbeat)
            .values(worker=worker, started_at=started_at, last_loop_at=now)
            .on_conflict_do_update(index_elements=["worker"], set_={"last_loop_at": now})
        )
        await session.commit()


async def forget(sessionmaker: async_sessionmaker[AsyncSession], worker: str) -> None:
    async with sessionmaker() as session:
        await session.execute(delete(WorkerHeartbeat).where(col(WorkerHeartbeat.worker) == worker))
        await session.commit()


def check(settings: Settings, newest: datetime | None, now: datetime) -> str:
    """`ok`, or `not checked` with `WORKER_STALE_SECONDS=0`; raises when no worker has looped
    within that many seconds."""
    limit = settings.worker_stale_seconds
    if not limit:
        return "not checked"
    if newest is not None and now - newest <= timedelta(seconds=limit):
        return "ok"
    raise WorkerNotRunning(
        detail={
            "worker": "never seen" if newest is None else "stale",
            "last_loop_at": newest.isoformat() if newest else None,
            "stale_after_seconds": limit,
        }
    )
