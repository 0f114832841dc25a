"""What the probes ask of the database: the benchmark's baseline write, and reachability."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.access import Principal
from api.errors import ServiceUnavailable
from api.models import Probe, id_of


async def probe(session: AsyncSession, principal: Principal) -> int:
    """One insert beside the read that identified the member: the load benchmark's baseline."""
    row = Probe(member_id=principal.member_id)
    session.add(row)
    await session.flush()
    return id_of(row)


async def require_database(engine: AsyncEngine) -> None:
    """Refuse while the database cannot be reached."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable(detail={"database": "unreachable"}) from exc
