"""Engine, session factory and the request-scoped session.

Services take the session and `flush()`; only the request's route commits (`SessionRoute`), after
the path operation returns and before the response is sent, so a client never sees success for a
change that did not land.
"""

import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any, cast

import msgspec
from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import CursorResult, Executable, Select, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util import greenlet_spawn

from api.config import Settings
from api.errors import AppError, Conflict, ServiceUnavailable

SQLITE_BUSY_TIMEOUT_MS = 5000
# A pooled PostgreSQL connection is checked before use only after it has idled this long: that
# is when a database restart or a dropped idle connection can have killed it. A ping is three
# round trips with asyncpg (BEGIN, a statement, ROLLBACK); pinging on every checkout, as
# `pool_pre_ping` does, cost more than the probe's own queries. A connection that dies while in
# steady use fails its request's first statement: the change rolls back, the client gets 503
# (`ServiceUnavailable`) and retries, and the pool replaces every connection opened before the
# failure.
IDLE_PING_SECONDS = 5.0
# Connections are replaced after half an hour, before any server or proxy idle timeout.
POOL_RECYCLE_SECONDS = 1800


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # JSON columns are read with msgspec (results, history and boards are read by the
    # thousand; the standard library's parser took a fifth of a county's live ranking).
    kwargs.setdefault("json_deserializer", msgspec.json.decode)
    # A statement's values never reach a log line or an error message: they hold session keys,
    # token hashes and phone numbers.
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_SECONDS)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "checkin", _checked_in)
    event.listen(engine.sync_engine, "checkout", _ping_after_idle)
    return engine


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Raising DisconnectionError makes the pool discard the connection and check out another
    (a fresh connection has no `idle_since` and is not pinged)."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError() from exc


def pool_sizes(settings: Settings) -> dict[str, int]:
    """The API's pool on PostgreSQL. With SQLAlchemy's default of 5, a process serving 8
    requests at once opened a connection for each request beyond the fifth and closed it after
    (about 11 a second under `wrk`, each a PostgreSQL backend forked, authenticated and its types
    read again): a third of the probe's throughput."""
    if is_sqlite(settings.database_url):
        return {}
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
    }


def worker_pool_sizes(settings: Settings) -> dict[str, int]:
    """The worker's pool on PostgreSQL: each delivery on its way holds its connection while it
    waits for its slot, and taking a slot, an access token and the heartbeat need one each
    besides; a pool smaller than that left every delivery waiting for a connection none would
    give back."""
    if is_sqlite(settings.database_url):
        return {}
    return {"pool_size": settings.delivery_concurrency + 3, "max_overflow": 10}


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncSession:
    """The request's session, opened on first use; its route (`SessionRoute`) ends it."""
    opened = request.scope.get(_OPENED)
    if opened is None:
        if not isinstance(request.scope.get("route"), SessionRoute):
            raise RuntimeError(f"{request.url.path}: a session needs a SessionRoute to end it")
        sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
        opened = request.scope[_OPENED] = OpenSession(sessionmaker())
    return opened.session


_OPENED = "pioneer.session"


class OpenSession:
    """A request's session and how it ends: committed once the path operation has returned
    (before the response is sent, so a client never sees success for a change that did not
    land), rolled back when it raised, except for an error that keeps the changes (a refusal
    whose audit row must stay)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def __call__(self, raised: BaseException | None) -> None:
        keeps = raised is None or (isinstance(raised, AppError) and raised.keeps_changes)
        try:
            await greenlet_spawn(_end, self.session.sync_session, keeps)
        except IntegrityError as exc:
            raise Conflict() from exc
        except DBAPIError as exc:
            raise ServiceUnavailable() from exc


def _end(session: Session, keeps: bool) -> None:
    """Commit or roll back, then close, in one trip into SQLAlchemy's synchronous session (each
    of `AsyncSession`'s calls is a greenlet of its own)."""
    try:
        if keeps:
            session.commit()
        else:
            session.rollback()
    finally:
        # Also when the request is cancelled meanwhile: asyncio cancels a task once, so this
        # still runs, and the pool gets its connection back rolled back, or discards it.
        # (FastAPI's own ending, a dependency with `yield`, shields it in an anyio cancel
        # scope: half of what this saves.)
        session.close()


class SessionRoute(APIRoute):
    """A route that ends the session its request opened (`get_session`) when the path operation
    is done. FastAPI's own way, a dependency with `yield`, cost a tenth of a millisecond per
    request in exit stacks and cancel scopes (`bench/request_cpu.py`, the session rung: 0.51 ms
    with it, 0.38 ms so)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_and_end(request: Request) -> Response:
            try:
                response = await handle(request)
            except BaseException as exc:
                opened = request.scope.pop(_OPENED, None)
                if opened is not None:
                    await opened(exc)
                raise
            opened = request.scope.pop(_OPENED, None)
            if opened is not None:
                await opened(None)
            return response

        return handle_and_end


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The INSERT construct of the session's database, which has ON CONFLICT for upserts."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def affected_rows(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> int:
    """Run a compare-and-set UPDATE/DELETE and say how many rows it changed."""
    result = cast(CursorResult[Any], await session.execute(statement, params))
    return result.rowcount


async def fetch_all(session: AsyncSession, statement: Select[Any]) -> Sequence[Sequence[Any]]:
    """Every row of a large read, as plain tuples.

    On PostgreSQL the rows come straight from asyncpg, without SQLAlchemy's row objects (a
    close reads some 700 000 ledger tallies; the objects cost more than the database). The
    statement is rendered with its values inline, so it is compiled and planned each time: for
    a read of a whole period, with integer ids only, not for the requests of one member.
    """
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        result = await connection.execute(statement)
        found: Sequence[Sequence[Any]] = result.all()
        return found
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    rows: Sequence[Sequence[Any]] = await driver.fetch(str(sql))
    return rows


SessionDep = Annotated[AsyncSession, Depends(get_session)]
