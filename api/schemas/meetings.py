"""组织生活 shapes: meetings, leave requests, scan-in codes and check-ins, attendance."""

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.models import (
    Attendance,
    CheckinFlag,
    CheckinMethod,
    CheckinStatus,
    LeaveStatus,
    MeetingStatus,
)
from api.schemas.labels import LEAVE_STATUS_LABELS, MEETING_STATUS_LABELS, enum_labels
from api.schemas.values import Timestamp

MAX_ATTENDEES = 500
Reason = Annotated[str, Field(min_length=2, max_length=500, description="原因，必填")]
# Not an enum: a scheme may declare meeting kinds of its own beside the built-in ones.
MEETING_KIND = (
    "会议类型代码：branch_assembly 支部党员大会；branch_committee 支委会；group_meeting 党小组会；"
    "party_lecture 党课；activity_day 主题党日；或方案自定义的类型（名称见 kind_name）"
)


class MeetingIn(BaseModel):
    """A meeting recorded after the fact, with each attendee's outcome (closed at once)."""

    model_config = ConfigDict(extra="forbid")

    held_on: date
    kind: str = Field(
        min_length=1,
        max_length=32,
        description="会议类型代码或名称，如 branch_assembly / 支部党员大会、党小组会、主题党日",
    )
    title: str = Field(min_length=1, max_length=100)
    attendance: dict[int, Attendance] = Field(
        max_length=MAX_ATTENDEES, description="党员 ID → present/leave/absent"
    )


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False, description="纬度（GCJ-02）")
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False, description="经度（GCJ-02）")


class _Attendees(BaseModel):
    unit_id: int | None = Field(
        default=None, description="按组织确定参会人员：本支部或其党小组的全体党员（不含免考核）"
    )
    member_ids: list[int] | None = Field(
        default=None, min_length=1, max_length=MAX_ATTENDEES, description="或逐一列出参会党员"
    )

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if self.unit_id is not None and self.member_ids is not None:
            raise ValueError("unit_id 与 member_ids 只能二选一")
        return self


class MeetingPlanIn(_Attendees):
    """A meeting announced ahead: without `unit_id` or `member_ids`, the whole branch."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        min_length=1,
        max_length=32,
        description="支部党员大会 branch_assembly、支委会 branch_committee、"
        "党小组会 group_meeting、党课 party_lecture、主题党日 activity_day，或方案自定义的类型",
    )
    title: str = Field(min_length=1, max_length=100)
    starts_at: AwareDatetime
    place: str = Field(default="", max_length=200)
    location: Location | None = Field(default=None, description="会场坐标（签到距离校验用）")
    checkin_radius_m: int | None = Field(
        default=None, ge=0, le=100_000, description="签到须在会场多少米内；0 关闭；空则用系统设置"
    )


class MeetingChangeIn(_Attendees):
    """Only the fields given change; null leaves a field as it is, except `location` and
    `checkin_radius_m`, which null clears."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(default=None, min_length=1, max_length=32)
    title: str | None = Field(default=None, min_length=1, max_length=100)
    starts_at: AwareDatetime | None = None
    place: str | None = Field(default=None, max_length=200)
    location: Location | None = None
    checkin_radius_m: int | None = Field(default=None, ge=0, le=100_000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class MemberReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: int
    reason: Reason


class LeaveDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "refuse"]
    reason: str | None = Field(default=None, max_length=500, description="不批准时必填")


class CheckinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1, max_length=1024, description="扫码得到的内容（签到链接或签到码）"
    )
    location: Location | None = Field(default=None, description="小程序 wx.getLocation 的位置")
    device: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="小程序本机保存的随机标识，用于发现一台手机替多人签到",
    )


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    branch_id: int
    held_on: date
    kind: str = Field(description=MEETING_KIND)
    kind_name: str
    title: str
    status: MeetingStatus = Field(description=enum_labels(MEETING_STATUS_LABELS))
    starts_at: Timestamp
    place: str
    latitude: float | None
    longitude: float | None
    checkin_radius_m: int | None
    close_count: int
    cancel_reason: str | None
    created_at: Timestamp


class LeaveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    meeting_id: int
    member_id: int
    reason: str
    status: LeaveStatus = Field(description=enum_labels(LEAVE_STATUS_LABELS))
    late: bool = Field(description="会后由支部补记")
    decided_by: int | None
    decision_reason: str | None
    decided_at: Timestamp | None
    created_at: Timestamp


class CheckinOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    meeting_id: int
    member_id: int
    status: CheckinStatus = Field(description="accepted 已签到；flagged 待支部核实")
    flags: list[CheckinFlag]
    distance_m: int | None
    created_at: Timestamp


class AttendeeOut(BaseModel):
    member_id: int
    name: str
    outcome: Attendance | None = Field(description="会议结束后确定")
    checkin: CheckinMethod | None
    checked_in_at: Timestamp | None
    leave: LeaveStatus | None
    flags: list[CheckinFlag] = Field(description="待核实的扫码签到")


class MeetingDetailOut(BaseModel):
    meeting: MeetingOut
    attendees: list[AttendeeOut] = Field(description="支委看到全体；党员只看到本人")
    leave_requests: list[LeaveOut]


class MyMeetingOut(BaseModel):
    meeting: MeetingOut
    outcome: Attendance | None
    checkin: CheckinMethod | None
    leave: LeaveOut | None


class CodeOut(BaseModel):
    meeting_id: int
    code: str
    content: str = Field(description="二维码内容：签到链接（或未配置链接前缀时的签到码）")
    refresh_at: Timestamp = Field(description="此时换下一个码")
    expires_at: Timestamp = Field(description="此后该码不再有效")


class OutcomeOut(BaseModel):
    member_id: int
    outcome: Attendance
    item_code: str | None = Field(description="本次结果记分的事项（方案不计分则为空）")
    entry_id: int | None


class ClosedOut(BaseModel):
    meeting: MeetingOut
    outcomes: list[OutcomeOut]
    flagged: list[int] = Field(description="扫码待核实、未计为出席的党员")


class AttendanceRecordOut(BaseModel):
    meeting_id: int
    title: str
    kind: str = Field(description=MEETING_KIND)
    kind_name: str
    starts_at: Timestamp
    outcome: Attendance
    checkin: CheckinMethod | None


class AttendanceOut(BaseModel):
    member_id: int
    period: str
    label: str
    expected: int
    present: int
    leave: int
    absent: int
    rate_percent: float | None = Field(description="出勤率：出席 ÷ 应到，百分数")
    records: list[AttendanceRecordOut]
