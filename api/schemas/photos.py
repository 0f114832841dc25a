"""Evidence photo shapes."""

from pydantic import BaseModel, Field

from api.schemas.values import Timestamp


class PhotoUrlOut(BaseModel):
    """A photo as the mini-program shows it."""

    id: int
    url: str = Field(
        description="不带登录凭证即可加载的临时链接（用于 <image src>、wx.downloadFile），"
        "到期后请重新获取所在的数据"
    )
    url_expires_at: Timestamp = Field(description="链接到期时间")


class PhotoOut(PhotoUrlOut):
    sha256: str
    content_type: str
    width: int
    height: int
    size: int
    used_in_claims: int = Field(description="已被多少条申报使用（大于 0 说明是重复证据）")
    used_as_evidence: int = Field(
        description="这张照片或与之近似的照片（另存、压缩、改动少量像素）已作为证据使用的次数："
        "申报、微心愿、申诉、记分"
    )
