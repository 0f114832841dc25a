"""Scan to sign in on a PC (扫码登录), and the member's list of logins."""

from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response, status

from api.db import SessionDep
from api.deps import ClientAddress, CurrentPrincipal, LimiterDep, SettingsDep
from api.models import LoginKind, id_of
from api.routers import DomainRouter
from api.schemas.labels import LOGIN_KIND_LABELS
from api.schemas.members import MemberPublic
from api.schemas.sessions import (
    ConsoleTicketConfirmOut,
    ConsoleTicketOut,
    ConsoleTicketPending,
    ConsoleTokensOut,
    LoginOut,
)
from api.services import sessions as service
from api.services.auth import TokenPair

router = DomainRouter(tags=["我的登录"])

TicketId = Annotated[
    str,
    Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="登录二维码编号"),
]
# In a header, not the query: a URL is written to access logs, ours and every proxy's.
TicketSecret = Annotated[
    str,
    Header(
        alias="X-Ticket-Secret",
        min_length=1,
        max_length=64,
        description="申请二维码时得到的 secret（只在电脑端）",
    ),
]


async def _no_store(response: Response) -> None:
    """A ticket's secret and the tokens it turns into are kept by no cache."""
    response.headers["Cache-Control"] = "no-store"


@router.post(
    "/auth/console-tickets",
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(_no_store)],
    summary="电脑控制台：申请扫码登录的二维码",
    description="二维码几分钟内有效，只能使用一次；"
    "用小程序扫码并确认后，电脑端凭 secret 取得登录。",
)
async def create_ticket(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    address: ClientAddress,
) -> ConsoleTicketOut:
    await limiter.console_ticket(address)
    new = await service.create_ticket(session, settings, client=request.headers.get("user-agent"))
    return ConsoleTicketOut(
        ticket_id=new.ticket.ref,
        secret=new.secret,
        qr_content=new.qr_content,
        expires_at=new.ticket.expires_at,
    )


@router.get(
    "/auth/console-tickets/{ticket_id}",
    dependencies=[Depends(_no_store)],
    summary="电脑控制台：等待扫码确认（轮询）",
    description="未确认时返回 pending；确认后第一次轮询返回电脑端自己的登录令牌，二维码随即失效。",
)
async def poll_ticket(
    ticket_id: TicketId, secret: TicketSecret, session: SessionDep, settings: SettingsDep
) -> ConsoleTicketPending | ConsoleTokensOut:
    outcome = await service.redeem_ticket(session, settings, ref=ticket_id, secret=secret)
    if isinstance(outcome, TokenPair):
        return ConsoleTokensOut(
            access_token=outcome.access.token,
            access_token_expires_at=outcome.access.expires_at,
            refresh_token=outcome.refresh.token,
            refresh_token_expires_at=outcome.refresh.expires_at,
            member=MemberPublic.model_validate(outcome.member),
            session_id=outcome.login_id,
        )
    return ConsoleTicketPending(expires_at=outcome.expires_at)


@router.post(
    "/auth/console-tickets/{ticket_id}/confirm",
    summary="小程序：扫码确认在电脑控制台登录",
    description="须用小程序的登录令牌；电脑控制台的登录不能确认。重复确认返回相同结果。",
)
async def confirm_ticket(
    ticket_id: TicketId, principal: CurrentPrincipal, session: SessionDep
) -> ConsoleTicketConfirmOut:
    ticket = await service.confirm_ticket(session, principal, ref=ticket_id)
    return ConsoleTicketConfirmOut(expires_at=ticket.expires_at, client=ticket.client)


@router.get(
    "/me/sessions",
    summary="我的登录（小程序与电脑控制台）",
    description="本人在小程序和电脑控制台上仍有效的登录，可逐一退出。",
)
async def my_logins(principal: CurrentPrincipal, session: SessionDep) -> list[LoginOut]:
    return [
        LoginOut(
            id=id_of(login),
            kind=login.kind,
            kind_label=LOGIN_KIND_LABELS[LoginKind(login.kind)],
            client=login.client,
            created_at=login.created_at,
            expires_at=login.expires_at,
            current=id_of(login) == principal.login_id,
        )
        for login in await service.logins_of(session, principal)
    ]


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="退出我的某个登录（例如忘记退出的电脑）",
    description="立即使该登录的全部令牌失效；退出当前登录同样有效。",
)
async def end_login(session_id: int, principal: CurrentPrincipal, session: SessionDep) -> None:
    await service.end_login(session, principal, login_id=session_id)
