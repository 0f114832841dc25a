"""Shapes shared by every domain."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from api.deps import PageParams

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="符合条件的总条数")
    page: int
    size: int

    @classmethod
    def of(cls, items: list[T], total: int, params: PageParams) -> "Page[T]":
        return cls(items=items, total=total, page=params.page, size=params.size)
