"""WeChat pushes (消息推送): signature checks, decryption, de-duplication and the events we use.

The endpoint answers `success` at once; events are stored once (WeChat retries a push it
thinks we missed) and applied after the reply.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from api.config import Settings
from api.db import insert_for
from api.errors import CallbackMalformed, CallbackRefused
from api.models import (
    CallbackEvent,
    Delivery,
    ServiceFollower,
    SubscriptionQuota,
    WeChatAccount,
    utcnow,
)


def verify_url(settings: Settings, signature: str, timestamp: str, nonce: str) -> None:
    """An unset token verifies nothing: pushes are refused until one is configured."""
    token = settings.wechat_callback_token.get_secret_value()
    if not token:
        raise CallbackRefused("未配置消息推送 Token，拒绝接收推送")
    try:
        check_signature(token, signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        raise CallbackRefused() from exc


def parse(
    settings: Settings,
    body: bytes,
    query: dict[str, str],
) -> dict[str, Any]:
    """The push as a dict, after checking its signature (and decrypting it in safe mode)."""
    token = settings.wechat_callback_token.get_secret_value()
    if not token:
        raise CallbackRefused("未配置消息推送 Token，拒绝接收推送")
    message = _decode(body)
    if query.get("encrypt_type") == "aes":
        crypto = WeChatCrypto(
            token, settings.wechat_encoding_aes_key.get_secret_value(), settings.wechat_app_id
        )
        try:
            plain = crypto.decrypt_message(
                message,
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise CallbackRefused() from exc
        return _decode(plain if isinstance(plain, bytes) else str(plain).encode())
    verify_url(
        settings, query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")
    )
    return message


def _decode(body: bytes) -> dict[str, Any]:
    """A push body in JSON or XML format."""
    try:
        text = body.decode("utf-8")
        is_json = text.lstrip().startswith("{")
        parsed = json.loads(text) if is_json else xmltodict.parse(text)["xml"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, ExpatError) as exc:
        raise CallbackMalformed() from exc
    if not isinstance(parsed, dict):
        raise CallbackMalformed()
    return dict(parsed)


def dedupe_key(message: dict[str, Any]) -> str:
    if message.get("MsgId"):
        return f"msg:{message['MsgId']}"
    parts = (message.get("FromUserName"), message.get("CreateTime"), message.get("Event"))
    return "event:" + ":".join(str(p) for p in parts)


async def store(session: AsyncSession, message: dict[str, Any]) -> int | None:
    """Keep the push once; returns its id, or None for a retry of one already kept."""
    insert = insert_for(session)
    created = await session.execute(
        insert(CallbackEvent)
        .values(
            dedupe_key=dedupe_key(message),
            event=str(message.get("Event") or message.get("MsgType") or ""),
            payload=message,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(CallbackEvent.id))
    )
    return created.scalar_one_or_none()


def _items(value: Any) -> list[dict[str, Any]]:
    """In JSON pushes `List` is an object for one item and an array for several."""
    if value is None:
        return []
    if isinstance(value, dict) and "item" in value:
        value = value["item"]
    return [value] if isinstance(value, dict) else list(value)


UnionLookup = Callable[[str], Awaitable[str | None]]


async def apply(
    session: AsyncSession, message: dict[str, Any], lookup: UnionLookup | None = None
) -> None:
    event = message.get("Event")
    sender = str(message.get("FromUserName", ""))
    if event == "subscribe_msg_popup_event":
        for item in _items(message.get("SubscribeMsgPopupEvent", message.get("List"))):
            if item.get("SubscribeStatusString") == "accept":
                await _add_quota(session, sender, str(item.get("TemplateId")))
    elif event == "subscribe_msg_change_event":
        for item in _items(message.get("SubscribeMsgChangeEvent", message.get("List"))):
            if item.get("SubscribeStatusString") == "reject":
                await _set_quota(session, sender, str(item.get("TemplateId")), 0)
    elif event == "subscribe_msg_sent_event":
        for item in _items(message.get("SubscribeMsgSentEvent", message.get("List"))):
            await _receipt(session, str(item.get("MsgID")), str(item.get("ErrorCode", "0")))
    elif event == "TEMPLATESENDJOBFINISH":
        status = str(message.get("Status", ""))
        await _receipt(session, str(message.get("MsgID")), "0" if status == "success" else status)
    elif event in ("subscribe", "unsubscribe"):
        unionid = message.get("UnionId")
        if event == "subscribe" and not unionid and lookup is not None:
            unionid = await lookup(sender)
        await _follow(session, sender, unionid, event == "subscribe")


async def _member_of(session: AsyncSession, openid: str) -> int | None:
    return await session.scalar(
        select(WeChatAccount.member_id).where(col(WeChatAccount.openid) == openid)
    )


async def _add_quota(session: AsyncSession, openid: str, template_id: str) -> None:
    """Each accept grants one send; accepts add up."""
    member_id = await _member_of(session, openid)
    if member_id is None:
        return
    insert = insert_for(session)
    statement = insert(SubscriptionQuota).values(
        member_id=member_id, template_id=template_id, remaining=1, updated_at=utcnow()
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id", "template_id"],
            set_={"remaining": SubscriptionQuota.remaining + 1, "updated_at": utcnow()},
        )
    )


async def _set_quota(session: AsyncSession, openid: str, template_id: str, value: int) -> None:
    member_id = await _member_of(session, openid)
    if member_id is None:
        return
    await session.execute(
        update(SubscriptionQuota)
        .where(
            col(SubscriptionQuota.member_id) == member_id,
            col(SubscriptionQuota.template_id) == template_id,
        )
        .values(remaining=value, updated_at=utcnow())
    )


async def _receipt(session: AsyncSession, msgid: str, result: str) -> None:
    """A delivery receipt: anything but success is kept as the reason."""
    if result in ("0", "success"):
        return
    await session.execute(
        update(Delivery).where(col(Delivery.msgid) == msgid).values(reason=f"微信回执：{result}")
    )


async def _follow(session: AsyncSession, openid: str, unionid: Any, following: bool) -> None:
    follower = await session.get(ServiceFollower, openid)
    if follower is None:
        follower = ServiceFollower(openid=openid)
        session.add(follower)
    follower.following = following
    follower.unionid = str(unionid) if unionid else follower.unionid
    follower.updated_at = utcnow()
    await session.flush()
