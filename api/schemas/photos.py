"""Evidence photo shapes."""

from pydantic import BaseModel, Field


class PhotoOut(BaseModel):
    id: int
    sha256: str
    content_type: str
    width: int
    height: int
    size: int
    used_in_claims: int = Field(description="已被多少条申报使用（大于 0 说明是重复证据）")
