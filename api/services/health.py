"""What the probes ask of the database: the benchmark's baseline write, reachability with the
worker's heartbeat, and the state the metrics read at a scrape."""

from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from api import metrics
from api.access import Principal
from api.errors import ServiceUnavailable
from api.models import Probe, utcnow
from api.reads import Write
from api.services import heartbeat


async def probe(session: AsyncSession, principal: Principal) -> int:
    """One insert beside the read that identified the member: the load benchmark's baseline."""
    values = {"member_id": principal.member_id, "created_at": utcnow()}
    inserted: int = await _INSERT.scalar(session, values)
    return inserted


# Built once, as the statements of every phone request: the baseline must not carry a cost
# they do not.
_INSERT = Write(
    insert(Probe.__table__)  # type: ignore[attr-defined]
    .values(member_id=bindparam("member_id"), created_at=bindparam("created_at"))
    .returning(col(Probe.id))
)


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
