"""WeChat login, binding, refresh and the dev-mode login."""

from fastapi import APIRouter

from api.db import SessionDep
from api.deps import ClientAddress, LimiterDep, SettingsDep, WeChatDep
from api.schemas.auth import (
    BindingTicketOut,
    DevAccount,
    DevLoginIn,
    InviteBindIn,
    PhoneBindIn,
    RefreshIn,
    TokensOut,
    WeChatLoginIn,
)
from api.schemas.members import MemberPublic
from api.services import auth as service

router = APIRouter(prefix="/auth", tags=["auth"])


def _tokens(pair: service.TokenPair) -> TokensOut:
    return TokensOut(
        access_token=pair.access.token,
        access_token_expires_at=pair.access.expires_at,
        refresh_token=pair.refresh.token,
        refresh_token_expires_at=pair.refresh.expires_at,
        member=MemberPublic.model_validate(pair.member),
    )


@router.post(
    "/wechat/login",
    summary="微信登录（wx.login 的 code 换取登录态）",
    description="已绑定的微信号直接返回令牌；未绑定的返回短时有效的绑定凭证。",
)
async def wechat_login(
    body: WeChatLoginIn,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    limiter: LimiterDep,
    address: ClientAddress,
) -> TokensOut | BindingTicketOut:
    await limiter.login(address)
    outcome = await service.login_with_wechat(session, wechat, settings, body.code, limiter=limiter)
    if outcome.tokens is not None:
        return _tokens(outcome.tokens)
    assert outcome.binding_ticket is not None
    return BindingTicketOut(
        binding_ticket=outcome.binding_ticket.token,
        binding_ticket_expires_at=outcome.binding_ticket.expires_at,
    )


@router.post("/bind/phone", summary="用微信手机号绑定花名册中的党员")
async def bind_by_phone(
    body: PhoneBindIn,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    limiter: LimiterDep,
    address: ClientAddress,
) -> TokensOut:
    await limiter.binding(address, body.binding_ticket)
    pair = await service.bind_by_phone(
        session, wechat, settings, body.binding_ticket, body.phone_code
    )
    return _tokens(pair)


@router.post("/bind/invite", summary="用支部发放的邀请码绑定党员")
async def bind_by_invite(
    body: InviteBindIn,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    address: ClientAddress,
) -> TokensOut:
    await limiter.binding(address, body.binding_ticket)
    pair = await service.bind_by_invite(session, settings, body.binding_ticket, body.invite_code)
    return _tokens(pair)


@router.post("/refresh", summary="用 refresh_token 换新令牌（旧的随即失效）")
async def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokensOut:
    return _tokens(await service.refresh(session, settings, body.refresh_token))


@router.post(
    "/dev/login",
    summary="【仅开发模式】以演示党员身份登录",
    description="只在 ENV=dev 且未配置微信 AppID 时可用；生产环境始终返回 404。",
)
async def dev_login(body: DevLoginIn, session: SessionDep, settings: SettingsDep) -> TokensOut:
    return _tokens(await service.dev_login(session, settings, body.phone))


@router.get("/dev/accounts", summary="【仅开发模式】可登录的演示账号")
async def dev_accounts(session: SessionDep, settings: SettingsDep) -> list[DevAccount]:
    return [
        DevAccount(name=member.name, phone=member.phone, roles=roles, unit=unit)
        for member, unit, roles in await service.dev_accounts(session, settings)
    ]
