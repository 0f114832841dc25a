"""The home screen's shape (`GET /me/home`)."""

from pydantic import BaseModel, Field

from api.models import ClaimStatus, PeriodStatus, RoundStatus
from api.schemas.labels import (
    CLAIM_STATUS_LABELS,
    PERIOD_STATUS_LABELS,
    ROUND_STAGE_LABELS,
    enum_labels,
)
from api.schemas.values import Points, Timestamp


class CurrentPeriodOut(BaseModel):
    key: str = Field(description="考核期，如 2026-10、2026-Q3")
    label: str = Field(description="如 2026年10月")
    status: PeriodStatus = Field(description=enum_labels(PERIOD_STATUS_LABELS))
    starts_at: Timestamp
    ends_at: Timestamp


class MyScoreOut(BaseModel):
    scheme: str
    points: Points | None = Field(description="本期日常积分（扣分制为累计记分）")
    total: Points | None = Field(description="本期总分（加权后）")
    ranks: dict[str, int] = Field(description="排名：group 党小组内、branch 支部内、town 全镇")
    ranked_at: Timestamp | None = Field(description="排名的计算时间（每分钟刷新）")


class HomeClaimOut(BaseModel):
    id: int
    item_code: str
    item_name: str
    points: Points
    status: ClaimStatus = Field(description=enum_labels(CLAIM_STATUS_LABELS))
    created_at: Timestamp


class HomeRoundOut(BaseModel):
    id: int
    period_key: str
    status: RoundStatus = Field(description=enum_labels(ROUND_STAGE_LABELS))
    deadline: Timestamp


class HomeMeetingOut(BaseModel):
    id: int
    title: str
    starts_at: Timestamp


class HomeBoardOut(BaseModel):
    period_id: int
    period_key: str
    period_label: str
    published_on: str = Field(description="公示日期（北京时间）")
    my_rank: int | None = Field(description="我在榜上的名次（不在榜上或免评为空）")
    size: int = Field(description="榜上人数")


class ToDoOut(BaseModel):
    pending_reviews: int = Field(description="待我审核的申报")
    open_appeals: int = Field(description="管辖范围内待处理的申诉")
    open_follow_ups: int = Field(description="管辖范围内未办结的待办（提醒、谈话等）")


class HomeAttendanceOut(BaseModel):
    """My attendance over the running period (the month when no scheme scores me)."""

    period: str
    label: str
    expected: int = Field(description="应到（已结束的会议）")
    present: int
    leave: int
    absent: int
    rate_percent: float | None = Field(description="出勤率：出席 ÷ 应到，百分数；无会议时为空")


class HomeOut(BaseModel):
    period: CurrentPeriodOut | None = Field(description="本期（没有适用的积分方案时为空）")
    score: MyScoreOut | None = Field(description="我的本期实时积分与排名")
    pending_claims: int = Field(description="我待审核的申报条数")
    latest_claims: list[HomeClaimOut] = Field(description="最近几条待审核的申报")
    unread_notices: int
    open_rounds: list[HomeRoundOut] = Field(description="本支部进行中的民主评议")
    upcoming_meetings: list[HomeMeetingOut] = Field(description="我将参加的会议（最近几场）")
    board: HomeBoardOut | None = Field(description="本支部最近一次公示的榜单")
    to_do: ToDoOut | None = Field(description="支部书记、支委、小组长的待办数；普通党员为空")
    attendance: HomeAttendanceOut = Field(description="我本期的组织生活出勤")
