"""WeChat login, binding, refresh, logout and the dev-mode login."""

from fastapi import Depends, Response, status

from api.db import SessionDep
from api.deps import ClientAddress, LimiterDep, SettingsDep, WeChatDep
from api.models import LoginKind
from api.routers import DomainRouter
from api.schemas.auth import (
    BindingTicketOut,
    DevAccount,
    DevLoginIn,
    InviteBindIn,
    LogoutIn,
    PhoneBindIn,
    RefreshIn,
    TokensOut,
    WeChatLoginIn,
)
from api.schemas.members import MemberPublic
from api.services import auth as service

router = DomainRouter(prefix="/auth", tags=["登录"])


async def _no_store(response: Response) -> None:
    """A response carrying a token is kept by no cache between the phone and us."""
    response.headers["Cache-Control"] = "no-store"


CARRIES_TOKENS = [Depends(_no_store)]


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
    dependencies=CARRIES_TOKENS,
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


@router.post(
    "/bind/phone",
    dependencies=CARRIES_TOKENS,
    summary="用微信手机号绑定花名册中的党员",
    description=(
        "微信登录返回绑定凭证后，用 getPhoneNumber 的 code 换取手机号，"
        "与花名册核对后绑定并返回令牌。尝试次数有限。"
    ),
)
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


@router.post(
    "/bind/invite",
    dependencies=CARRIES_TOKENS,
    summary="用支部发放的邀请码绑定党员",
    description="花名册中没有手机号或手机号不同时，用支部为该党员生成的一次性邀请码绑定。尝试次数有限。",
)
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


@router.post(
    "/refresh",
    dependencies=CARRIES_TOKENS,
    summary="用 refresh_token 换新令牌（旧的随即失效）",
    description="同一 refresh_token 在短时间内（REFRESH_GRACE_SECONDS）重复提交，返回同一对新令牌；"
    "此后再次使用视为泄露，本次登录的全部令牌立即失效（refresh_token_reused）。",
)
async def refresh(body: RefreshIn, session: SessionDep, settings: SettingsDep) -> TokensOut:
    return _tokens(await service.refresh(session, settings, body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="退出登录",
    description="本次登录的全部令牌（含 access_token）立即失效；everywhere 为真时退出所有设备。",
)
async def logout(body: LogoutIn, session: SessionDep, settings: SettingsDep) -> None:
    await service.logout(session, settings, body.refresh_token, everywhere=body.everywhere)


@router.post(
    "/dev/login",
    summary="【仅开发模式】以演示党员身份登录",
    description="只在 ENV=dev 且未配置微信 AppID 时可用；生产环境始终返回 404。",
    dependencies=CARRIES_TOKENS,
)
async def dev_login(body: DevLoginIn, session: SessionDep, settings: SettingsDep) -> TokensOut:
    kind = LoginKind.console if body.console else LoginKind.miniprogram
    return _tokens(await service.dev_login(session, settings, body.phone, kind=kind))


@router.get(
    "/dev/accounts",
    summary="【仅开发模式】可登录的演示账号",
    description="开发模式下可一键登录的演示党员及其职务；生产环境不存在此接口。",
)
async def dev_accounts(session: SessionDep, settings: SettingsDep) -> list[DevAccount]:
    return [
        DevAccount(name=member.name, phone=member.phone, roles=roles, unit=unit)
        for member, unit, roles in await service.dev_accounts(session, settings)
    ]
