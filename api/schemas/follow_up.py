"""Committee follow-up shapes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CommitteeActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    cycle: int
    action_code: str
    label: str
    entry_id: int
    done_at: datetime | None
    created_at: datetime
