"""组织生活 (三会一课, 主题党日) with attendance."""

from datetime import date, datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.models import Attendance
from api.services import meetings as service

router = APIRouter(tags=["meetings"])


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    held_on: date
    kind: str = Field(
        min_length=1, max_length=32, description="如 支部党员大会、党小组会、主题党日"
    )
    title: str = Field(min_length=1, max_length=100)
    attendance: dict[int, Attendance] = Field(description="党员 ID → present/leave/absent")


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    held_on: date
    kind: str
    title: str
    created_at: datetime


@router.post("/org/units/{branch_id}/meetings", status_code=201, summary="记录组织生活及出席情况")
async def record(
    branch_id: int, body: MeetingIn, principal: CurrentPrincipal, session: SessionDep
) -> MeetingOut:
    meeting = await service.record(
        session, principal, branch_id, body.held_on, body.kind, body.title, body.attendance
    )
    return MeetingOut.model_validate(meeting)
