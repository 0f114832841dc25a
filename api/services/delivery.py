"""The outbox: every notice gets a delivery row in the same transaction, and the worker sends it.

Channel choice per delivery, at send time: a mini-program subscribe message while the member
has quota for the kind's template; else a service-account template message if the member
follows it; else the in-app inbox only, with the reason recorded. Retryable failures (busy,
timeouts before WeChat got the call, 45009) are retried with backoff and dead-lettered after the
last attempt.

A worker holds each delivery by its claim's token. Before every call to WeChat it records the
call in the delivery's history and renews its lease, both committed and both a compare-and-set
on the token: a worker whose lease ran out finds the delivery taken over and leaves it, and a
call is on record before it is made. A call whose worker died before recording the outcome, or
that went out and got no answer, is settled by the next try: a subscribe message (no idempotency
key) is marked `uncertain` and never sent again, the notice staying in the inbox; a
service-account message is sent again with the same `client_msg_id` while WeChat still
recognises it (10 minutes).

Every call to WeChat first waits for its slot of `DELIVERY_RATE_PER_SECOND`, which the worker
processes keep together (api/services/pace.py); nothing of the call is written before.
"""

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api import metrics
from api.config import Settings
from api.db import affected_rows
from api.errors import AppError
from api.logs import redact
from api.models import (
    AttemptResult,
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
from api.services.pace import LocalPace, Pace, PaceUnavailable
from api.services.templates import OwnedTemplate, nearest
from api.wechat.client import WeChatClient
from api.wechat.templates import TemplateValueError, template_data

log = logging.getLogger("api.delivery")
RETRYABLE = frozenset({-1, 45009})
TRANSIENT = frozenset({"wechat_unavailable", "wechat_busy"})
QUOTA_GONE = 43101
# WeChat sends one template message per openid and `client_msg_id` within 10 minutes; a resend
# of a call of unknown outcome stays a minute inside that.
IDEMPOTENT_FOR = timedelta(minutes=9)


@dataclass(frozen=True)
class Senders:
    """The WeChat clients, the pace their calls keep, and how many deliveries of a batch are
    sent at once (`at_once`: enough that a call is always waiting for the next slot)."""

    mini: WeChatClient
    service: WeChatClient | None
    pace: Pace = field(default_factory=lambda: LocalPace(0))
    at_once: int = 1


@dataclass(frozen=True)
class Hold:
    """A worker's claim on a batch: its token, its lease, and the clock (`at`: a fixed time,
    for tests that play out hours of retries)."""

    token: str
    lease: timedelta
    at: datetime | None = None

    @classmethod
    def new(cls, settings: Settings, at: datetime | None = None) -> "Hold":
        return cls(uuid.uuid4().hex, timedelta(seconds=settings.delivery_lease_seconds), at)

    def now(self) -> datetime:
        return self.at or utcnow()


async def claim_due(
    session: AsyncSession,
    table: type[Delivery] | type[RobotPost],
    limit: int,
    hold: Hold,
) -> list[int]:
    """Take due rows of an outbox for this worker: skipped if another worker holds them
    (PostgreSQL `FOR UPDATE SKIP LOCKED`), taken back if a worker died and its lease ran out.

    Both outboxes (WeChat deliveries, group-robot posts) share the columns this needs.
    """
    now = hold.now()
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
            .values(
                status=DeliveryStatus.sending,
                locked_until=now + hold.lease,
                claim_token=hold.token,
            )
        )
    return ids


class ClaimLost(Exception):
    """Another worker took the row over (this worker's lease ran out): leave it to them."""


@dataclass(frozen=True)
class Attempt:
    """One channel in a delivery's history."""

    channel: str | None
    at: datetime
    result: AttemptResult
    errcode: int | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "at": self.at.isoformat(),
            "result": self.result.value,
            "errcode": self.errcode,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Attempt":
        return cls(
            data.get("channel"),
            datetime.fromisoformat(data["at"]),
            AttemptResult(data["result"]),
            data.get("errcode"),
            data.get("reason"),
        )


class Journal:
    """A delivery's history while this worker holds it; every call is on record before it is
    made, with the lease renewed in the same compare-and-set."""

    def __init__(self, session: AsyncSession, delivery: Delivery, hold: Hold) -> None:
        self._session = session
        self._id = delivery.id
        self._hold = hold
        self.entries = [Attempt.from_json(entry) for entry in delivery.history]

    def note(
        self,
        channel: str | None,
        result: AttemptResult,
        reason: str | None = None,
        errcode: int | None = None,
    ) -> None:
        self.entries.append(Attempt(channel, self._hold.now(), result, errcode, reason))

    def now(self) -> datetime:
        return self._hold.now()

    def unsettled(self) -> Attempt | None:
        """The last call, if its outcome was never recorded (its worker died during it)."""
        last = self.entries[-1] if self.entries else None
        return last if last is not None and last.result == AttemptResult.started else None

    def settle(self, result: AttemptResult, reason: str | None, errcode: int | None = None) -> None:
        """The outcome of the last call, in place of its `started`."""
        self.entries[-1] = replace(self.entries[-1], result=result, errcode=errcode, reason=reason)

    def as_json(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.entries]

    async def before_call(self, channel: Channel) -> None:
        """Record the call and renew the lease, committed, while this worker holds the row."""
        self.note(channel, AttemptResult.started)
        held = await affected_rows(
            self._session,
            update(Delivery)
            .where(
                col(Delivery.id) == self._id,
                col(Delivery.status) == DeliveryStatus.sending,
                col(Delivery.claim_token) == self._hold.token,
            )
            .values(history=self.as_json(), locked_until=self._hold.now() + self._hold.lease),
        )
        if held != 1:
            await self._session.rollback()
            raise ClaimLost()
        await self._session.commit()


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    channel: Channel | None = None
    msgid: str | None = None
    errcode: int | None = None
    reason: str | None = None


Templates = dict[str, list[OwnedTemplate]]  # by notice kind: every owner's and the default
UNCERTAIN = "发送时工作进程中断，微信可能已送达；为免重复不再重发，请在小程序消息中查看"


@dataclass
class Send:
    """One claimed delivery on its way: what `deliver` needs at hand."""

    session: AsyncSession
    senders: Senders
    settings: Settings
    delivery: Delivery
    notice: Notice
    templates: dict[str, NoticeTemplate]
    account: WeChatAccount | None
    journal: Journal


async def _templates_and_account(
    session: AsyncSession, notice: Notice, known: Templates
) -> tuple[dict[str, NoticeTemplate], WeChatAccount | None]:
    """The templates that apply to the notice's member — those of the nearest unit above them
    that owns one — and the member's WeChat account. A kind's templates are read once per batch
    (an edit applies from the next batch)."""
    owned = known.get(notice.kind)
    if owned is None:
        found = await session.execute(_TEMPLATES_OF_KIND, {"kind": notice.kind})
        owned = known[notice.kind] = [(owner, template) for template, owner in found]
    unit_path, account = (await session.execute(_PLACE_AND_ACCOUNT, {"id": notice.member_id})).one()
    return nearest(owned, unit_path), account


async def deliver(send: Send) -> Outcome:
    """Try the channels in order for one claimed delivery and say what happened."""
    if (unsettled := send.journal.unsettled()) is not None:
        return await _settle(send, unsettled)
    reasons: list[str] = []
    account = send.account
    subscribe = send.templates.get(Channel.subscribe)
    if subscribe is not None and account is not None:
        outcome = await _try_subscribe(send, subscribe, account)
        if outcome.status != DeliveryStatus.inbox_only:
            return outcome
        reasons.append(outcome.reason or "")
    else:
        reasons.append("未配置订阅消息模板" if subscribe is None else "未绑定微信")
        send.journal.note(Channel.subscribe, AttemptResult.skipped, reasons[-1])
    service = send.templates.get(Channel.service)
    follower = await _follower(send.session, account)
    if service is not None and follower is not None and send.senders.service is not None:
        outcome = await _try_service(send, service, follower)
        if outcome.status != DeliveryStatus.inbox_only:
            return outcome
        reasons.append(outcome.reason or "")
    else:
        reasons.append("未关注服务号" if service is not None else "未配置服务号模板")
        send.journal.note(Channel.service, AttemptResult.skipped, reasons[-1])
    return Outcome(DeliveryStatus.inbox_only, Channel.inbox, reason="；".join(reasons))


async def _settle(send: Send, unsettled: Attempt) -> Outcome:
    """A call whose worker died before recording its outcome: never sent blindly again.

    A service-account message is sent again with the same `client_msg_id` while WeChat still
    de-duplicates it; anything else is marked uncertain and stays in the inbox.
    """
    send.journal.settle(AttemptResult.unknown, unsettled.reason or "工作进程在发送中中断")
    if unsettled.channel == Channel.service:
        unknown = [
            entry.at
            for entry in send.journal.entries
            if entry.channel == Channel.service and entry.result == AttemptResult.unknown
        ]
        template = send.templates.get(Channel.service)
        follower = await _follower(send.session, send.account)
        recent = send.journal.now() - min(unknown) < IDEMPOTENT_FOR
        if recent and template is not None and follower is not None and send.senders.service:
            return await _try_service(send, template, follower)
    channel = Channel(unsettled.channel) if unsettled.channel else None
    return Outcome(DeliveryStatus.uncertain, channel, reason=UNCERTAIN)


async def _follower(session: AsyncSession, account: WeChatAccount | None) -> str | None:
    if account is None or account.unionid is None:
        return None
    return await session.scalar(
        select(ServiceFollower.openid).where(
            col(ServiceFollower.unionid) == account.unionid, col(ServiceFollower.following)
        )
    )


async def _try_subscribe(send: Send, template: NoticeTemplate, account: WeChatAccount) -> Outcome:
    """One accepted subscription is one send: the quota is taken with the call's record and
    given back on error. The call waits for its slot before it writes anything, so that no
    lock is held while it waits (on SQLite, the whole database's)."""
    session, notice, journal = send.session, send.notice, send.journal
    member_id, template_id = notice.member_id, template.template_id
    if not await _has_quota(session, member_id, template_id):
        return _no_quota(journal)
    try:
        data = template_data(template.fields, notice.data)
    except TemplateValueError as exc:
        journal.note(Channel.subscribe, AttemptResult.failed, f"模板数据不合规：{exc}")
        return Outcome(DeliveryStatus.inbox_only, reason=f"模板数据不合规：{exc}")
    await send.senders.pace.wait()
    if not await _take_quota(session, member_id, template_id):
        return _no_quota(journal)
    await journal.before_call(Channel.subscribe)
    try:
        msgid = await send.senders.mini.send_subscribe(
            account.openid,
            template.template_id,
            _page(template, notice),
            data,
            send.settings.miniprogram_state,
        )
    except AppError as error:
        if _unanswered(error):
            return _unsettled(journal, error)
        errcode = _errcode(error)
        if errcode == QUOTA_GONE:
            await _reset_quota(session, notice.member_id, template.template_id)
            outcome = Outcome(
                DeliveryStatus.inbox_only, errcode=errcode, reason="用户拒收或无订阅次数"
            )
        else:
            await _give_back(session, notice.member_id, template.template_id)
            outcome = _failure(error, errcode)
        journal.settle(AttemptResult.failed, outcome.reason, errcode)
        return outcome
    journal.settle(AttemptResult.sent, None)
    return Outcome(DeliveryStatus.sent, Channel.subscribe, msgid=msgid)


async def _try_service(send: Send, template: NoticeTemplate, openid: str) -> Outcome:
    assert send.senders.service is not None
    try:
        data = template_data(template.fields, send.notice.data)
    except TemplateValueError as exc:
        send.journal.note(Channel.service, AttemptResult.failed, f"模板数据不合规：{exc}")
        return Outcome(DeliveryStatus.inbox_only, reason=f"模板数据不合规：{exc}")
    await send.senders.pace.wait()
    await send.journal.before_call(Channel.service)
    try:
        msgid = await send.senders.service.send_template(
            openid,
            template.template_id,
            send.settings.wechat_app_id,
            _page(template, send.notice),
            data,
            client_msg_id=str(send.delivery.id),
        )
    except AppError as error:
        if _unanswered(error):
            return _unsettled(send.journal, error)
        outcome = _failure(error, _errcode(error))
        send.journal.settle(AttemptResult.failed, outcome.reason, outcome.errcode)
        return outcome
    send.journal.settle(AttemptResult.sent, None)
    return Outcome(DeliveryStatus.sent, Channel.service, msgid=msgid)


def _unanswered(error: AppError) -> bool:
    return isinstance(error.detail, dict) and error.detail.get("unanswered") is True


def _unsettled(journal: Journal, error: AppError) -> Outcome:
    """Sent with no answer: WeChat may have taken it. The call stays `started` and the next
    try settles it as a crashed worker's call (`_settle`), never resending it blindly."""
    journal.entries[-1] = replace(journal.entries[-1], reason=f"微信未应答：{error.text}")
    return Outcome(DeliveryStatus.pending, reason=error.text)


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


def _no_quota(journal: Journal) -> Outcome:
    journal.note(Channel.subscribe, AttemptResult.skipped, "订阅次数已用完")
    return Outcome(DeliveryStatus.inbox_only, reason="订阅次数已用完")


async def _has_quota(session: AsyncSession, member_id: int, template_id: str) -> bool:
    remaining = await session.scalar(
        select(SubscriptionQuota.remaining).where(
            col(SubscriptionQuota.member_id) == member_id,
            col(SubscriptionQuota.template_id) == template_id,
        )
    )
    return bool(remaining)


async def _take_quota(session: AsyncSession, member_id: int, template_id: str) -> bool:
    took = await affected_rows(
        session,
        update(SubscriptionQuota)
        .where(
            col(SubscriptionQuota.member_id) == member_id,
            col(SubscriptionQuota.template_id) == template_id,
            col(SubscriptionQuota.remaining) > 0,
        )
        .values(remaining=col(SubscriptionQuota.remaining) - 1, updated_at=utcnow()),
    )
    return took == 1


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
    journal: Journal,
    hold: Hold,
) -> str | None:
    """Store what happened while this worker still holds the delivery, and say which status
    it stored (None: it no longer holds it); a retryable failure is rescheduled or, at the
    last try, dead."""
    now = hold.now()
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "errcode": outcome.errcode,
        "reason": outcome.reason,
        "locked_until": None,
        "claim_token": None,
        "history": journal.as_json(),
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
    held = await affected_rows(
        session,
        update(Delivery)
        .where(
            col(Delivery.id) == delivery.id,
            col(Delivery.status) == DeliveryStatus.sending,
            col(Delivery.claim_token) == hold.token,
        )
        .values(**values),
    )
    return str(values["status"]) if held == 1 else None


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
    """Claim a batch (one short transaction), then send and record each in its own; a
    delivery that fails in our own code is recorded as an attempt and retried with backoff,
    and the rest of the batch goes on. `senders.at_once` deliveries are on their way at a time.
    While claims come back full, the next batch is claimed as the last of the one before is
    taken (`Run`). Returns how many were claimed.

    `now`: the clock, for tests that play out hours of retries.
    """
    run = Run(sessionmaker, senders, settings, Hold.new(settings, now), limit)
    await run.claim()
    await asyncio.gather(*(run.lane() for _ in range(senders.at_once)))
    return run.claimed


# How long a run goes on claiming while more deliveries wait; then the worker's other jobs
# have their turn.
RUN_SECONDS = 5.0


@dataclass
class Run:
    """The batches of one run, taken by its lanes one delivery at a time.

    While deliveries wait beyond a batch, the lane that finds the batch used up claims the
    next one while the other lanes are still sending: no slot of the pace passes between two
    batches for want of a claimed delivery. A kind's templates are read once per batch (an
    edit applies from the next batch).
    """

    sessionmaker: async_sessionmaker[AsyncSession]
    senders: Senders
    settings: Settings
    hold: Hold
    limit: int
    claimed: int = field(default=0, init=False)
    _waiting: deque[tuple[int, Templates]] = field(default_factory=deque, init=False)
    _more: bool = field(default=True, init=False)
    _claiming: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _until: float = field(default_factory=lambda: time.monotonic() + RUN_SECONDS, init=False)

    async def claim(self) -> None:
        async with self.sessionmaker() as session:
            ids = await claim_due(session, Delivery, self.limit, self.hold)
            await session.commit()
        known: Templates = {}
        self._waiting.extend((delivery_id, known) for delivery_id in ids)
        self._more = len(ids) == self.limit
        self.claimed += len(ids)

    async def lane(self) -> None:
        while (taken := await self._next()) is not None:
            delivery_id, known = taken
            await _send_alone(
                self.sessionmaker, self.senders, self.settings, delivery_id, self.hold, known
            )

    async def _next(self) -> tuple[int, Templates] | None:
        async with self._claiming:
            if not self._waiting and self._more and time.monotonic() < self._until:
                try:
                    await self.claim()
                except Exception:
                    # The batches claimed are sent; the next run claims again.
                    log.exception("the next batch of deliveries could not be claimed")
                    self._more = False
        return self._waiting.popleft() if self._waiting else None


async def _send_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Senders,
    settings: Settings,
    delivery_id: int,
    hold: Hold,
    known: Templates,
) -> None:
    """One delivery of a batch, whatever becomes of it: a fault is recorded on it alone."""
    try:
        await _send_one(sessionmaker, senders, settings, delivery_id, hold, known)
    except ClaimLost:
        log.info("delivery %s was taken over by another worker", delivery_id)
    except PaceUnavailable:
        log.warning("no slot of the pace for delivery %s; sent once its claim lapses", delivery_id)
    except Exception as exc:
        log.exception("delivery %s failed in our code; retried with backoff", delivery_id)
        await _record_fault(sessionmaker, settings, delivery_id, hold, exc)


async def _send_one(
    sessionmaker: async_sessionmaker[AsyncSession],
    senders: Senders,
    settings: Settings,
    delivery_id: int,
    hold: Hold,
    known: Templates,
) -> None:
    async with sessionmaker() as session:
        # The delivery with its notice in one query.
        delivery, notice = (await session.execute(_WITH_NOTICE, {"id": delivery_id})).one()
        if delivery.claim_token != hold.token:
            raise ClaimLost()
        templates, account = await _templates_and_account(session, notice, known)
        journal = Journal(session, delivery, hold)
        send = Send(session, senders, settings, delivery, notice, templates, account, journal)
        outcome = await deliver(send)
        stored = await record(session, settings, delivery, outcome, journal, hold)
        if stored is None:
            await session.rollback()
            raise ClaimLost()
        await session.commit()
    metrics.DELIVERIES.labels(stored, metrics.outcome_label(outcome.errcode)).inc()


async def _record_fault(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    delivery_id: int,
    hold: Hold,
    exc: Exception,
) -> None:
    """An attempt that failed in our code: counted, its error kept, retried with backoff.

    A call it had started stays `started`: the next worker settles it like a crash's.
    """
    metrics.DELIVERIES.labels("error", "").inc()
    error = redact(f"{type(exc).__name__}: {exc}")[:300]
    try:
        async with sessionmaker() as session:
            delivery = await session.get(Delivery, delivery_id)
            if delivery is None:
                return
            journal = Journal(session, delivery, hold)
            if (unsettled := journal.unsettled()) is not None:
                journal.entries[-1] = replace(unsettled, reason=f"发送中出错：{error}")
            else:
                journal.note(None, AttemptResult.error, error)
            outcome = Outcome(DeliveryStatus.pending, reason=f"内部错误：{error}")
            await record(session, settings, delivery, outcome, journal, hold)
            await session.commit()
    except Exception:
        log.exception("delivery %s: its failure could not be recorded either", delivery_id)
