"""Login, binding and token shapes."""

from typing import Literal

from pydantic import BaseModel, Field

from api.models import Role
from api.schemas.labels import ROLE_LABELS, enum_labels
from api.schemas.members import MemberPublic
from api.schemas.values import Timestamp


class WeChatLoginIn(BaseModel):
    code: str = Field(min_length=1, max_length=128, description="wx.login 返回的 code")


class PhoneBindIn(BaseModel):
    binding_ticket: str = Field(min_length=1, max_length=2048)
    phone_code: str = Field(
        min_length=1, max_length=128, description="getPhoneNumber 按钮返回的 code"
    )


class InviteBindIn(BaseModel):
    binding_ticket: str = Field(min_length=1, max_length=2048)
    invite_code: str = Field(min_length=4, max_length=16, description="支部发放的邀请码")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class LogoutIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256, description="本次登录的 refresh_token")
    everywhere: bool = Field(default=False, description="同时退出该党员在所有设备上的登录")


class DevLoginIn(BaseModel):
    phone: str = Field(min_length=1, max_length=20, description="演示党员的手机号")
    console: bool = Field(default=False, description="作为 PC 控制台登录（时效较短）")


class TokensOut(BaseModel):
    status: Literal["bound"] = "bound"
    access_token: str
    access_token_expires_at: Timestamp
    refresh_token: str
    refresh_token_expires_at: Timestamp
    token_type: Literal["bearer"] = "bearer"
    member: MemberPublic


class BindingTicketOut(BaseModel):
    status: Literal["unbound"] = "unbound"
    binding_ticket: str = Field(description="短时有效，用于手机号或邀请码绑定")
    binding_ticket_expires_at: Timestamp


class DevAccount(BaseModel):
    name: str
    phone: str
    roles: list[Role] = Field(description=enum_labels(ROLE_LABELS))
    unit: str
