"""What the probes ask of the database: the benchmark's baseline write, reachability with the
worker's heartbeat, and the state the metrics read at a scrape."""

from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api import metrics
from api.access import Principal
from api.errors import ServiceUnavailable
from api.models import Probe, id_of
from api.services import heartbeat


async def probe(session: AsyncSession, principal: Principal) -> int:
    """One insert beside the read that identified the member: the load benchmark's baseline."""
    row = Probe(member_id=principal.member_id)
    session.add(row)
    await session.flush()
    return id_of(row)


async def newest_heartbeat(engine: AsyncEngine) -> datetime | None:
    """One query: the database answers, and tells the newest worker heartbeat; refused while
    the database cannot be reached."""
    try:
        async with engine.connect() as connection:
            newest: datetime | None = await connection.scalar(heartbeat.NEWEST)
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(detail={"database": "unreachable"}) from exc
    return newest


async def database_state(engine: AsyncEngine) -> metrics.DatabaseState | None:
    """The outboxes and the heartbeat as a scrape reads them; None when the database is out
    of reach (the scrape still answers, with `pioneer_database_up 0`)."""
    try:
        async with engine.connect() as connection:
            return await metrics.database_state(connection)
    except (SQLAlchemyError, OSError):
        return None
