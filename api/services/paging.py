"""Pages of lists. The lists a phone scrolls are keyset pages: the next page starts after the
last row seen, so a row added meanwhile neither repeats nor hides one, and the database seeks
instead of counting past an offset. Other lists are numbered pages (`paged`)."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import PageParams

R = TypeVar("R")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def keyset(
    query: Q,
    columns: Sequence[Any],
    after: Sequence[Any] | None,
    size: int,
    *,
    descending: bool,
) -> Q:
    """`query` ordered by `columns` (the last one unique), from after the row keyed `after`,
    one row more than the page (so the page knows whether another follows)."""
    if after is not None:
        row = tuple_(*columns)
        query = query.where(row < tuple(after) if descending else row > tuple(after))
    order = [column.desc() if descending else column for column in columns]
    return query.order_by(*order).limit(size + 1)


def cut(
    rows: Sequence[R], size: int, key_of: Callable[[R], tuple[int, ...]]
) -> tuple[list[R], tuple[int, ...] | None]:
    """The page of `rows` fetched by `keyset`, and its last row's key if another page follows."""
    if len(rows) <= size:
        return list(rows), None
    page = list(rows[:size])
    return page, key_of(page[-1])


async def paged(
    session: AsyncSession, query: Select[Any], page: PageParams
) -> tuple[list[Any], int]:
    """One numbered page of the query's rows (in its order) and how many rows it has in all."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = await session.scalars(query.offset(page.offset).limit(page.size))
    return list(rows), total or 0
