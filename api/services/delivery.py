"""The outbox: every notice gets a delivery row in the same transaction, and the worker sends it.

Channel choice per delivery, at send time: a mini-program subscribe message while the member
has quota for the kind's template; else a service-account template message if the member
follows it; else the in-app inbox only, with the reason recorded. Retryable failures (busy,
timeouts, 45009) are retried with backoff and dead-lettered after the last attempt.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api.config import Settings
from api.db import affected_rows
from api.errors import AppError
from api.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Member,
    Notice,
    NoticeTemplate,
    OrgUnit,
    RobotPost,
    ServiceFollower,
    SubscriptionQuota,
    WeChatAccount,
    utcnow,
)
from api.services.templates import OwnedTemplate, nearest
from api.wechat.client import WeChatClient
from api.wechat.templates import TemplateValueError, template_data

RETRYABLE = frozenset({-1, 45009})
TRANSIENT = frozenset({"wechat_unavailable", "wechat_busy"})
QUOTA_GONE = 43101


class RateLimiter:
    """Spaces sends to at most `rate` per second in this process (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self._interval:
            return
        async with self._lock:
            loop = asyncio.get_running_loop()
            delay = self._next - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = max(self._next, loop.time()) + self._interval


@dataclass(frozen=True)
class Senders:
    mini: WeChatClient
    service: WeChatClient | None
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))


async def claim(session: AsyncSession, now: datetime, limit: int, lease: timedelta) -> list[int]:
    return await claim_due(session, Delivery, now, limit, lease)


async def claim_due(
    session: AsyncSession,
    table: type[Delivery] | type[RobotPost],
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[int]:
    """Take due rows of an outbox for this worker: skipped if another worker holds them
    (PostgreSQL `FOR UPDATE SKIP LOCKED`), taken back if a worker died and its lease ran out.

    Both outboxes (WeChat deliveries, group-robot posts) share the columns this needs.
    """
    due = (
        sa_select(col(table.id))
        .where(
            or_(
                (col(table.status) == DeliveryStatus.pending) & (col(table.next_attempt_at) <= now),
                (col(table.status) == DeliveryStatus.sending) & (col(table.locked_until) < now),
            )
        )
        .order_by(col(table.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = [row_id for row_id in await session.scalars(due) if row_id is not None]
    if ids:
        await session.execute(
            update(table)
            .where(col(table.id).in_(ids))
            .values(status=DeliveryStatus.sending, locked_until=now + lease)
        )
    return ids


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    channel: Channel | None = None
    msgid: str | None = None
    errcode: int | None = None
    reason: str | None = None


Templates = dict[str, list[OwnedTemplate]]  # by notice kind: every owner's and the default


async def deliver(
    session: AsyncSession,
    senders: Senders,
    settings: Settings,
    delivery: Delivery,
    known: Templates | None = None,
) -> Outcome:
    """Try the channels in order for one claimed delivery and say what happened.

    `known`: the templates already read for this batch, by notice kind (an edit applies from
    the next batch); each member gets those of the nearest unit above them that owns one.
    """
    notice = await session.get(Notice, delivery.notice_id)
    assert notice is not None
    known = {} if known is None else known
    owned = known.get(notice.kind)
    if owned is None:
        found = await session.execute(_TEMPLATES_OF_KIND, {"kind": notice.kind})
        owned = known[notice.kind] = [(owner, template) for template, owner in found]
    reasons: list[str] = []
    unit_path, account = (await session.execute(_PLACE_AND_ACCOUNT, {"id": notice.member_id})).one()
    templates = nearest(owned, unit_path)
    subscribe = templates.get(Channel.subscribe)
    if subscribe is not None and account is not None:
        outcome = await _try_subscribe(session, senders, settings, subscribe, account, notice)
        if outcome.status != DeliveryStatus.inbox_only:
            return outcome
        reasons.append(outcome.reason or "")
    else:
        reasons.append("未配置订阅消息模板" if subscribe is None else "未绑定微信")
    service = templates.get(Channel.service)
    follower = await _follower(session, account)
    if service is not None and follower is not None and senders.service is not None:
        outcome = await _try_service(senders, settings, service, follower, notice, delivery)
        if outcome.status != DeliveryStatus.inbox_only:
            return outcome
        reasons.append(outcome.reason or "")
    else:
        reasons.append("未关注服务号" if service is not None else "未配置服务号模板")
    return Outcome(DeliveryStatus.inbox_only, Channel.inbox, reason="；".join(reasons))


async def _follower(session: AsyncSession, account: WeChatAccount | None) -> str | None:
    if account is None or account.unionid is None:
        return None
    return await session.scalar(
        select(ServiceFollower.openid).where(
            col(ServiceFollower.unionid) == account.unionid, col(ServiceFollower.following)
        )
    )


async def _try_subscribe(
    session: AsyncSession,
    senders: Senders,
    settings: Settings,
    template: NoticeTemplate,
    account: WeChatAccount,
    notice: Notice,
) -> Outcome:
    """One accepted subscription is one send: the quota is taken before, given back on error."""
    took = await affected_rows(
        session,
        update(SubscriptionQuota)
        .where(
            col(SubscriptionQuota.member_id) == notice.member_id,
            col(SubscriptionQuota.template_id) == template.template_id,
            col(SubscriptionQuota.remaining) > 0,
        )
        .values(remaining=col(SubscriptionQuota.remaining) - 1, updated_at=utcnow()),
    )
    if took != 1:
        return Outcome(DeliveryStatus.inbox_only, reason="订阅次数已用完")
    try:
        data = template_data(template.fields, notice.data)
        msgid = await senders.mini.send_subscribe(
            account.openid,
            template.template_id,
            _page(template, notice),
            data,
            settings.miniprogram_state,
        )
    except TemplateValueError as exc:
        await _give_back(session, notice.member_id, template.template_id)
        return Outcome(DeliveryStatus.inbox_only, reason=f"模板数据不合规：{exc}")
    except AppError as error:
        errcode = _errcode(error)
        if errcode == QUOTA_GONE:
            await _reset_quota(session, notice.member_id, template.template_id)
            return Outcome(
                DeliveryStatus.inbox_only, errcode=errcode, reason="用户拒收或无订阅次数"
            )
        await _give_back(session, notice.member_id, template.template_id)
        return _failure(error, errcode)
    return Outcome(DeliveryStatus.sent, Channel.subscribe, msgid=msgid)


async def _try_service(
    senders: Senders,
    settings: Settings,
    template: NoticeTemplate,
    openid: str,
    notice: Notice,
    delivery: Delivery,
) -> Outcome:
    assert senders.service is not None
    try:
        data = template_data(template.fields, notice.data)
        msgid = await senders.service.send_template(
            openid,
            template.template_id,
            settings.wechat_app_id,
            _page(template, notice),
            data,
            client_msg_id=str(delivery.id),
        )
    except TemplateValueError as exc:
        return Outcome(DeliveryStatus.inbox_only, reason=f"模板数据不合规：{exc}")
    except AppError as error:
        return _failure(error, _errcode(error))
    return Outcome(DeliveryStatus.sent, Channel.service, msgid=msgid)


def _failure(error: AppError, errcode: int | None) -> Outcome:
    """Busy, rate limits and transport faults are retried; anything else falls through."""
    transient = errcode is None and error.code in TRANSIENT
    if transient or errcode in RETRYABLE:
        return Outcome(DeliveryStatus.pending, errcode=errcode, reason=error.text)
    return Outcome(DeliveryStatus.inbox_only, errcode=errcode, reason=f"微信返回 {errcode}")


def _errcode(error: AppError) -> int | None:
    detail = error.detail if isinstance(error.detail, dict) else {}
    errcode = detail.get("errcode")
    return int(errcode) if errcode is not None else None


def _page(template: NoticeTemplate, notice: Notice) -> str:
    """The template's page with the notice's ids, e.g. `pages/deduction?entry_id=12`."""
    ids = {k: v for k, v in notice.data.items() if k.endswith("_id") and v is not None}
    query = "&".join(f"{k}={v}" for k, v in sorted(ids.items()))
    return f"{template.page}?{query}" if query else template.page


async def _give_back(session: AsyncSession, member_id: int, template_id: str) -> None:
    await session.execute(
        update(SubscriptionQuota)
        .where(
            col(SubscriptionQuota.member_id) == member_id,
            col(SubscriptionQuota.template_id) == template_id,
        )
        .values(remaining=col(SubscriptionQuota.remaining) + 1)
    )


async def _reset_quota(session: AsyncSession, member_id: int, template_id: str) -> None:
    await session.execute(
        update(SubscriptionQuota)
        .where(
            col(SubscriptionQuota.member_id) == member_id,
            col(SubscriptionQuota.template_id) == template_id,
        )
        .values(remaining=0)
    )


async def record(
    session: AsyncSession,
    settings: Settings,
    delivery: Delivery,
    outcome: Outcome,
    now: datetime,
) -> None:
    """Store what happened; a retryable failure is rescheduled or, at the last try, dead."""
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "errcode": outcome.errcode,
        "reason": outcome.reason,
        "locked_until": None,
    }
    if outcome.status == DeliveryStatus.pending:
        if attempts >= settings.delivery_max_attempts:
            values["status"] = DeliveryStatus.dead
        else:
            values |= {
                "status": DeliveryStatus.pending,
                "next_attempt_at": now + timedelta(seconds=backoff_seconds(settings, attempts)),
            }
    else:
        values |= {
            "status": outcome.status,
            "channel": outcome.channel,
            "msgid": outcome.msgid,
            "sent_at": now if outcome.status == DeliveryStatus.sent else None,
        }
    await session.execute(
        update(Delivery)
        .where(col(Delivery.id) == delivery.id, col(Delivery.status) == DeliveryStatus.sending)
        .values(**values)
    )


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """The wait before the next try of an outbox row: doubling from the first, capped."""
    doubled: float = settings.delivery_backoff_seconds * 2 ** (attempts - 1)
    return min(doubled, settings.delivery_backoff_max_seconds)


_TEMPLATES_OF_KIND = (
    select(NoticeTemplate, OrgUnit.path)
    .outerjoin(OrgUnit, col(OrgUnit.id) == col(NoticeTemplate.unit_id))
    .where(col(NoticeTemplate.kind) == bindparam("kind"))
)
# Where the member sits (which templates apply) and their WeChat account, in one query.
_PLACE_AND_ACCOUNT = (
    select(OrgUnit.path, WeChatAccount)
    .select_from(Member)
    .join(OrgUnit, col(OrgUnit.id) == col(Member.unit_id))
    .outerjoin(WeChatAccount, col(WeChatAccount.member_id) == col(Member.id))
    .where(col(Member.id) == bindparam("id"))
)
_WITH_NOTICE = (
    select(Delivery, Notice)
    .join(Notice, col(Notice.id) == col(Delivery.notice_id))
    .where(col(Delivery.id) == bindparam("id"))
)


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Senders,
    settings: Settings,
    limit: int = 50,
    now: datetime | None = None,
) -> int:
    """Claim a batch (one short transaction), then send and record each in its own.

    `now`: the clock, for tests that play out hours of retries.
    """
    lease = timedelta(seconds=settings.delivery_lease_seconds)
    async with sessionmaker() as session:
        ids = await claim(session, now or utcnow(), limit, lease)
        await session.commit()
    known: Templates = {}
    for delivery_id in ids:
        async with sessionmaker() as session:
            # The delivery with its notice in one query; the notice is held here, so `deliver`
            # finds it in the session.
            delivery, _notice = (await session.execute(_WITH_NOTICE, {"id": delivery_id})).one()
            await senders.limiter.wait()
            outcome = await deliver(session, senders, settings, delivery, known)
            await record(session, settings, delivery, outcome, now or utcnow())
            await session.commit()
    return len(ids)
