"""Organisation-life meeting shapes."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.models import Attendance


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: date
    kind: str = Field(
        min_length=1, max_length=32, description="如 支部党员大会、党小组会、主题党日"
    )
    title: str = Field(min_length=1, max_length=100)
    attendance: dict[int, Attendance] = Field(
        max_length=1000, description="党员 ID → present/leave/absent（最多 1000 人）"
    )


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    held_on: date
    kind: str
    title: str
    created_at: datetime
