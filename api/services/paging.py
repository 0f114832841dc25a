"""Keyset pages of the lists a phone scrolls: the next page starts after the last row seen, so
a row added meanwhile neither repeats nor hides one, and the database seeks instead of counting
past an offset."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, tuple_

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
