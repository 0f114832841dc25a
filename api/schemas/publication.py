"""Publication: the 公示 board, the branch group robot and its posts."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from api.models import PostKind, PostStatus, RobotStatus
from api.schemas.labels import (
    POST_KIND_LABELS,
    POST_STATUS_LABELS,
    ROBOT_STATUS_LABELS,
    SUBJECT_KIND_LABELS,
    enum_labels,
)
from api.schemas.values import Points, Timestamp
from api.scoring.scheme import SubjectKind


class BoardRowOut(BaseModel):
    rank: int | None = Field(description="本组织内排名；免于考核者为空")
    subject_id: int
    name: str
    group: str | None = Field(description="党小组")
    total: Points | None
    tier_label: str | None = Field(description="档次/类别")
    list_color: str | None = Field(description="red 红榜 / yellow 黄榜")
    stars: int | None = Field(description="本期红星")
    cycle_flags: int | None = Field(description="本年红旗")
    flags: list[str] = Field(description="标记，如 末位、低于平均")
    money: Points | None
    exempt: bool
    award_eligible: bool | None = Field(
        default=None, description="可否推荐评先评优；方案未规定时为空（合阳：记分未抵消者不得推荐）"
    )
    award_reason: str | None = Field(default=None, description="不得推荐评先评优的原因")


class TierCountOut(BaseModel):
    label: str
    count: int


class BoardOut(BaseModel):
    """公示榜: exactly what was published (names and numbers as of publication)."""

    unit_id: int
    unit_name: str
    scheme_name: str
    period_key: str
    period_label: str
    published_on: str
    subject_kind: SubjectKind = Field(description=enum_labels(SUBJECT_KIND_LABELS))
    descending: bool = Field(description="true: 分数越高越好；false: 记分制，越少越好")
    average: Points | None
    tiers: list[TierCountOut]
    rows: list[BoardRowOut]
    withdrawn_at: Timestamp | None = Field(
        default=None, description="公示撤回的时间（考核期被重新打开）；未撤回为空"
    )
    withdrawn_reason: str | None = Field(default=None, description="公示撤回的原因")
    publicity_from: date = Field(description="公示期起（公示之日，北京时间）")
    publicity_until: date = Field(description="公示期止（含当日）")
    objection_channel: str = Field(description="异议渠道：公示期内如何提出异议、向谁反映")
    contacts: list[str] = Field(description="受理异议的负责人（该组织的书记或党委管理员）")


class BoardSummaryOut(BaseModel):
    unit_id: int
    unit_name: str
    scored: int
    average: Points | None
    withdrawn_at: Timestamp | None = Field(
        default=None, description="公示撤回的时间（考核期被重新打开）；未撤回为空"
    )
    withdrawn_reason: str | None = Field(default=None, description="公示撤回的原因")


class RobotIn(BaseModel):
    key: str = Field(
        min_length=16,
        max_length=300,
        description="企业微信群机器人的 Webhook 地址或其中的 key（保密，只写不读）",
    )
    top_n: int = Field(default=10, ge=1, le=50, description="群消息列出前几名")


class RobotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    branch_id: int
    key_hint: str = Field(description="key 的末四位，用于核对；完整 key 不会返回")
    status: RobotStatus = Field(description=enum_labels(ROBOT_STATUS_LABELS))
    top_n: int
    failure: str | None
    updated_at: Timestamp


class PostIn(BaseModel):
    period_id: int = Field(description="已公示的考核期")


class QueuedOut(BaseModel):
    queued: int = Field(description="新排队的消息数（同一请求重试为 0）")


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    publication_id: int
    kind: PostKind = Field(description=enum_labels(POST_KIND_LABELS))
    trigger: str
    status: PostStatus = Field(description=enum_labels(POST_STATUS_LABELS))
    attempts: int
    errcode: int | None
    reason: str | None
    md5: str | None
    sent_at: Timestamp | None
    created_at: Timestamp
