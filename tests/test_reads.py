"""`Read`: a statement built once and read straight from the driver on PostgreSQL gives what the
same statement gives through SQLAlchemy, is heard by the engine's listeners, joins the request's
transaction, and fails as SQLAlchemy would."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import (
    Numeric,
    bindparam,
    column,
    event,
    func,
    insert,
    inspect,
    literal,
    table,
    text,
)
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from api.db import create_engine
from api.models import Member, Notice, NoticeKind, Probe, utcnow
from api.reads import Locking, Read, Write, adopt, columns_of
from tests.conftest import FELL_BACK, Org

Maker = async_sessionmaker[AsyncSession]

# Every kind of value a hot read carries: a literal of the statement (an enum), a bound UTC
# time, a list (expanding), a limit; JSON, a timestamp and a numeric coming back.
_NOTICES = (
    sa_select(
        col(Notice.id),
        col(Notice.kind),
        col(Notice.data),
        col(Notice.created_at),
        col(Notice.read_at),
        literal(Decimal("2.50"), Numeric(6, 2)),
    )
    .where(
        col(Notice.member_id).in_(bindparam("members", expanding=True)),
        col(Notice.kind) != NoticeKind.threshold,
        col(Notice.created_at) >= bindparam("since"),
    )
    .order_by(col(Notice.id))
    .limit(5)
)
_COUNT = sa_select(func.count()).where(col(Notice.member_id) == bindparam("member_id"))


async def _notices(session: AsyncSession, org: Org) -> None:
    for n, kind in enumerate(
        [NoticeKind.claim_result, NoticeKind.threshold, NoticeKind.claim_result]
    ):
        session.add(
            Notice(
                member_id=org.id("member_a1"),
                kind=kind,
                title=f"通知{n}",
                data={"points": "1.5", "n": n, "名": ["甲", None]},
                read_at=utcnow() if n == 0 else None,
            )
        )
    await session.commit()


def _plain(rows: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in rows]


async def test_a_read_gives_the_rows_sqlalchemy_gives(sessionmaker: Maker, org: Org) -> None:
    async with sessionmaker() as session:
        await _notices(session, org)
    values = {
        "members": [org.id("member_a1"), org.id("member_a2")],
        "since": utcnow() - timedelta(hours=1),
    }
    read = Read(_NOTICES)
    async with sessionmaker() as session:
        expected = _plain((await session.execute(_NOTICES, values)).all())
        assert len(expected) == 2
        for _ in range(2):  # the first run prepares, the next runs what it prepared
            assert _plain(await read.all(session, values)) == expected
        found = await read.first(session, values)
        assert found is not None and found[3].tzinfo is not None and found[5] == Decimal("2.50")
        assert await read.all(session, values | {"members": []}) == []
        for members in ([org.id("member_a1")], [org.id("member_a2"), 0, org.id("member_a1")]):
            other = values | {"members": members}  # lists of other lengths, each its own SQL
            assert _plain(await read.all(session, other)) == expected
        assert await Read(_COUNT).scalar(session, {"member_id": org.id("member_a1")}) == 3


async def test_the_engines_listeners_hear_a_read(sessionmaker: Maker, org: Org) -> None:
    heard: list[str] = []

    def listen(*args: Any) -> None:
        heard.append(args[2])

    async with sessionmaker() as session:
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        event.listen(engine.sync_engine, "before_cursor_execute", listen)
        try:
            await Read(_COUNT).scalar(session, {"member_id": org.id("member_a1")})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listen)
    assert len(heard) == 1 and heard[0].startswith("SELECT count(*)")


async def test_a_read_sees_the_transactions_own_writes(sessionmaker: Maker, org: Org) -> None:
    count = Read(_COUNT)
    async with sessionmaker() as session:
        before = await count.scalar(session, {"member_id": org.id("member_a1")})
        session.add(Notice(member_id=org.id("member_a1"), kind=NoticeKind.claim_result, title="t"))
        await session.flush()
        assert await count.scalar(session, {"member_id": org.id("member_a1")}) == before + 1
        await session.rollback()
    async with sessionmaker() as session:
        assert await count.scalar(session, {"member_id": org.id("member_a1")}) == before


async def test_a_read_after_a_commit_runs_on_the_connection_the_session_holds_then(
    database_url: str, org: Org
) -> None:
    """A read keeps the connection of the session's transaction; once that transaction has
    ended, its connection may serve another session's (here it does: the pool gives the most
    recently returned connection first), and the next read takes the session's new one."""
    engine = create_engine(database_url, pool_size=2, pool_use_lifo=True)
    count = Read(_COUNT)
    member = {"member_id": org.id("member_a1")}
    try:
        sessions = async_sessionmaker(engine)
        async with sessions() as reading, sessions() as writing:
            before = await count.scalar(reading, member)
            await reading.commit()
            writing.add(Notice(member_id=org.id("member_a1"), kind=NoticeKind.follow_up, title="t"))
            await writing.flush()  # not committed: no other connection sees it
            assert await count.scalar(reading, member) == before
            await reading.rollback()
            assert await count.scalar(reading, member) == before
            await writing.commit()
            assert await count.scalar(reading, member) == before + 1
    finally:
        await engine.dispose()


async def test_a_value_the_database_cannot_hold_fails_as_through_sqlalchemy(
    sessionmaker: Maker, caplog: pytest.LogCaptureFixture
) -> None:
    """The app's handlers answer SQLAlchemy's errors (an id of 10**30: 422), never the driver's."""
    async with sessionmaker() as session:
        with pytest.raises((DBAPIError, OverflowError)) as raised:
            await Read(_COUNT).scalar(session, {"member_id": 10**30})
        if session.get_bind().dialect.name == "postgresql":
            assert isinstance(raised.value, DBAPIError)
            assert FELL_BACK in caplog.text
            caplog.clear()  # expected here, refused anywhere else (conftest)


async def test_an_adopted_row_is_the_object_the_orm_would_have_loaded(
    sessionmaker: Maker, org: Org
) -> None:
    member_id = org.id("member_a1")
    read = Read(sa_select(*columns_of(Member)).where(col(Member.id) == bindparam("member_id")))
    async with sessionmaker() as session:
        loaded = await session.get(Member, member_id)
        assert loaded is not None
        expected = {c.key: getattr(loaded, c.key) for c in columns_of(Member)}
        loaded_state = inspect(loaded)
        expected_state = (loaded_state.key, loaded_state.unloaded, loaded_state.expired_attributes)
    heard: list[str] = []
    async with sessionmaker() as session:
        row = await read.first(session, {"member_id": member_id})
        assert row is not None
        adopted = adopt(session, Member, row)
        assert {c.key: getattr(adopted, c.key) for c in columns_of(Member)} == expected
        state = inspect(adopted)
        assert state.persistent and adopted in session and not state.modified
        assert (state.key, state.unloaded, state.expired_attributes) == expected_state
        assert adopt(session, Member, row) is adopted  # the session's own object, once
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: heard.append(a[2]))
        assert await session.get(Member, member_id) is adopted
        assert not session.dirty and not session.new
        adopted.name = "改名"
        await session.commit()
    assert len(heard) == 1 and heard[0].startswith("UPDATE member")  # the change, and no read
    async with sessionmaker() as session:
        again = await session.get(Member, member_id)
        assert again is not None and again.name == "改名"
    assert inspect(adopted).detached  # closing the session let it go, as a loaded one


async def test_a_read_takes_no_lock(sessionmaker: Maker) -> None:
    """Before the request's transaction begins a read runs on its own, so a lock it took would
    be gone at once: refused where it would be run that way (PostgreSQL)."""
    locking = Read(_COUNT.with_for_update())
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite takes no row locks; the reads run through SQLAlchemy there")
        with pytest.raises(TypeError, match="no lock"):
            await locking.all(session, {"member_id": 1})


async def test_a_locking_read_holds_its_lock_until_the_session_ends(
    sessionmaker: Maker, org: Org
) -> None:
    """Its lock lasts as long as the request's transaction, which it begins when it is the
    first statement: another transaction cannot take the row meanwhile, and can once it ends."""
    member_id = org.id("member_a1")
    row = sa_select(col(Member.name)).where(col(Member.id) == bindparam("member_id"))
    locking = Locking(row.with_for_update())
    taken_elsewhere = text("SELECT name FROM member WHERE id = :member_id FOR UPDATE NOWAIT")
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite takes no row locks; the reads run through SQLAlchemy there")
        assert await locking.scalar(session, {"member_id": member_id}) == "member_a1"
        async with sessionmaker() as other:
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                await other.execute(taken_elsewhere, {"member_id": member_id})
        await session.commit()
    async with sessionmaker() as other:
        assert (await other.execute(taken_elsewhere, {"member_id": member_id})).scalar_one()


# --- writes --------------------------------------------------------------------------------------

_PROBE = (
    insert(Probe.__table__)  # type: ignore[attr-defined]
    .values(id=bindparam("id"), member_id=bindparam("member_id"), created_at=bindparam("at"))
    .returning(col(Probe.id), col(Probe.created_at))
)


async def _probes(sessionmaker: Maker) -> list[int | None]:
    async with sessionmaker() as session:
        return list((await session.scalars(sa_select(col(Probe.id)).order_by(col(Probe.id)))).all())


async def test_a_write_commits_and_rolls_back_with_the_session(
    sessionmaker: Maker, org: Org
) -> None:
    """The first statement of a transaction as much as a later one: on PostgreSQL the driver's
    transaction is begun for it, so a rollback takes it back."""
    write = Write(_PROBE)
    at = utcnow()
    values = {"member_id": org.id("member_a1"), "at": at}
    async with sessionmaker() as session:
        assert tuple(await write.all(session, {**values, "id": 901})) == ((901, at),)
        await session.rollback()
    async with sessionmaker() as session:
        await Read(_COUNT).scalar(session, {"member_id": 0})  # a read begins nothing
        assert await write.scalar(session, {**values, "id": 902}) == 902
        await session.commit()
    async with sessionmaker() as session:
        await Read(_COUNT).scalar(session, {"member_id": 0})
        session.add(Notice(member_id=org.id("member_a1"), kind=NoticeKind.threshold, title="t"))
        await session.flush()  # the ORM began the transaction: the write joins it
        assert await write.scalar(session, {**values, "id": 903}) == 903
        await session.rollback()
    assert await _probes(sessionmaker) == [902]


async def test_a_refused_write_fails_as_through_sqlalchemy(sessionmaker: Maker, org: Org) -> None:
    write = Write(_PROBE)
    values = {"member_id": org.id("member_a1"), "at": utcnow()}
    async with sessionmaker() as session:
        await write.all(session, {**values, "id": 904})
        await session.commit()
    async with sessionmaker() as session:
        with pytest.raises(IntegrityError):
            await write.all(session, {**values, "id": 904})
        await session.rollback()
        with pytest.raises(IntegrityError):  # a member that does not exist
            await write.all(session, {**values, "id": 905, "member_id": 10**6})
        await session.rollback()
        assert await write.scalar(session, {**values, "id": 906}) == 906
        await session.commit()
    assert await _probes(sessionmaker) == [904, 906]


async def test_a_write_the_database_cannot_prepare_fails_as_through_sqlalchemy(
    sessionmaker: Maker,
) -> None:
    missing = table("no_such_table", column("id"))
    write = Write(insert(missing).values(id=bindparam("id")).returning(missing.c.id))
    async with sessionmaker() as session:
        with pytest.raises(DBAPIError, match="no_such_table"):
            await write.all(session, {"id": 1})


async def test_a_write_whose_connection_was_lost_fails_as_through_sqlalchemy(
    sessionmaker: Maker, org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection is invalidated, so the pool never hands it out again."""
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("a lost connection is the driver's: SQLite writes through SQLAlchemy")
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
        async with sessionmaker() as other:
            await other.execute(text(f"SELECT pg_terminate_backend({pid})"))
        with pytest.raises(DBAPIError) as raised:
            await Write(_PROBE).all(session, {"id": 907, "member_id": 1, "at": utcnow()})
        assert raised.value.connection_invalidated
    assert "written again through SQLAlchemy" in caplog.text
    caplog.clear()  # expected here, refused anywhere else (conftest)
    assert await _probes(sessionmaker) == []
