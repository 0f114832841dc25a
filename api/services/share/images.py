"""The images drawn from a published board: its default poster and its 5:4 share card.

A board never changes once published, so each is drawn once and kept (`board_image`). A poster
drawn while WeChat could not give the board's 小程序码 is drawn again once the code is there.
Drawing is CPU-bound and runs in a worker thread.
"""

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db import insert_for
from api.models import BoardImage, BoardImageKind, Publication, id_of, utcnow
from api.publication.board import Board
from api.publication.poster import render_poster
from api.publication.share_card import render_share_card
from api.services.share import scenes
from api.wechat.client import WeChatClient

DEFAULT_TOP = 30  # the poster a board is shared with (the route's default too)


async def poster(
    session: AsyncSession,
    wechat: WeChatClient | None,
    settings: Settings,
    publication: Publication,
    now: datetime,
) -> bytes:
    """The board's default poster, with its 小程序码 where WeChat gives one."""
    code = await scenes.board_code(session, wechat, settings, publication, now)
    kept = await session.get(BoardImage, (id_of(publication), BoardImageKind.poster))
    if kept is not None and (kept.with_code or code is None):
        return kept.png
    board = Board.from_json(publication.board)
    png = await asyncio.to_thread(render_poster, board, top=DEFAULT_TOP, code=code)
    await _keep(session, publication, BoardImageKind.poster, png, with_code=code is not None)
    return png


async def poster_page(
    session: AsyncSession,
    wechat: WeChatClient | None,
    settings: Settings,
    publication: Publication,
    *,
    top: int,
    page: int | None,
    now: datetime,
) -> bytes:
    """Another cut of the board (more rows, or one page of many), with the code, not kept.
    Raises ValueError for a page out of range."""
    if top == DEFAULT_TOP and page is None:
        return await poster(session, wechat, settings, publication, now)
    code = await scenes.board_code(session, wechat, settings, publication, now)
    board = Board.from_json(publication.board)
    return await asyncio.to_thread(render_poster, board, top=top, page=page, code=code)


async def card(session: AsyncSession, publication: Publication) -> bytes:
    """The board's share card (5:4)."""
    kept = await session.get(BoardImage, (id_of(publication), BoardImageKind.card))
    if kept is not None:
        return kept.png
    png = await asyncio.to_thread(render_share_card, Board.from_json(publication.board))
    await _keep(session, publication, BoardImageKind.card, png, with_code=False)
    return png


async def _keep(
    session: AsyncSession,
    publication: Publication,
    kind: BoardImageKind,
    png: bytes,
    *,
    with_code: bool,
) -> None:
    values = {"png": png, "with_code": with_code, "created_at": utcnow()}
    await session.execute(
        insert_for(session)(BoardImage)
        .values(publication_id=id_of(publication), kind=kind, **values)
        .on_conflict_do_update(index_elements=["publication_id", "kind"], set_=values)
    )
