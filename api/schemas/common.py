"""Shapes shared by every domain (the formats of values: `api.schemas.values`)."""

from collections.abc import Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from api.deps import PageParams, encode_cursor

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="符合条件的总条数")
    page: int
    size: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> "Page[T]":
        return cls(items=items, total=total, page=params.page, size=params.size)


class CursorPage(BaseModel, Generic[T]):
    """A page of a list a phone scrolls: pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    total: int = Field(description="符合条件的总条数")
    next_cursor: str | None = Field(description="下一页的游标；为空表示已到末尾")

    @classmethod
    def of(cls, items: list[T], total: int, last: Sequence[int] | None) -> "CursorPage[T]":
        """`last`: the sort key of the page's last row when more rows follow it."""
        return cls(items=items, total=total, next_cursor=encode_cursor(last) if last else None)
