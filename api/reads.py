"""Reads and writes built once and run on every request, straight on the driver where it is
PostgreSQL.

A phone request runs a handful of small SELECTs. Through the ORM session each one cost about
0.11 ms of the worker's CPU (ORM compile state, result set-up, row hydration) against 0.03 ms for
asyncpg's own `fetch` of the same prepared statement on the same connection (a count of a
member's notices, timed in one process); the home screen ran a dozen. `Read` keeps a
statement's SQL, its values' converters and its columns' converters from the first run, and later
runs are the driver's call and those converters only: the same SQL, the same values and the same
Python values in the rows as SQLAlchemy gives (tests compare the two).

A read runs on the request's connection, inside its transaction when one has begun (it sees the
request's own writes); before that, on its own, which under READ COMMITTED is the same snapshot
a statement inside the transaction would get. Only plain SELECTs: nothing that locks or writes.
A `Write` (INSERT, UPDATE or DELETE with RETURNING) and a `Locking` read (FOR SHARE, FOR
UPDATE) always run inside it, beginning it if no statement has.

On SQLite (tests, `make run`) the statement runs through SQLAlchemy Core, without the ORM.

`adopt` turns a row of a table's columns into that table's object in the session, as the ORM would
have loaded it, so that a later `session.get` of it costs no statement; `get` is `session.get` so.
"""

import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Column, CompoundSelect, Result, Select, bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, class_mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.dml import ReturningDelete, ReturningInsert, ReturningUpdate
from sqlalchemy.util import greenlet_spawn
from sqlmodel import SQLModel

log = logging.getLogger(__name__)

Row = Sequence[Any]
Model = TypeVar("Model", bound=SQLModel)
Converter = Callable[[Any], Any]
# What the driver raises for the connection or the values (asyncpg's DataError is an
# InterfaceError): the read is run again through SQLAlchemy, which says it in its own terms.
_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, OverflowError)
# A SELECT, or SELECTs joined by UNION.
Columns = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]
ReturningWrite = (
    ReturningInsert[*tuple[Any, ...]]
    | ReturningUpdate[*tuple[Any, ...]]
    | ReturningDelete[*tuple[Any, ...]]
)
_LOCKING = re.compile(r"\bFOR (UPDATE|SHARE|NO KEY UPDATE|KEY SHARE)\b")
# Lengths of a statement's lists whose SQL is kept (a member's units, a page of claims' ids).
MAX_SHAPES = 64


@dataclass(frozen=True)
class _Shape:
    """The SQL of a statement with lists for lists of given lengths, and its values' order."""

    sql: str
    names: tuple[str, ...]
    to_driver: Mapping[str, Converter]
    expansion: Mapping[str, Sequence[str]]  # a list's name: the names of its items


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for PostgreSQL, and what turns values into the driver's and back."""

    compiled: Any
    lists: tuple[str, ...]  # the names bound to lists (`expanding`)
    fixed: _Shape | None  # the statement's one shape, when SQLAlchemy renders nothing per run
    from_driver: tuple[Converter | None, ...] | None  # None: the driver's values are final
    shapes: dict[tuple[int, ...], _Shape] = field(default_factory=dict)

    def arguments(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        values = self.compiled.construct_params(params)
        shape = self.fixed or self._shape(params, tuple(len(values[n]) for n in self.lists))
        for name, items in shape.expansion.items():
            values.update(zip(items, values[name], strict=True))
        convert = shape.to_driver
        return shape.sql, [
            convert[name](values[name]) if name in convert else values[name] for name in shape.names
        ]

    def _shape(self, params: Mapping[str, Any] | None, lengths: tuple[int, ...]) -> _Shape:
        """The SQL for lists of these lengths, rendered once (SQLAlchemy renders a list's
        items as values of their own, `IN ($1, $2, $3)`)."""
        shape = self.shapes.get(lengths)
        if shape is None:
            state = self.compiled.construct_expanded_state(params)
            shape = _Shape(
                sql=state.statement,
                names=tuple(state.positiontup or ()),
                to_driver=state.processors,
                expansion=state.parameter_expansion,
            )
            if len(self.shapes) < MAX_SHAPES:
                self.shapes[lengths] = shape
        return shape

    def rows(self, fetched: Sequence[Row]) -> Sequence[Row]:
        if self.from_driver is None:
            return fetched
        return [
            tuple(v if f is None else f(v) for f, v in zip(self.from_driver, row, strict=True))
            for row in fetched
        ]


class _Statement:
    """A statement built once, run on the driver in the request's transaction (`Read`,
    `Write`): its SQL and converters kept from the first run. On SQLite, through SQLAlchemy
    Core."""

    statement: "Columns | ReturningWrite"
    reads_only: bool

    def __init__(self, statement: "Columns | ReturningWrite") -> None:
        self.statement = statement
        self._plan: _Plan | None = None

    async def all(
        self, session: AsyncSession, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row]:
        taken = await _take(session)
        if taken is None:
            return _rows(await (await session.connection()).execute(self.statement, params))
        return await self._on_driver(taken, params)

    async def _on_driver(self, taken: "_Taken", params: Mapping[str, Any] | None) -> Sequence[Row]:
        raise NotImplementedError

    async def _arguments(
        self, taken: "_Taken", params: Mapping[str, Any] | None
    ) -> tuple["_Plan", str, list[Any]]:
        """The SQL and the driver's values of a run, heard by whatever listens to the engine's
        statements (query budgets, fault drills)."""
        connection = taken.connection
        plan = self._plan or await self._prepare(connection.dialect, taken.driver)
        sql, arguments = plan.arguments(params)
        sync = connection.sync_connection
        if sync is not None and sync.dispatch.before_cursor_execute:
            sync.dispatch.before_cursor_execute(sync, None, sql, arguments, None, False)
        return plan, sql, arguments

    async def first(
        self, session: AsyncSession, params: Mapping[str, Any] | None = None
    ) -> Row | None:
        rows = await self.all(session, params)
        return rows[0] if rows else None

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any] | None = None) -> Any:
        row = await self.first(session, params)
        return row[0] if row is not None else None

    async def _prepare(self, dialect: Dialect, driver: Any) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        if any(bind.required for bind in compiled.literal_execute_params):
            # A value of the statement's own rendered into its SQL (a separator) is the same
            # every run; one given per run would make a statement per value.
            raise TypeError("a Read renders only its own values into its SQL (literal_execute)")
        if self.reads_only and _LOCKING.search(compiled.string):
            # Before the request's transaction has begun, a read runs on its own: a lock
            # would be released as soon as it was taken.
            raise TypeError("a Read takes no lock (FOR UPDATE, FOR SHARE)")
        # Each value by the name it has in the SQL (an anonymous one's is made at compiling).
        named = compiled.bind_names
        lists = tuple(dict.fromkeys(name for bind, name in named.items() if bind.expanding))
        fixed = None
        if not lists and not compiled.literal_execute_params:
            to_driver = {
                name: processor
                for bind, name in named.items()
                if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
            }
            fixed = _Shape(compiled.string, tuple(compiled.positiontup or ()), to_driver, {})
            sql_for_types = compiled.string
        else:
            example: dict[str, Any] = {
                name: [] if bind.expanding else bind.effective_value for bind, name in named.items()
            }
            sql_for_types = compiled.construct_expanded_state(example).statement
        # The columns' types as the database reports them, which some converters need (numeric).
        oids = [
            attribute.type.oid
            for attribute in (await driver.prepare(sql_for_types)).get_attributes()
        ]
        from_driver = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, oid)
            for column, oid in zip(self.statement.exported_columns, oids, strict=True)
        )
        self._plan = _Plan(
            compiled=compiled,
            lists=lists,
            fixed=fixed,
            from_driver=from_driver if any(from_driver) else None,
        )
        return self._plan


class Read(_Statement):
    """A SELECT of columns built once, run by `all`, `first` or `scalar`."""

    statement: Columns
    reads_only = True

    def __init__(self, statement: Columns) -> None:
        super().__init__(statement)

    async def _on_driver(self, taken: "_Taken", params: Mapping[str, Any] | None) -> Sequence[Row]:
        connection, driver = taken.connection, taken.driver
        try:
            plan, sql, arguments = await self._arguments(taken, params)
            rows: Sequence[Row] = await driver.fetch(sql, *arguments)
        except _DRIVER_ERRORS as exc:
            # A lost connection, a value the database refused: the same statement through
            # SQLAlchemy fails the same way (inside a transaction the failure aborted, as
            # that), and then as SQLAlchemy's error, which the app's handlers answer, with the
            # connection invalidated if it was lost.
            log.warning("read by the driver failed, read again through SQLAlchemy: %r", exc)
            return _rows(await connection.execute(self.statement, params))
        return plan.rows(rows)


class _InTransaction(_Statement):
    """A statement run on the driver inside the request's transaction (`Write`, `Locking`).

    The driver's transaction is begun first when no statement has begun it yet (SQLAlchemy
    begins it before its first statement, not when the session's transaction begins), so what
    the statement does commits or rolls back with the request, and a lock it takes lasts as
    long. A refusal by the database (a key, a check, a trigger) is raised as SQLAlchemy raises
    it (`IntegrityError`, `DBAPIError`); a lost connection runs the statement again through
    SQLAlchemy, which fails the same way and invalidates the connection.
    """

    reads_only = False

    async def _on_driver(self, taken: "_Taken", params: Mapping[str, Any] | None) -> Sequence[Row]:
        dialect = taken.connection.dialect
        planned: tuple[str, list[Any]] | None = None  # None: refused while being prepared
        try:
            if taken.adapted._transaction is None:
                await taken.adapted._start_transaction()
            plan, sql, arguments = await self._arguments(taken, params)
            planned = sql, arguments
            rows: Sequence[Row] = await taken.driver.fetch(sql, *arguments)
        except asyncpg.PostgresError as exc:
            if taken.driver.is_closed():
                return await self._again(taken, params, exc)
            sql, arguments = planned or (str(self.statement), [])
            raise _refusal(dialect, taken, sql, arguments, exc) from exc
        except (*_DRIVER_ERRORS, dialect.loaded_dbapi.Error) as exc:
            return await self._again(taken, params, exc)
        return plan.rows(rows)

    async def _again(
        self, taken: "_Taken", params: Mapping[str, Any] | None, exc: BaseException
    ) -> Sequence[Row]:
        log.warning("write by the driver failed, written again through SQLAlchemy: %r", exc)
        return _rows(await taken.connection.execute(self.statement, params))


class Write(_InTransaction):
    """An INSERT, UPDATE or DELETE with RETURNING built once, run like a `Read` in the
    request's transaction: through the ORM session the probe's one INSERT cost 0.12 ms of the
    worker's CPU, the driver's own call a quarter of that."""

    statement: ReturningWrite

    def __init__(self, statement: ReturningWrite) -> None:
        super().__init__(statement)


class Locking(_InTransaction):
    """A SELECT that locks what it reads (FOR UPDATE, FOR SHARE) built once, run like a `Write`
    in the request's transaction, so that its locks last until the request ends: through the
    ORM session a submission's check of its period cost three times the driver's call."""

    statement: Columns

    def __init__(self, statement: Columns) -> None:
        super().__init__(statement)


def _refusal(
    dialect: Dialect, taken: "_Taken", sql: str, arguments: list[Any], exc: BaseException
) -> BaseException:
    """The database's refusal of a statement as SQLAlchemy raises it: the driver's error as its
    adaptation translates it, wrapped in SQLAlchemy's class of that kind."""
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        taken.adapted._handle_exception(exc)
    except dbapi_error as translated:
        return DBAPIError.instance(
            sql, arguments, translated, dbapi_error, hide_parameters=True, dialect=dialect
        )
    return exc  # pragma: no cover - the adaptation raises for every error of the driver


@dataclass(frozen=True)
class _Taken:
    """The connection a session's transaction holds, with its driver's: taken from the session
    once per transaction (two trips through SQLAlchemy's greenlet, 19 µs, for each of the home
    screen's dozen reads otherwise)."""

    transaction: SessionTransaction | None
    connection: AsyncConnection
    driver: Any
    adapted: Any  # SQLAlchemy's adaptation of the driver's connection, which begins its BEGIN


_TAKEN = "reads.taken"


async def _take(session: AsyncSession) -> _Taken | None:
    """The session's connection and its driver's (None on SQLite, where statements run through
    SQLAlchemy Core)."""
    taken = _taken(session)
    if taken is not None:
        return taken
    # The connection and its driver's in one trip into SQLAlchemy's greenlet, not one each.
    sync, raw = await greenlet_spawn(_connect, session.sync_session)
    connection = AsyncConnection._retrieve_proxy_for_target(sync)
    if connection.dialect.name != "postgresql":
        return None
    assert raw.driver_connection is not None
    taken = _Taken(
        session.sync_session.get_transaction(),
        connection,
        raw.driver_connection,
        raw.dbapi_connection,
    )
    session.info[_TAKEN] = taken
    return taken


def _connect(session: Session) -> tuple[Connection, PoolProxiedConnection]:
    """The session's connection (beginning its transaction) and the pool's connection under it."""
    connection = session.connection()
    return connection, connection.connection


def _taken(session: AsyncSession) -> _Taken | None:
    """The session's connection as the last read took it, while the same transaction holds it."""
    taken: _Taken | None = session.info.get(_TAKEN)
    if taken is None or taken.transaction is None or taken.connection.invalidated:
        return None
    return taken if taken.transaction is session.sync_session.get_transaction() else None


def _rows(result: Result[*tuple[Any, ...]]) -> Sequence[Row]:
    rows: Sequence[Row] = result.all()
    return rows


def columns_of(model: type[SQLModel]) -> tuple[Column[Any], ...]:
    """A table's columns, in the order `adopt` takes its values."""
    return tuple(model.__table__.columns)  # type: ignore[attr-defined]


@functools.cache
def _layout(model: type[SQLModel]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The attribute of each of a table's columns, and where its primary key's columns are."""
    column: Column[Any]  # typed, so that api.raises resolves `column.key` as SQLAlchemy's
    names, key = [], []
    for position, column in enumerate(columns_of(model)):
        names.append(column.key)
        if column.primary_key:
            key.append(position)
    return tuple(names), tuple(key)


_ADOPTED = "reads.adopted"


def adopt(session: AsyncSession, model: type[Model], values: Sequence[Any]) -> Model:
    """The object of `model` whose columns (`columns_of`) hold `values`, in the session as if the
    ORM had loaded it: persistent, unchanged, found by `session.get` without a statement, its
    `load` event fired, and kept by the session for as long as it lasts (its identity map holds
    objects weakly: the scheme a submission found in force would be gone before its answer is
    labelled). The session's own object when it already holds that row (its changes, if any,
    stay)."""
    names, key = _layout(model)
    loaded = session.sync_session
    identity = loaded.identity_key(model, tuple(values[i] for i in key))
    identity_map = loaded.identity_map
    kept = identity_map.get(identity)
    if kept is not None:
        found: Model = kept
        session.info.setdefault(_ADOPTED, []).append(found)
        return found
    # Built and placed in the session as the ORM's loading (`orm/loading.py`) places a row it
    # has not seen (SQLAlchemy is pinned; `tests/test_reads.py` compares the two): no
    # constructor (SQLModel's sets each field through the change tracking, three times the
    # cost), the values straight into the instance's dict, its identity set and the object
    # put in the identity map. `make_transient_to_detached` and `session.add` did the same in
    # 22 µs, against 6 µs so: the principal adopts two rows on every request.
    adopted: Model = class_mapper(model).class_manager.new_instance()
    state = instance_state(adopted)
    state.dict.update(zip(names, values, strict=True))
    state.key = identity
    state.identity_token = identity[2]
    state.session_id = loaded.hash_key
    identity_map._add_unpresent(state, identity)
    state._commit_all(state.dict, identity_map)
    session.info.setdefault(_ADOPTED, []).append(adopted)
    if state.manager.dispatch.load:  # whoever listens to the model's loads hears this one
        state.manager.dispatch.load(state, None)
    return adopted


def held(session: AsyncSession, model: type[Model], ident: int) -> Model | None:
    """The session's object of the row with this key, if it holds one; no statement."""
    found: Model | None = session.sync_session.identity_map.get(
        session.sync_session.identity_key(model, ident)
    )
    return found


async def get(session: AsyncSession, model: type[Model], ident: int) -> Model | None:
    """`session.get` of a table with one integer key, read as a `Read` when the session does not
    hold the row already."""
    found = held(session, model, ident)
    if found is not None:
        return found
    row = await _by_key(model).first(session, {"ident": ident})
    return adopt(session, model, row) if row is not None else None


@functools.cache
def _by_key(model: type[SQLModel]) -> Read:
    _, (position,) = _layout(model)
    columns = columns_of(model)
    return Read(sa_select(*columns).where(columns[position] == bindparam("ident")))
