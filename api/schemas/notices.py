"""Notice shapes."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from api.schemas.common import Page


class NoticeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    title: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime


class InboxOut(Page[NoticeOut]):
    unread: int
