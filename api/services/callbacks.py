"""WeChat pushes (消息推送): signature checks, decryption, de-duplication and the events we use.

Each WeChat app (the mini-program, the service account) pushes to its own path and is checked
with its own token, safe-mode key and AppID. A push must be signed within five minutes of our
clock and carry a nonce not seen before (kept in the database, so every API process refuses a
replay); with a safe-mode key configured, plain-mode pushes are refused. The endpoint answers
`success` at once; events are stored once (WeChat retries a push it thinks we missed) and
applied after the reply.
"""

import hashlib
import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from xml.parsers.expat import ExpatError

import xmltodict
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from api.config import Settings
from api.db import insert_for
from api.errors import (
    CallbackMalformed,
    CallbackPlainModeRefused,
    CallbackRefused,
    CallbackReplayed,
    CallbackStale,
)
from api.models import (
    CallbackEvent,
    CallbackNonce,
    Delivery,
    ServiceFollower,
    SubscriptionQuota,
    WeChatAccount,
    utcnow,
)

# WeChat signs the time it sent the push; anything further from our clock is a replay or lost.
WINDOW: Final = timedelta(minutes=5)
MAX_NONCE_LENGTH: Final = 64


class WeChatApp(StrEnum):
    mini = "mini"  # 小程序: subscribe-message events
    service = "service"  # 服务号: followers and template-message receipts


APP_EVENTS: Final = {
    WeChatApp.mini: frozenset(
        {"subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event"}
    ),
    WeChatApp.service: frozenset({"subscribe", "unsubscribe", "TEMPLATESENDJOBFINISH"}),
}


@dataclass(frozen=True)
class PushApp:
    """What one app's pushes are checked against."""

    name: WeChatApp
    app_id: str
    token: str
    aes_key: str


def push_app(settings: Settings, name: WeChatApp) -> PushApp:
    if name == WeChatApp.mini:
        return PushApp(
            name,
            settings.wechat_app_id,
            settings.wechat_callback_token.get_secret_value(),
            settings.wechat_encoding_aes_key.get_secret_value(),
        )
    return PushApp(
        name,
        settings.service_app_id,
        settings.service_callback_token.get_secret_value(),
        settings.service_encoding_aes_key.get_secret_value(),
    )


def _token(app: PushApp) -> str:
    """An unset token verifies nothing: pushes are refused until one is configured."""
    if not app.token:
        raise CallbackRefused(detail={"reason": "no token configured"})
    return app.token


def signed_at(timestamp: str, now: datetime) -> datetime:
    """The push's signed time, refused unless it is within the window of `now`."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise CallbackStale()
    at = datetime.fromtimestamp(int(timestamp), UTC)
    if abs(at - now) > WINDOW:
        raise CallbackStale()
    return at


def verify_url(app: PushApp, signature: str, timestamp: str, nonce: str, *, now: datetime) -> None:
    try:
        check_signature(_token(app), signature, timestamp, nonce)
    except InvalidSignatureException as exc:
        raise CallbackRefused() from exc
    signed_at(timestamp, now)


# Real pushes are a few KB; anything this large is refused before it is parsed or stored.
MAX_PUSH_BYTES: Final = 256 * 1024
# WeChat nests three levels at most (xml > List > item); deeper is no push of theirs.
MAX_PUSH_DEPTH: Final = 8


def parse(app: PushApp, body: bytes, query: dict[str, str], *, now: datetime) -> dict[str, Any]:
    """The push as a dict, after checking its signature (and decrypting it in safe mode).

    In plain mode the signature covers the query alone, so it is checked before a single byte
    of the body is parsed: unsigned bytes never reach the XML parser. It covers no body at all,
    which is why an app with a safe-mode key takes safe-mode pushes only.
    """
    token = _token(app)
    safe_mode = query.get("encrypt_type") == "aes"
    if app.aes_key and not safe_mode:
        raise CallbackPlainModeRefused()
    if not 0 < len(query.get("nonce", "")) <= MAX_NONCE_LENGTH:
        raise CallbackRefused()
    if not safe_mode:
        verify_url(
            app, query.get("signature", ""), query.get("timestamp", ""), query["nonce"], now=now
        )
    if len(body) > MAX_PUSH_BYTES:
        raise CallbackMalformed(detail={"max_bytes": MAX_PUSH_BYTES})
    message = _decode(body)
    if not safe_mode:
        return message
    plain = _decrypt(app, token, message, query)
    signed_at(query.get("timestamp", ""), now)
    return plain


async def remember_nonce(
    session: AsyncSession, app: WeChatApp, query: dict[str, str], *, now: datetime
) -> None:
    """Refuse a nonce this app already used; forget nonces whose push is out of the window.

    Call after `parse`, with its `now`: the nonce and timestamp are signed and checked by then.
    The row is written in the request's transaction, so a push refused later leaves no nonce.
    """
    at = datetime.fromtimestamp(int(query["timestamp"]), UTC)
    await session.execute(delete(CallbackNonce).where(col(CallbackNonce.expires_at) < now))
    kept = await session.execute(
        insert_for(session)(CallbackNonce)
        .values(app=app, nonce=query["nonce"], expires_at=at + WINDOW)
        .on_conflict_do_nothing(index_elements=["app", "nonce"])
        .returning(col(CallbackNonce.nonce))
    )
    if kept.scalar_one_or_none() is None:
        raise CallbackReplayed()


def _decrypt(
    app: PushApp, token: str, message: dict[str, Any], query: dict[str, str]
) -> dict[str, Any]:
    aes_key = app.aes_key
    if not aes_key:
        raise CallbackRefused(detail={"reason": "no AES key configured"})
    encrypt = message.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise CallbackMalformed()
    try:
        crypto = WeChatCrypto(token, aes_key, app.app_id)
    except (AssertionError, ValueError) as exc:  # not 43 base64 characters
        raise CallbackRefused(detail={"reason": "AES key misconfigured"}) from exc
    try:
        plain = crypto.decrypt_message(
            {"Encrypt": encrypt},
            query.get("msg_signature", ""),
            query.get("timestamp", ""),
            query.get("nonce", ""),
        )
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise CallbackRefused() from exc
    except Exception as exc:
        # A valid signature over ciphertext that does not decrypt (base64, block size, padding,
        # length prefix, UTF-8): wechatpy reports each through a different exception type.
        raise CallbackMalformed() from exc
    return _decode(plain if isinstance(plain, bytes) else str(plain).encode())


def _decode(body: bytes) -> dict[str, Any]:
    """A push body in JSON or XML format, refused unless it can be stored as it is."""
    try:
        text = body.decode("utf-8-sig")
        if text.lstrip().startswith("{"):
            parsed = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
        elif "<!DOCTYPE" in text:
            # No DTD, so no entity expansion (billion laughs) and no external entity (XXE).
            raise CallbackMalformed()
        else:
            parsed = xmltodict.parse(text)["xml"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, ExpatError, RecursionError) as exc:
        raise CallbackMalformed() from exc
    if not isinstance(parsed, dict) or not _storable(parsed):
        raise CallbackMalformed()
    return dict(parsed)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is no JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows")
    return value


def _storable(parsed: dict[str, Any]) -> bool:
    """Shallow enough to serialise, and no text a database refuses (NUL, lone surrogates)."""
    pending: list[tuple[Any, int]] = [(parsed, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            pending.extend((key, depth) for key in value)
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        if depth > MAX_PUSH_DEPTH:
            return False
    return True


def dedupe_key(message: dict[str, Any]) -> str:
    if message.get("MsgId"):
        key = f"msg:{message['MsgId']}"
    else:
        parts = (message.get("FromUserName"), message.get("CreateTime"), message.get("Event"))
        key = "event:" + ":".join(str(p) for p in parts)
    # Real keys are short; an odd push's key is hashed to fit the column.
    return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


async def store(session: AsyncSession, message: dict[str, Any]) -> int | None:
    """Keep the push once; returns its id, or None for a retry of one already kept."""
    insert = insert_for(session)
    created = await session.execute(
        insert(CallbackEvent)
        .values(
            dedupe_key=dedupe_key(message),
            event=str(message.get("Event") or message.get("MsgType") or "")[:64],
            payload=message,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(CallbackEvent.id))
    )
    return created.scalar_one_or_none()


def _items(value: Any) -> list[dict[str, Any]]:
    """The items of a subscribe-message event, one or many, in either format.

    JSON pushes carry `List`, an object for one item and an array for several; XML pushes wrap
    it in the event's element (`<SubscribeMsgPopupEvent><List>…</List><List>…</List>`), which
    xmltodict reads as `{"List": item}` or `{"List": [item, …]}`.
    """
    if isinstance(value, dict) and "List" in value:
        value = value["List"]
    if isinstance(value, dict) and "item" in value:
        value = value["item"]
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _fits(value: Any, length: int) -> bool:
    """An id WeChat could have sent: a non-empty string that fits its column."""
    return isinstance(value, str) and 0 < len(value) <= length


UnionLookup = Callable[[str], Awaitable[str | None]]


async def apply(
    session: AsyncSession,
    app: WeChatApp,
    message: dict[str, Any],
    lookup: UnionLookup | None = None,
) -> None:
    """Apply an event of the app that pushed it: a follow pushed to the mini-program's path (or
    a subscription to the service account's) is kept but changes nothing."""
    event = message.get("Event")
    if event not in APP_EVENTS[app]:
        return
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


async def apply_stored(
    session: AsyncSession, app: WeChatApp, event_id: int, lookup: UnionLookup | None
) -> None:
    """Apply a push kept by `store`, after WeChat had its answer."""
    event = await session.get(CallbackEvent, event_id)
    if event is not None:
        await apply(session, app, event.payload, lookup)


async def _member_of(session: AsyncSession, openid: str) -> int | None:
    return await session.scalar(
        select(WeChatAccount.member_id).where(col(WeChatAccount.openid) == openid)
    )


async def _add_quota(session: AsyncSession, openid: str, template_id: str) -> None:
    """Each accept grants one send; accepts add up."""
    if not _fits(template_id, 128):
        return
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
    if not _fits(openid, 64):
        return
    unionid = unionid if _fits(unionid, 64) else None
    follower = await session.get(ServiceFollower, openid)
    if follower is None:
        follower = ServiceFollower(openid=openid)
        session.add(follower)
    follower.following = following
    follower.unionid = unionid or follower.unionid
    follower.updated_at = utcnow()
    await session.flush()
