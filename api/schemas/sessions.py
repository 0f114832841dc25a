"""Logins of the signed-in member, and the tickets that sign a PC console in (扫码登录)."""

from typing import Literal

from pydantic import BaseModel, Field

from api.models import LoginKind
from api.schemas.auth import TokensOut
from api.schemas.values import Timestamp


class ConsoleTicketOut(BaseModel):
    ticket_id: str = Field(description="登录二维码编号（二维码里带的就是它）")
    secret: str = Field(
        description="只给电脑端：轮询时放在 X-Ticket-Secret 请求头中，不要显示、不要写进链接"
    )
    qr_content: str = Field(description="二维码内容：小程序扫码后据此确认登录")
    expires_at: Timestamp


class ConsoleTicketPending(BaseModel):
    status: Literal["pending"] = "pending"
    expires_at: Timestamp


class ConsoleTicketConfirmOut(BaseModel):
    status: Literal["confirmed"] = "confirmed"
    expires_at: Timestamp = Field(description="电脑端须在此之前取得登录")
    client: str | None = Field(description="发起登录的浏览器")


class ConsoleTokensOut(TokensOut):
    """The console's own login, issued once to the console that holds the ticket's secret."""

    session_id: int


class LoginOut(BaseModel):
    id: int
    kind: LoginKind = Field(description="miniprogram 小程序、console PC 控制台")
    kind_label: str = Field(description="登录方式（中文）")
    client: str | None = Field(description="PC 控制台登录时的浏览器")
    created_at: Timestamp
    expires_at: Timestamp
    current: bool = Field(description="是否为本次请求所用的登录")
