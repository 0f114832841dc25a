"""分享卡片: the image of a board's share card in a WeChat chat, 5:4 as WeChat shows it.

`onShareAppMessage` shows its `imageUrl` at 5:4; drawn at 1000 × 800 it stays sharp on any
phone. It carries what a glance in the group should tell: the period, the branch, its top three
and its average; the card itself opens the board.

Rendering is synchronous and CPU-bound, like the poster: run it in a worker thread.
"""

import io
from typing import Final

from PIL import Image, ImageDraw

from api.publication.board import APP_NAME, Board
from api.publication.fonts import load_font as font
from api.publication.poster import (
    BACKGROUND,
    CARD,
    CARD_BORDER,
    GOLD,
    GOLD_LIGHT,
    GREY,
    INK,
    MEDALS,
    RED,
    RED_DARK,
    RED_PALE,
    SOFT_INK,
    truncate,
)
from api.scoring.work import fmt

WIDTH: Final = 1000
HEIGHT: Final = 800  # WeChat's share card ratio, 5:4
MARGIN: Final = 48
BAND: Final = 230
ROW: Final = 118


def render_share_card(board: Board) -> bytes:
    """The share card of a board as a PNG, WIDTH × HEIGHT."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _band(draw, board)
    _podium(draw, board)
    _average(draw, board)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _band(draw: ImageDraw.ImageDraw, board: Board) -> None:
    draw.rectangle((0, 0, WIDTH, BAND), fill=RED)
    draw.rectangle((0, BAND, WIDTH, BAND + 8), fill=GOLD)
    label = board.period_label
    pill = font(30).getlength(label) + 56
    draw.rounded_rectangle((MARGIN, 40, MARGIN + pill, 96), radius=28, fill=GOLD_LIGHT)
    draw.text((MARGIN + pill / 2, 68), label, font=font(30), fill=RED_DARK, anchor="mm")
    title = truncate(f"{board.unit_name}积分排名", font(56), WIDTH - 2 * MARGIN, stroke=1)
    draw.text(
        (MARGIN, 162),
        title,
        font=font(56),
        fill="#FFFFFF",
        anchor="lm",
        stroke_width=1,
        stroke_fill="#FFFFFF",
    )
    draw.text(
        (WIDTH - MARGIN, 68),
        f"{board.published_on} 公示",
        font=font(24),
        fill=RED_PALE,
        anchor="rm",
    )


def _podium(draw: ImageDraw.ImageDraw, board: Board) -> None:
    """The top three (fewer on a small board), as rows with their medal, name and total."""
    top = BAND + 8 + 28
    ranked = [row for row in board.scored if row.rank is not None and row.rank <= 3][:3]
    box = (MARGIN, top, WIDTH - MARGIN, top + 3 * ROW)
    draw.rounded_rectangle(box, radius=20, fill=CARD, outline=CARD_BORDER)
    if not ranked:
        draw.text((WIDTH / 2, top + 1.5 * ROW), "暂无排名", font=font(36), fill=GREY, anchor="mm")
        return
    for index, row in enumerate(ranked):
        middle = top + index * ROW + ROW / 2
        center = MARGIN + 70
        rank = row.rank or index + 1
        draw.ellipse(
            (center - 34, middle - 34, center + 34, middle + 34),
            fill=MEDALS.get(rank, SOFT_INK),
        )
        draw.text((center, middle), str(rank), font=font(38), fill="#FFFFFF", anchor="mm")
        total = f"{fmt(row.total)} 分" if row.total is not None else "—"
        total_width = font(40).getlength(total)
        room = WIDTH - 2 * MARGIN - 140 - total_width - 40
        name = truncate(row.name, font(44), room)
        draw.text((center + 70, middle), name, font=font(44), fill=INK, anchor="lm")
        draw.text((WIDTH - MARGIN - 36, middle), total, font=font(40), fill=RED, anchor="rm")
        if index < len(ranked) - 1:
            y = top + (index + 1) * ROW
            draw.line((MARGIN + 30, y, WIDTH - MARGIN - 30, y), fill=CARD_BORDER, width=2)


def _average(draw: ImageDraw.ImageDraw, board: Board) -> None:
    y = BAND + 8 + 28 + 3 * ROW + (HEIGHT - (BAND + 8 + 28 + 3 * ROW)) / 2
    noun = ("支部" if board.subject_kind == "member" else "") + (
        "平均" if board.descending else "平均记分"
    )
    average = f"{noun} {fmt(board.average)} 分" if board.average is not None else "暂无平均分"
    scored = f"参评 {len(board.scored)} {'人' if board.subject_kind == 'member' else '个支部'}"
    draw.text((MARGIN, y), average, font=font(34), fill=RED_DARK, anchor="lm")
    draw.text((WIDTH / 2 + 40, y), scored, font=font(30), fill=SOFT_INK, anchor="lm")
    draw.text((WIDTH - MARGIN, y), APP_NAME, font=font(28), fill=GREY, anchor="rm")
