"""Notice shapes: one model per notice kind, each with the data its writer puts in it.

`NoticeOut` is a union discriminated by `kind`, so that a client reads `data` by the notice's
kind (`notice.kind === "deduction_card"` → `notice.data.item_name`). The data keys are also
what a WeChat template's fields name (`TemplateIn.fields`), so they keep the names and values
the writers give them: decimals and times as the strings they were written as.
"""

from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
)

from api.models import ClaimStatus, Delivery, Notice, NoticeKind
from api.models.delivery import Channel, DeliveryStatus
from api.schemas.common import CursorPage
from api.schemas.labels import (
    CHANNEL_LABELS,
    CLAIM_STATUS_LABELS,
    COMPONENT_LABELS,
    DELIVERY_STATUS_LABELS,
    enum_labels,
)
from api.schemas.templates import DeliveryAttemptOut
from api.schemas.values import Points, Timestamp
from api.scoring.scheme import ComponentKind

SubscriptionResult = Literal["accept", "reject", "ban", "filter"]

TIME = "ISO 8601 时间（带时区）"


class NextThreshold(BaseModel):
    at: Points = Field(description="下一个阈值")
    remaining: Points = Field(description="距下一个阈值还差的记分")
    consequence: str = Field(description="达到后的处理")


class DeductionCardData(BaseModel):
    """记分告知卡: item, points, reason, running total, next threshold, appeal deadline."""

    entry_id: int
    item_code: str
    item_name: str
    points: Points
    reason: str
    occurred_on: str = Field(description="发生日期（YYYY-MM-DD）")
    period: str = Field(description="考核期")
    running_points: Points | None = Field(description="本期累计记分")
    running_total: Points | None = Field(description="本期总分")
    next_threshold: NextThreshold | None
    appeal_deadline: str = Field(description=f"申诉截止时间，{TIME}")


class ThresholdData(BaseModel):
    """累计记分达到阈值."""

    at: Points = Field(description="达到的阈值")
    points: Points = Field(description="累计记分")
    consequence: str = Field(description="处理")
    entry_id: int
    action_id: int


def _unwritten(value: object) -> bool:
    return value is None


# A field its writer does not give (see `ClaimResultData`) is left out, not sent as null.
Unwritten = Field(default=None, exclude_if=_unwritten)


class ClaimResultData(BaseModel):
    """审核结果: of a claim (claim_id…), a micro-wish (wish_id…) or a commitment
    (commitment_id): each carries only its own fields, and `reason` (empty for a wish)."""

    claim_id: int | None = Unwritten
    item_code: str | None = Unwritten
    points: Points | None = Unwritten
    status: ClaimStatus | None = Field(
        default=None, exclude_if=_unwritten, description=enum_labels(CLAIM_STATUS_LABELS)
    )
    wish_id: int | None = Unwritten
    title: str | None = Field(default=None, exclude_if=_unwritten, description="微心愿标题")
    entry_id: int | None = Field(
        default=None, exclude_if=_unwritten, description="微心愿完成后记入的积分记录"
    )
    commitment_id: int | None = Unwritten
    reason: str | None = None


class AppealData(BaseModel):
    """收到申诉 / 申诉结果."""

    appeal_id: int
    entry_id: int
    reason: str | None


class EvaluationReminderData(BaseModel):
    round_id: int
    deadline: str = Field(description=f"评议截止时间，{TIME}")


class ComponentScore(BaseModel):
    kind: ComponentKind = Field(description=enum_labels(COMPONENT_LABELS))
    name: str
    weight: Decimal = Field(description="权重（如 0.3）")
    value: Points | None = Field(description="得分；尚未评议时为空")
    counted: Points | None = Field(description="计入总分的分数（得分 × 权重）")


class MonthlyScoreData(BaseModel):
    """月度积分情况: the running score as the scheme means it, the total once complete."""

    period: str
    period_label: str
    score_text: str = Field(description="积分说明，如“日常积分 60 分（占30%，计 18 分）”")
    points: Points | None
    components: list[ComponentScore]
    pending: list[str] = Field(description="尚待评议的组成部分")
    total: Points | None = Field(description="总分：各部分齐全后才有")
    rank: int | None
    tier: str | None = Field(description="档次名称：各部分齐全后才有")


class PeriodResultData(BaseModel):
    period_id: int
    period: str
    total: Points | None
    tier: str | None = Field(description="档次代码，由方案定义")


class PeriodReminderData(BaseModel):
    period_id: int
    period: str


class QuarterlySummaryData(BaseModel):
    unit_id: int
    unit: str
    period: str
    bonus_points: Points
    deduction_points: Points
    members_with_entries: int


class RobotFailedData(BaseModel):
    branch_id: int
    errcode: int
    reason: str


class PublicationWithdrawnData(BaseModel):
    period_id: int
    period: str
    reason: str
    withdrawn_at: str = Field(description=TIME)


class ShareBoardData(BaseModel):
    period_id: int
    unit_id: int
    unit: str
    period: str
    hint: str
    page: str = Field(description="小程序页面")


class MeetingData(BaseModel):
    """会议通知 / 会议变更 / 会前提醒."""

    meeting_id: int
    title: str
    kind: str = Field(description="会议类型的名称（如 支部党员大会），按通知时方案的叫法")
    starts_at: str = Field(description=TIME)
    place: str


class MeetingCancelledData(MeetingData):
    reason: str


class LeaveRequestedData(MeetingData):
    leave_request_id: int
    member_id: int = Field(description="请假的党员")
    reason: str


class LeaveResultData(MeetingData):
    leave_request_id: int
    status: Literal["已批准", "未批准"] = Field(description="审批结果（中文）：已批准；未批准")
    reason: str


class FollowUpData(BaseModel):
    action_id: int
    period: str
    action_code: str
    label: str
    branch_id: int | None


class FollowUpWithdrawnData(FollowUpData):
    reason: str


K = TypeVar("K")
D = TypeVar("D")


class NoticeBase(BaseModel, Generic[K, D]):
    id: int
    kind: K
    title: str
    data: D
    read_at: Timestamp | None
    created_at: Timestamp
    delivery_status: DeliveryStatus | None = Field(
        default=None,
        description="微信投递：" + enum_labels(DELIVERY_STATUS_LABELS),
    )
    delivery_channel: Channel | None = Field(default=None, description=enum_labels(CHANNEL_LABELS))
    delivery_reason: str | None = Field(default=None, description="未送达微信的原因")
    delivery_history: list[DeliveryAttemptOut] = Field(
        default_factory=list, description="如何送达微信：每个渠道的尝试及其结果"
    )


class DeductionCardNotice(NoticeBase[Literal[NoticeKind.deduction_card], DeductionCardData]):
    """记分告知卡"""


class ThresholdNotice(NoticeBase[Literal[NoticeKind.threshold], ThresholdData]):
    """累计记分达到阈值"""


class ClaimResultNotice(NoticeBase[Literal[NoticeKind.claim_result], ClaimResultData]):
    """审核结果（申报、微心愿、承诺）"""


class AppealFiledNotice(NoticeBase[Literal[NoticeKind.appeal_filed], AppealData]):
    """收到记分申诉"""


class AppealResultNotice(NoticeBase[Literal[NoticeKind.appeal_result], AppealData]):
    """申诉结果"""


class EvaluationReminderNotice(
    NoticeBase[Literal[NoticeKind.evaluation_reminder], EvaluationReminderData]
):
    """评议提醒"""


class MonthlyScoreNotice(NoticeBase[Literal[NoticeKind.monthly_score], MonthlyScoreData]):
    """月度积分情况"""


class PeriodResultNotice(NoticeBase[Literal[NoticeKind.period_result], PeriodResultData]):
    """考核结果已公示"""


class PeriodReminderNotice(NoticeBase[Literal[NoticeKind.period_reminder], PeriodReminderData]):
    """考核期已结束，请结算"""


class QuarterlySummaryNotice(
    NoticeBase[Literal[NoticeKind.quarterly_summary], QuarterlySummaryData]
):
    """积分汇总（报上级）"""


class RobotFailedNotice(NoticeBase[Literal[NoticeKind.robot_failed], RobotFailedData]):
    """群机器人推送失败"""


class PublicationWithdrawnNotice(
    NoticeBase[Literal[NoticeKind.publication_withdrawn], PublicationWithdrawnData]
):
    """公示已撤回"""


class ShareBoardNotice(NoticeBase[Literal[NoticeKind.share_board], ShareBoardData]):
    """公示已生成，请分享到支部微信群"""


class MeetingScheduledNotice(NoticeBase[Literal[NoticeKind.meeting_scheduled], MeetingData]):
    """会议通知"""


class MeetingChangedNotice(NoticeBase[Literal[NoticeKind.meeting_changed], MeetingData]):
    """会议变更"""


class MeetingCancelledNotice(
    NoticeBase[Literal[NoticeKind.meeting_cancelled], MeetingCancelledData]
):
    """会议取消（或无需参会）"""


class MeetingReminderNotice(NoticeBase[Literal[NoticeKind.meeting_reminder], MeetingData]):
    """会前提醒"""


class LeaveRequestedNotice(NoticeBase[Literal[NoticeKind.leave_requested], LeaveRequestedData]):
    """请假申请"""


class LeaveResultNotice(NoticeBase[Literal[NoticeKind.leave_result], LeaveResultData]):
    """请假审批结果"""


class FollowUpNotice(NoticeBase[Literal[NoticeKind.follow_up], FollowUpData]):
    """结算决定的处理"""


class FollowUpWithdrawnNotice(
    NoticeBase[Literal[NoticeKind.follow_up_withdrawn], FollowUpWithdrawnData]
):
    """处理已撤回"""


AnyNotice = Annotated[
    DeductionCardNotice
    | ThresholdNotice
    | ClaimResultNotice
    | AppealFiledNotice
    | AppealResultNotice
    | EvaluationReminderNotice
    | MonthlyScoreNotice
    | PeriodResultNotice
    | PeriodReminderNotice
    | QuarterlySummaryNotice
    | RobotFailedNotice
    | PublicationWithdrawnNotice
    | ShareBoardNotice
    | MeetingScheduledNotice
    | MeetingChangedNotice
    | MeetingCancelledNotice
    | MeetingReminderNotice
    | LeaveRequestedNotice
    | LeaveResultNotice
    | FollowUpNotice
    | FollowUpWithdrawnNotice,
    Field(discriminator="kind"),
]


class NoticeOut(RootModel[AnyNotice]):
    """通知：`data` 的字段由 `kind` 决定。"""

    @classmethod
    def of(cls, notice: Notice, delivery: Delivery | None = None) -> "NoticeOut":
        return cls.model_validate(
            {
                "id": notice.id,
                "kind": notice.kind,
                "title": notice.title,
                "data": notice.data,
                "read_at": notice.read_at,
                "created_at": notice.created_at,
                "delivery_status": delivery.status if delivery else None,
                "delivery_channel": delivery.channel if delivery else None,
                "delivery_reason": delivery.reason if delivery else None,
                "delivery_history": delivery.history if delivery else [],
            }
        )


class InboxOut(CursorPage[NoticeOut]):
    unread: int


class SubscriptionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # One call of wx.requestSubscribeMessage asks for at most three templates.
    results: dict[Annotated[str, Field(max_length=64)], SubscriptionResult] = Field(
        max_length=20,
        description="wx.requestSubscribeMessage 的结果：模板 ID → accept/reject/ban/filter",
    )
