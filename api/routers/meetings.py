"""组织生活 (三会一课, 主题党日) with attendance."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import CurrentPrincipal
from api.schemas.meetings import MeetingIn, MeetingOut
from api.services import meetings as service

router = APIRouter(tags=["meetings"])


@router.post("/org/units/{branch_id}/meetings", status_code=201, summary="记录组织生活及出席情况")
async def record(
    branch_id: int, body: MeetingIn, principal: CurrentPrincipal, session: SessionDep
) -> MeetingOut:
    meeting = await service.record(
        session, principal, branch_id, body.held_on, body.kind, body.title, body.attendance
    )
    return MeetingOut.model_validate(meeting)
