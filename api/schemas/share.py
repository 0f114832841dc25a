"""Sharing a board in WeChat groups, and what a scanned code opens."""

from pydantic import BaseModel, ConfigDict, Field

from api.models import Opens
from api.schemas.values import Timestamp


class ShareOut(BaseModel):
    """What the share screen needs for `onShareAppMessage` and `wx.showShareImageMenu`."""

    title: str = Field(description="分享卡片标题")
    path: str = Field(description="onShareAppMessage 的 path（以 / 开头，带参数）")
    entrance_path: str = Field(description="showShareImageMenu 的 entrancePath（小程序入口页面）")
    image_url: str = Field(description="5:4 分享图（签名链接，无需登录；相对 API 域名）")
    poster_url: str = Field(description="排名海报（签名链接，供 wx.downloadFile 后分享图片）")
    expires_at: Timestamp = Field(description="两个图片链接的过期时间，过期后重新获取")
    outside_link: str | None = Field(
        description="在微信外（短信等）打开本公示的链接（URL Link）；无法生成时为空"
    )


class OpenedOut(BaseModel):
    """What a scanned code or a 小程序码's scene opens."""

    kind: Opens = Field(description="board 公示榜 / member_card 积分卡 / checkin 会议签到")
    page: str = Field(description="要打开的页面（以 / 开头，带参数）")
    title: str
    period_id: int | None = None
    unit_id: int | None = None
    member_id: int | None = None
    meeting_id: int | None = None
    code: str | None = Field(default=None, description="签到码：原样提交到 POST /checkins")


class SharersIn(BaseModel):
    sharer_ids: list[int] = Field(
        max_length=5, description="除支部书记外，公示生成时提醒分享到微信群的党员（本支部）"
    )


class SharerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
