"""Committee follow-up shapes."""

from pydantic import BaseModel, ConfigDict, Field

from api.models import FollowUpStatus
from api.schemas.labels import FOLLOW_UP_STATUS_LABELS, enum_labels
from api.schemas.values import Timestamp


class CommitteeActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int | None = Field(description="涉及的党员（对支部的处理为空）")
    member_name: str | None
    branch_id: int | None = Field(description="涉及的支部（对党员的处理为空）")
    branch_name: str | None
    unit_id: int = Field(description="负责落实的组织：党员所在支部，或支部的上级党组织")
    period_id: int
    cycle: int
    action_code: str
    label: str
    source: str = Field(description="threshold 累计记分阈值、streak 连续/累计情形、item 事项")
    status: FollowUpStatus = Field(description=enum_labels(FOLLOW_UP_STATUS_LABELS))
    entry_id: int | None = Field(description="触发阈值的那条记分（结算决定的为空）")
    done_at: Timestamp | None
    withdrawn_at: Timestamp | None
    created_at: Timestamp
