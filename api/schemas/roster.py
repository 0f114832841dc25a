"""Roster import shapes."""

from pydantic import BaseModel, Field


class RosterRowError(BaseModel):
    row: int = Field(description="Excel 行号（含表头，第一条数据为第 2 行）")
    column: str | None = Field(description="出错的列名")
    reason: str


class RosterImportOut(BaseModel):
    created: int
    updated: int
    units_created: int = Field(description="新建的党小组数量")
