"""Branch group robots (企业微信群机器人): configuration, the post outbox and its sender.

A post is written in the transaction of its cause (publication, the monthly schedule, a
secretary's request) and sent by the worker: at most `robot_posts_per_minute` per robot
(WeCom allows 20), 45009 and transport faults retried with backoff, and 93000 — the key is
invalid — reported to the branch's secretaries instead of retried.
"""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from api import metrics
from api.access import Action, Principal
from api.config import Settings
from api.db import affected_rows, insert_for
from api.errors import (
    BoardNotFound,
    NotABranch,
    RobotDisabled,
    RobotKeyInvalid,
    RobotNotConfigured,
    UnitNotFound,
)
from api.models import (
    BranchRobot,
    NoticeKind,
    OrgUnit,
    PeriodRecord,
    PeriodStatus,
    PostKind,
    PostStatus,
    Publication,
    PublicationWithdrawal,
    RobotPost,
    RobotStatus,
    Role,
    RoleAssignment,
    UnitKind,
    id_of,
    utcnow,
)
from api.publication.board import APP_NAME, LIST_LABELS, Board
from api.publication.fonts import FontMissing
from api.secrets import SecretUnreadable, seal, unseal
from api.services.delivery import ClaimLost, Hold, backoff_seconds, claim_due
from api.services.notices import notify
from api.services.share import images, links
from api.wechat.client import WeChatClient
from api.wechat.wecom import (
    INVALID_KEY,
    MARKDOWN_LIMIT,
    RATE_LIMITED,
    RobotClient,
    RobotFailed,
    image_message,
    markdown_message,
)

log = logging.getLogger("api.robots")
WEBHOOK_KEY = re.compile(r"[A-Za-z0-9-]{16,64}")
WINDOW = timedelta(minutes=1)


# --- configuration ----------------------------------------------------------------------------


def parse_key(value: str) -> str:
    """The key alone, or the whole webhook URL the WeCom client shows (`…/send?key=…`)."""
    text = value.strip()
    found = re.search(r"[?&]key=([^&#\s]+)", text)
    key = found.group(1) if found else text
    if not WEBHOOK_KEY.fullmatch(key):
        raise RobotKeyInvalid()
    return key


async def _branch(session: AsyncSession, principal: Principal, branch_id: int) -> OrgUnit:
    branch = await session.get(OrgUnit, branch_id)
    if branch is None or not principal.sees(branch.path):
        raise UnitNotFound()
    principal.require(Action.manage_branch_work, branch.path)
    if branch.kind != UnitKind.branch:
        raise NotABranch()
    return branch


async def configure(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    branch_id: int,
    key: str,
    top_n: int,
) -> BranchRobot:
    """Set (or replace) the branch's robot; a new key makes an invalid robot active again."""
    await _branch(session, principal, branch_id)
    webhook_key = parse_key(key)
    robot = await session.get(BranchRobot, branch_id)
    if robot is None:
        robot = BranchRobot(branch_id=branch_id, key_cipher="", key_hint="")
        session.add(robot)
    robot.key_cipher = seal(settings, webhook_key)
    robot.key_hint = webhook_key[-4:]
    robot.status = RobotStatus.active
    robot.failure = None
    robot.top_n = top_n
    robot.updated_by = principal.member_id
    robot.updated_at = utcnow()
    await session.flush()
    return robot


async def robot_of(session: AsyncSession, principal: Principal, branch_id: int) -> BranchRobot:
    await _branch(session, principal, branch_id)
    robot = await session.get(BranchRobot, branch_id)
    if robot is None:
        raise RobotNotConfigured()
    return robot


async def robots_under(
    session: AsyncSession, principal: Principal, unit_id: int
) -> list[BranchRobot]:
    """The robots of the branches at or under a unit where the principal runs branch work;
    a branch without a robot is not listed (one request for a whole town, no 404 per branch)."""
    unit = await session.get(OrgUnit, unit_id)
    if unit is None or not principal.sees(unit.path):
        raise UnitNotFound()
    principal.require(Action.manage_branch_work, unit.path)
    found = await session.scalars(
        select(BranchRobot)
        .join(OrgUnit, col(OrgUnit.id) == col(BranchRobot.branch_id))
        .where(col(OrgUnit.path).startswith(unit.path, autoescape=True))
        .order_by(col(OrgUnit.path))
    )
    return list(found)


async def remove(session: AsyncSession, principal: Principal, branch_id: int) -> None:
    robot = await robot_of(session, principal, branch_id)
    await session.execute(
        update(RobotPost)
        .where(
            col(RobotPost.branch_id) == branch_id,
            col(RobotPost.status).in_([PostStatus.pending, PostStatus.sending]),
        )
        .values(status=PostStatus.failed, reason="群机器人已被删除")
    )
    await session.delete(robot)
    await session.flush()


async def posts_of(
    session: AsyncSession, principal: Principal, branch_id: int, offset: int, limit: int
) -> tuple[list[RobotPost], int]:
    await _branch(session, principal, branch_id)
    mine = col(RobotPost.branch_id) == branch_id
    total = await session.scalar(select(func.count()).select_from(RobotPost).where(mine))
    rows = await session.scalars(
        select(RobotPost).where(mine).order_by(col(RobotPost.id).desc()).offset(offset).limit(limit)
    )
    return list(rows), total or 0


# --- queueing ---------------------------------------------------------------------------------


async def enqueue(session: AsyncSession, publications: list[Publication], trigger: str) -> int:
    """A markdown post and a poster for each board whose branch has an active robot.

    Once per board and trigger: queueing the same cause again adds nothing.
    """
    if not publications:
        return 0
    robots = set(
        await session.scalars(
            select(BranchRobot.branch_id).where(
                col(BranchRobot.branch_id).in_([p.unit_id for p in publications]),
                col(BranchRobot.status) == RobotStatus.active,
            )
        )
    )
    now = utcnow()
    rows = [
        {
            "branch_id": publication.unit_id,
            "publication_id": id_of(publication),
            "kind": kind,
            "trigger": trigger,
            "status": PostStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for publication in publications
        if publication.unit_id in robots
        for kind in (PostKind.markdown, PostKind.image)
    ]
    if not rows:
        return 0
    statement = insert_for(session)(RobotPost).values(rows).on_conflict_do_nothing()
    return await affected_rows(session, statement)


# The trigger of the post telling a chat that a board it was shown is withdrawn (a reopen).
WITHDRAWN = "withdrawn"


async def enqueue_withdrawals(session: AsyncSession, period_id: int, close_no: int) -> int:
    """A post to each branch chat that may have seen a board of this publication (posted, or on
    its way), saying it is withdrawn; once per board."""
    told = (
        select(RobotPost.branch_id, RobotPost.publication_id)
        .join(Publication, col(Publication.id) == col(RobotPost.publication_id))
        .where(
            col(Publication.period_id) == period_id,
            col(Publication.close_no) == close_no,
            col(RobotPost.trigger) != WITHDRAWN,
            col(RobotPost.status).in_([PostStatus.sent, PostStatus.sending, PostStatus.uncertain]),
        )
        .distinct()
    )
    now = utcnow()
    rows = [
        {
            "branch_id": branch_id,
            "publication_id": publication_id,
            "kind": PostKind.markdown,
            "trigger": WITHDRAWN,
            "status": PostStatus.pending,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for branch_id, publication_id in (await session.execute(told)).all()
    ]
    if not rows:
        return 0
    statement = insert_for(session)(RobotPost).values(rows).on_conflict_do_nothing()
    return await affected_rows(session, statement)


def fresh_key() -> str:
    return uuid.uuid4().hex


async def post_now(
    session: AsyncSession, principal: Principal, branch_id: int, period_id: int, key: str
) -> int:
    """A secretary's 「推送到群」: the branch's published board of that period, once per key."""
    await robot_of(session, principal, branch_id)
    publication = await session.scalar(
        select(Publication)
        .join(PeriodRecord, col(PeriodRecord.id) == col(Publication.period_id))
        .where(
            col(Publication.period_id) == period_id,
            col(Publication.close_no) == col(PeriodRecord.close_count),
            col(PeriodRecord.status) == PeriodStatus.published,
            col(Publication.unit_id) == branch_id,
        )
    )
    if publication is None:
        raise BoardNotFound()
    robot = await session.get(BranchRobot, branch_id)
    if robot is None or robot.status != RobotStatus.active:
        raise RobotDisabled()
    return await enqueue(session, [publication], f"manual:{key}")


async def latest_publications(session: AsyncSession, scheme_id: int) -> list[Publication]:
    """The boards of the scheme's most recently published period."""
    period = await session.scalar(
        select(PeriodRecord)
        .where(
            col(PeriodRecord.scheme_id) == scheme_id,
            col(PeriodRecord.status) == PeriodStatus.published,
        )
        .order_by(col(PeriodRecord.starts_at).desc())
        .limit(1)
    )
    if period is None:
        return []
    rows = await session.scalars(
        select(Publication).where(
            col(Publication.period_id) == period.id,
            col(Publication.close_no) == period.close_count,
        )
    )
    return list(rows)


# --- the message ------------------------------------------------------------------------------


def withdrawal_markdown(board: Board, reason: str) -> str:
    """The chat is told the ranking it was shown no longer stands, and why."""
    return "\n".join(
        [
            f"## {board.unit_name} {board.period_label}积分排名公示已撤回",
            f"> {board.scheme_name}",
            "",
            f"原因：{reason[:500]}",
            "重新公示后将另行推送，此前的排名请勿再转发",
        ]
    )


def markdown(board: Board, top_n: int, link: str) -> str:
    """The ranking as WeCom markdown, within its 4096 bytes."""
    noun = "记分" if not board.descending else "分"
    head = [
        f"## {board.unit_name} {board.period_label}积分排名",
        f"> {board.scheme_name} · {board.published_on} 公示",
        "",
        f"参评 **{len(board.scored)}** 人"
        + (f"，平均 **{_num(board.average)}** {noun}" if board.average is not None else ""),
    ]
    if board.tiers:
        head.append(" · ".join(f"{tier.label} {tier.count} 人" for tier in board.tiers))
    for color, label in LIST_LABELS.items():
        names = [row.name for row in board.scored if row.list_color == color]
        if names:
            tone = "info" if color == "red" else "warning"
            head.append(f'<font color="{tone}">{label}</font>：{"、".join(names)}')
    tail = [
        "",
        f"[在小程序查看完整公示]({link})" if link else f"完整公示请在「{APP_NAME}」小程序查看",
    ]
    lines = [*head, "", f"**前 {min(top_n, len(board.scored))} 名**"]
    for row in board.scored[:top_n]:
        extra = " ".join(
            part
            for part in (
                row.tier_label or "",
                "★" * row.stars if row.stars else "",
                "、".join(row.flags),
            )
            if part
        )
        line = f'{row.rank}. {row.name} <font color="info">{_num(row.total)}</font> {extra}'
        if len("\n".join([*lines, line, *tail]).encode()) > MARKDOWN_LIMIT:
            break
        lines.append(line.rstrip())
    text = "\n".join([*lines, *tail])
    while len(text.encode()) > MARKDOWN_LIMIT:  # very long red/yellow lists
        lines = lines[:-1]
        text = "\n".join([*lines, *tail])
    return text


def _num(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:f}"


# --- sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    status: PostStatus
    md5: str | None = None
    errcode: int | None = None
    reason: str | None = None


async def _window_opens(
    session: AsyncSession, branch_id: int, now: datetime, per_minute: int
) -> datetime | None:
    """When this robot may post again, if it has used its minute's allowance."""
    recent = list(
        await session.scalars(
            select(RobotPost.sent_at)
            .where(
                col(RobotPost.branch_id) == branch_id,
                col(RobotPost.status) == PostStatus.sent,
                col(RobotPost.sent_at) > now - WINDOW,
            )
            .order_by(col(RobotPost.sent_at).desc())
            .limit(per_minute)
        )
    )
    if len(recent) < per_minute:
        return None
    oldest: datetime = recent[-1]
    return oldest + WINDOW


UNCERTAIN = "发送时工作进程中断，企业微信可能已收到；为免重复未再发送"
UNANSWERED = "发送后企业微信未应答，可能已收到；为免重复未再发送"


async def send_one(
    session: AsyncSession,
    client: RobotClient,
    settings: Settings,
    post: RobotPost,
    hold: Hold,
    wechat: WeChatClient | None = None,
) -> None:
    """One claimed post. Every write is a compare-and-set on this worker's claim; the post is
    marked as on its way (committed) before WeCom is called, so a post whose worker died
    during the call is found so and not posted twice. With the mini-program's `wechat`
    client, the poster carries the board's 小程序码 and the markdown its URL Link."""
    if post.claim_token != hold.token:
        return
    if post.sending_since is not None:
        await _finish(session, settings, post, Sent(PostStatus.uncertain, reason=UNCERTAIN), hold)
        return
    robot = await session.get(BranchRobot, post.branch_id)
    if robot is None or robot.status != RobotStatus.active:
        await _finish(
            session,
            settings,
            post,
            Sent(PostStatus.failed, reason="群机器人未配置或 key 已失效"),
            hold,
        )
        return
    now = hold.now()
    opens = await _window_opens(session, post.branch_id, now, settings.robot_posts_per_minute)
    if opens is not None:  # paced: back in the queue, not an attempt
        await session.execute(
            update(RobotPost)
            .where(_held(post, hold))
            .values(
                status=PostStatus.pending,
                next_attempt_at=opens,
                locked_until=None,
                claim_token=None,
            )
        )
        return
    outcome = await _send(session, client, settings, robot, post, hold, wechat)
    if outcome.errcode == INVALID_KEY:
        await _invalid_key(session, robot, outcome)
    await _finish(session, settings, post, outcome, hold)


def _held(post: RobotPost, hold: Hold) -> Any:
    """The post, while this worker's claim holds it."""
    return (
        (col(RobotPost.id) == post.id)
        & (col(RobotPost.status) == PostStatus.sending)
        & (col(RobotPost.claim_token) == hold.token)
    )


async def _message(
    session: AsyncSession,
    settings: Settings,
    robot: BranchRobot,
    post: RobotPost,
    wechat: WeChatClient | None,
    now: datetime,
) -> tuple[dict[str, Any], str | None]:
    publication = await session.get(Publication, post.publication_id)
    assert publication is not None
    board = Board.from_json(publication.board)
    if post.trigger == WITHDRAWN:
        withdrawal = await session.get(
            PublicationWithdrawal, (publication.period_id, publication.close_no)
        )
        reason = withdrawal.reason if withdrawal is not None else ""
        return markdown_message(withdrawal_markdown(board, reason)), None
    if post.kind == PostKind.markdown:
        link = await links.outside_link(session, wechat, settings, publication, now)
        return markdown_message(markdown(board, robot.top_n, link)), None
    return image_message(await images.poster(session, wechat, settings, publication, now))


async def _send(
    session: AsyncSession,
    client: RobotClient,
    settings: Settings,
    robot: BranchRobot,
    post: RobotPost,
    hold: Hold,
    wechat: WeChatClient | None,
) -> Sent:
    try:
        key = unseal(settings, robot.key_cipher)
        message, md5 = await _message(session, settings, robot, post, wechat, hold.now())
    except SecretUnreadable:
        return Sent(PostStatus.failed, reason="无法解密群机器人 key（DATA_KEY 已更换），请重新配置")
    except FontMissing:
        return Sent(PostStatus.failed, reason="服务器未安装中文字体，无法生成海报")
    now = hold.now()
    held = await affected_rows(
        session,
        update(RobotPost)
        .where(_held(post, hold))
        .values(sending_since=now, locked_until=now + hold.lease),
    )
    if held != 1:
        raise ClaimLost()
    await session.commit()
    try:
        await client.send(key, message)
    except RobotFailed as failure:
        if failure.unanswered:  # no idempotency key: never posted blindly again
            return Sent(PostStatus.uncertain, reason=UNANSWERED)
        if failure.errcode == INVALID_KEY:
            return Sent(PostStatus.failed, errcode=INVALID_KEY, reason="群机器人 key 无效（93000）")
        if failure.errcode is None or failure.errcode in (RATE_LIMITED, -1):
            return Sent(PostStatus.pending, errcode=failure.errcode, reason=failure.errmsg)
        return Sent(
            PostStatus.failed, errcode=failure.errcode, reason=f"企业微信返回 {failure.errcode}"
        )
    return Sent(PostStatus.sent, md5=md5)


async def _invalid_key(session: AsyncSession, robot: BranchRobot, outcome: Sent) -> None:
    """Once, when the robot turns invalid: stop its queue and tell the branch's secretaries."""
    turned = await affected_rows(
        session,
        update(BranchRobot)
        .where(
            col(BranchRobot.branch_id) == robot.branch_id,
            col(BranchRobot.status) == RobotStatus.active,
        )
        .values(status=RobotStatus.invalid_key, failure=outcome.reason, updated_at=utcnow()),
    )
    if turned != 1:
        return
    await session.execute(
        update(RobotPost)
        .where(
            col(RobotPost.branch_id) == robot.branch_id,
            col(RobotPost.status) == PostStatus.pending,
        )
        .values(status=PostStatus.failed, errcode=INVALID_KEY, reason=outcome.reason)
    )
    secretaries = await session.scalars(
        select(RoleAssignment.member_id).where(
            col(RoleAssignment.unit_id) == robot.branch_id,
            col(RoleAssignment.role) == Role.branch_secretary,
        )
    )
    for member_id in sorted(set(secretaries)):
        notify(
            session,
            member_id,
            NoticeKind.robot_failed,
            "群机器人推送失败：key 无效",
            {
                "branch_id": robot.branch_id,
                "errcode": INVALID_KEY,
                "reason": "企业微信返回 93000：群机器人的 Webhook key 无效，请在小程序中重新配置",
            },
        )


async def _finish(
    session: AsyncSession,
    settings: Settings,
    post: RobotPost,
    outcome: Sent,
    hold: Hold,
    sending_since: datetime | None = None,
) -> None:
    """Record the attempt; `sending_since` keeps a post marked as on its way (a call of
    unknown outcome) for the next worker to settle."""
    now = hold.now()
    attempts = post.attempts + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "errcode": outcome.errcode,
        "reason": outcome.reason,
        "locked_until": None,
        "claim_token": None,
        "sending_since": sending_since,
        "md5": outcome.md5,
    }
    if outcome.status == PostStatus.pending:
        if attempts >= settings.robot_max_attempts:
            values["status"] = PostStatus.dead
        else:
            # 45009 waits out the robot's minute; other faults back off by doubling.
            delay = (
                WINDOW.total_seconds()
                if outcome.errcode == RATE_LIMITED
                else backoff_seconds(settings, attempts)
            )
            values |= {
                "status": PostStatus.pending,
                "next_attempt_at": now + timedelta(seconds=delay),
            }
    else:
        values |= {
            "status": outcome.status,
            "sent_at": now if outcome.status == PostStatus.sent else None,
        }
    stored = await affected_rows(
        session, update(RobotPost).where(_held(post, hold)).values(**values)
    )
    if stored:
        metrics.ROBOT_POSTS.labels(values["status"], metrics.outcome_label(outcome.errcode)).inc()


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: RobotClient,
    settings: Settings,
    now: datetime | None = None,
    limit: int = 50,
    wechat: WeChatClient | None = None,
) -> int:
    """Claim due posts, then send each in its own transaction; one that fails in our code is
    recorded and retried with backoff while the rest go on. Returns how many were claimed.
    `wechat` (the mini-program's client) gives posters their code and markdown its link."""
    hold = Hold.new(settings, now)
    async with sessionmaker() as session:
        ids = await claim_due(session, RobotPost, limit, hold)
        await session.commit()
    for post_id in ids:
        try:
            async with sessionmaker() as session:
                post = await session.get(RobotPost, post_id)
                assert post is not None
                await send_one(session, client, settings, post, hold, wechat)
                await session.commit()
        except ClaimLost:
            log.info("robot post %s was taken over by another worker", post_id)
        except Exception:
            log.exception("robot post %s failed in our code; retried with backoff", post_id)
            await _record_fault(sessionmaker, settings, post_id, hold)
    return len(ids)


async def _record_fault(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, post_id: int, hold: Hold
) -> None:
    """Counted as an attempt and retried with backoff; a post it had started stays marked as
    on its way, and the next worker settles it as uncertain."""
    try:
        async with sessionmaker() as session:
            post = await session.get(RobotPost, post_id)
            if post is None:
                return
            sending_since = post.sending_since
            await _finish(
                session, settings, post, Sent(PostStatus.pending, reason="内部错误"), hold
            )
            if sending_since is not None:
                await session.execute(
                    update(RobotPost)
                    .where(col(RobotPost.id) == post_id)
                    .values(sending_since=sending_since)
                )
            await session.commit()
    except Exception:
        log.exception("robot post %s: its failure could not be recorded either", post_id)
