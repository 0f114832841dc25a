"""Scene codes and their 小程序码.

A 小程序码 from `getwxacodeunlimit` carries a `scene` of at most 32 characters, which WeChat hands
to the page it opens (`pages.SCAN`). The scene is a short random code (12 letters and digits,
71 bits: not to be guessed) that stands for a target; the service resolves it
(`share.resolve`). WeChat makes a code's image once; it is kept, and asked again only if
`WXA_ENV_VERSION` changed. When WeChat refuses or fails, that is recorded and it is not asked
again before `retry_at`, so a busy poster does not ask on every request.

Nothing is written before WeChat is asked, only after: a request that waits for WeChat holds
no write lock (SQLite has one for the whole database, and the token store writes too). A code
made for a target that has none yet is stored with its image, unless another request stored
one first, whose code then stands.
"""

import asyncio
import io
import logging
import secrets
import string
from datetime import datetime, timedelta
from typing import Any, Final

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from api.access import Action, Principal
from api.config import Settings
from api.db import insert_for
from api.errors import AppError, WeChatError, WeChatUnavailable
from api.models import Publication, SceneCode, SceneKind, id_of, utcnow
from api.services.members import member_for
from api.wechat import pages
from api.wechat.client import WeChatClient

log = logging.getLogger("api.share")
ALPHABET: Final = string.ascii_letters + string.digits
CODE_LENGTH: Final = 12
# WeChat refused the page or the scene: a configuration to put right, not asked again soon.
REFUSALS: Final = frozenset({40129, 40169, 40097, 41030})
RETRY_REFUSED: Final = timedelta(hours=1)
RETRY_FAULT: Final = timedelta(minutes=5)  # busy, rate-limited, unreachable, too slow
MAX_SIDE: Final = 1600  # WeChat's codes are 280–1280 px wide


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


async def find(session: AsyncSession, kind: SceneKind, target_id: int) -> SceneCode | None:
    scene: SceneCode | None = await session.scalar(
        select(SceneCode)
        .where(col(SceneCode.kind) == kind, col(SceneCode.target_id) == target_id)
        .execution_options(populate_existing=True)
    )
    return scene


async def for_boards(session: AsyncSession, publications: list[Publication]) -> None:
    """Each new board's scene code, made with the board."""
    if not publications:
        return
    now = utcnow()
    rows = [
        {"code": new_code(), "kind": SceneKind.board, "target_id": id_of(p), "created_at": now}
        for p in publications
    ]
    await session.execute(
        insert_for(session)(SceneCode)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["kind", "target_id"])
    )


async def board_code(
    session: AsyncSession,
    wechat: WeChatClient | None,
    settings: Settings,
    publication: Publication,
    now: datetime,
) -> bytes | None:
    """The board's 小程序码, or None while WeChat cannot give one (no credentials, a refusal,
    a fault or no answer in time): the poster then says how to find the board."""
    scene = await find(session, SceneKind.board, id_of(publication))
    if scene is not None and _kept(scene, settings):
        return scene.image
    if wechat is None or (scene is not None and scene.retry_at and scene.retry_at > now):
        return None
    try:
        return await _ask(session, wechat, settings, SceneKind.board, id_of(publication), scene)
    except AppError as error:
        log.info("no 小程序码 for publication %s: %s %s", publication.id, error.code, error.detail)
        return None


async def member_card_code(
    session: AsyncSession,
    principal: Principal,
    wechat: WeChatClient,
    settings: Settings,
    member_id: int,
) -> bytes:
    """The 小程序码 of a member's card (一人一卡), for whoever sees the member: scanned, it opens
    the card for whoever may see it. What WeChat cannot give is an error here."""
    member = await member_for(session, principal, member_id, Action.read_members)
    scene = await find(session, SceneKind.member_card, id_of(member))
    if scene is not None and scene.image is not None and _kept(scene, settings):
        return scene.image
    return await _ask(session, wechat, settings, SceneKind.member_card, id_of(member), scene)


def _kept(scene: SceneCode, settings: Settings) -> bool:
    return scene.image is not None and scene.image_env == settings.wxa_env_version


async def _ask(
    session: AsyncSession,
    wechat: WeChatClient,
    settings: Settings,
    kind: SceneKind,
    target_id: int,
    scene: SceneCode | None,
) -> bytes:
    """Ask WeChat for the target's code (its scene's, or a new one), waiting no longer than a
    WeChat call may take, and keep it; a refusal or fault is recorded and raised."""
    code = scene.code if scene is not None else new_code()
    try:
        async with asyncio.timeout(settings.wechat_timeout_seconds):
            image = await wechat.wxacode_unlimited(
                code,
                page=pages.SCAN,
                check_path=settings.wxacode_check_path,
                env_version=settings.wxa_env_version,
            )
        if not is_code_image(image):
            raise WeChatError(detail={"reason": "getwxacodeunlimit answered no PNG or JPEG"})
    except TimeoutError as exc:
        late = WeChatUnavailable(detail={"reason": "no answer in time"})
        await _store(session, kind, target_id, code, _failure(late))
        raise late from exc
    except AppError as error:
        await _store(session, kind, target_id, code, _failure(error))
        raise
    values = {
        "image": image,
        "image_env": settings.wxa_env_version,
        "errcode": None,
        "failure": None,
        "retry_at": None,
    }
    stored = await _store(session, kind, target_id, code, values)
    if stored.code != code:  # another request's code stands: the image of ours names nothing
        if stored.image is None:
            raise WeChatUnavailable(detail={"reason": "the code was made by another request"})
        return stored.image
    return image


def _failure(error: AppError) -> dict[str, Any]:
    detail = error.detail if isinstance(error.detail, dict) else {}
    errcode = detail.get("errcode")
    refused = errcode is not None and int(errcode) in REFUSALS
    return {
        "errcode": int(errcode) if errcode is not None else None,
        "failure": f"{error.code}: {detail.get('errmsg') or detail.get('reason') or ''}"[:500],
        "retry_at": utcnow() + (RETRY_REFUSED if refused else RETRY_FAULT),
    }


async def _store(
    session: AsyncSession, kind: SceneKind, target_id: int, code: str, values: dict[str, Any]
) -> SceneCode:
    """The target's scene with `values`, made with `code` if it has none; a scene of another
    code is left as it is."""
    await session.execute(
        insert_for(session)(SceneCode)
        .values(code=code, kind=kind, target_id=target_id, created_at=utcnow(), **values)
        .on_conflict_do_update(
            index_elements=["kind", "target_id"],
            set_=values,
            where=col(SceneCode.code) == code,
        )
    )
    stored = await find(session, kind, target_id)
    assert stored is not None
    return stored


def media_type(image: bytes) -> str:
    """A kept code's type: WeChat answers JPEG unless asked for a transparent PNG."""
    return "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"


def is_code_image(data: bytes) -> bool:
    """A PNG or JPEG of a code's size (only its header is read)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format in ("PNG", "JPEG") and max(image.size) <= MAX_SIDE
    except (OSError, ValueError, Image.DecompressionBombError):
        return False
