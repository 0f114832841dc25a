"""排名海报: the published board as one PNG a branch secretary forwards to a WeChat group.

Width is fixed (1080 px), the height grows with the rows. The default poster shows the top
`top` rows, a line pointing to the mini-program for the rest and the red/yellow lists by name;
`page=p` renders the p-th slice of `top` rows instead, so a big branch fits in a few images.
Above the footer, the board's 小程序码 (`code`, as WeChat gave it) opens the board in the
mini-program; without one, a line says how to find it there.

Rendering is synchronous and CPU-bound; callers on the event loop run it in a worker thread:
`png = await anyio.to_thread.run_sync(render_poster, board)`.
"""

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageDraw, ImageFont

from api.publication.board import APP_NAME, LIST_LABELS, Board, BoardRow
from api.publication.fonts import load_font as font
from api.scoring.work import fmt

WIDTH: Final = 1080
MARGIN: Final = 40
TABLE_WIDTH: Final = WIDTH - 2 * MARGIN
PAD: Final = 16  # inner padding of a table cell

BACKGROUND: Final = "#FAF5EF"
CARD: Final = "#FFFFFF"
CARD_BORDER: Final = "#ECDDD8"
RED: Final = "#B71C1C"
RED_DARK: Final = "#8E1616"
RED_PALE: Final = "#FFD9D6"
GOLD: Final = "#E0A526"
GOLD_LIGHT: Final = "#F7D27A"
AMBER: Final = "#E68A00"
YELLOW_LIST: Final = "#FBC02D"
INK: Final = "#262626"
SOFT_INK: Final = "#5B4A45"
GREY: Final = "#8C8C8C"
HEAD_ROW: Final = "#F7E4E1"
ROW_ALT: Final = "#FCF6F5"
TOP_ROW: Final = "#FFF7E3"
RULE: Final = "#F1E6E3"
MEDALS: Final = {1: "#D9A21B", 2: "#A3ABB5", 3: "#C47F4A"}
FLAG_COLORS: Final = {"前列": "#2E7D32", "末位": "#D84315", "低于平均": "#E68A00"}

NAME_MIN: Final = 280  # the name column keeps at least this width; the marks column gives way
NAME_SIZES: Final = (30, 26)  # a long name is set smaller before it is truncated
MAX_STARS_DRAWN: Final = 5  # beyond this the stars are written ★×N
PILL_TEXT: Final = 20
PILL_HEIGHT: Final = 30
PILL_GAP: Final = 8
PILL_LINE_GAP: Final = 6
# WeCom image messages are at most 2 MB; a margin for the multipart envelope.
MAX_PNG_BYTES: Final = 1_900_000
FOOTER_HEIGHT: Final = 152
FINDER_GAP: Final = 24
FINDER_HEIGHT: Final = 288  # the card with the 小程序码 (or the way to the board)
CODE_SIZE: Final = 240
CODE_INSET: Final = 24
# WeChat makes codes 280–1280 px wide; an image beyond this is not one and is not decoded.
CODE_MAX_SIDE: Final = 1600

_DANGLING: Final = " ·・-—、，,"  # stripped before "…": 「买买提·…」 reads as 「买买提…」

Painter = Callable[[ImageDraw.ImageDraw, int], None]


@dataclass(frozen=True, slots=True)
class _Block:
    """A horizontal band of the poster: its height and how to paint it at a given top."""

    height: int
    paint: Painter


@dataclass(frozen=True, slots=True)
class _Column:
    kind: str  # rank | name | total | tier | stars | red_flags | marks
    label: str
    width: int


def truncate(text: str, face: ImageFont.FreeTypeFont, width: float, *, stroke: int = 0) -> str:
    """`text` if it fits in `width` px, else its longest prefix that fits with "…" appended.

    Measured with the font (a CJK character is about twice as wide as a digit), never counted.
    Returns "" if not even "…" fits.
    """

    def fits(candidate: str) -> bool:
        return face.getlength(candidate) + 2 * stroke <= width

    if fits(text):
        return text
    low, high = 0, len(text)  # the longest prefix known to fit is at least `low` characters
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip(_DANGLING) + "…"):
            low = middle
        else:
            high = middle - 1
    result = text[:low].rstrip(_DANGLING) + "…"
    return result if fits(result) else ""


def wrap(tokens: Sequence[str], face: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines of at most `width` px, breaking between tokens, inside a token only if it must."""
    lines: list[str] = []
    line = ""
    for token in tokens:
        if face.getlength(line + token) <= width:
            line += token
            continue
        if line:
            lines.append(line)
            line = ""
        for char in token:
            if line and face.getlength(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines


def render_poster(
    board: Board, *, top: int = 30, page: int | None = None, code: bytes | None = None
) -> bytes:
    """The board as a PNG, 1080 px wide.

    Without `page`: the first `top` ranked rows, then 「其余 N 人见小程序」 and the red/yellow
    lists by name. With `page` (1-based): rows `(page-1)*top ...` and 「第 p/n 页」 in the footer.
    Exempt subjects are never ranked; they are counted in a footnote. `code` (PNG or JPEG) is
    drawn at `code_place`; without it, or if it is no image, the way to the board is written.
    Raises ValueError when `top` < 1 or `page` is out of range.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, not {top}")
    scored = sorted(board.scored, key=lambda row: (row.rank is None, row.rank or 0))
    pages = max(1, math.ceil(len(scored) / top))
    if page is None:
        shown = scored[:top]
    elif 1 <= page <= pages:
        shown = scored[(page - 1) * top : page * top]
    else:
        raise ValueError(f"page {page} is out of range 1..{pages}")
    noun = "人" if board.subject_kind == "member" else "个支部"
    columns = _columns(board, scored)

    blocks = [_header(board), _summary(board, scored, noun), _table(board, shown, columns)]
    if page is None:
        hidden = len(scored) - len(shown)
        if hidden:
            blocks.append(_line(f"… 其余 {hidden} {noun}见小程序", 26, SOFT_INK, 72))
        blocks.extend(_lists(scored, noun))
    exempt = len(board.rows) - len(board.scored)
    if exempt:
        blocks.append(_line(f"免于考核 {exempt} {noun}", 24, GREY, 60))
    scan = _code_image(code)
    blocks.append(_finder(board, with_code=scan is not None))
    blocks.append(_footer(board, None if page is None else (page, pages)))

    image = Image.new("RGB", (WIDTH, sum(block.height for block in blocks)), BACKGROUND)
    draw = ImageDraw.Draw(image)
    y = 0
    for block in blocks:
        block.paint(draw, y)
        y += block.height
    if scan is not None:
        image.paste(scan, code_place(image.height)[:2])
    return _png(image)


def _png(image: Image.Image) -> bytes:
    """Full colour; a 256-colour palette if that would exceed MAX_PNG_BYTES (WeCom's limit)."""
    png = _encode(image)
    if len(png) > MAX_PNG_BYTES:
        png = _encode(image.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    return png


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _bold(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: str,
    anchor: str,
) -> None:
    draw.text(xy, text, font=font(size), fill=fill, anchor=anchor, stroke_width=1, stroke_fill=fill)


def _text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    fill: str,
    anchor: str,
) -> None:
    draw.text(xy, text, font=font(size), fill=fill, anchor=anchor)


def _width(text: str, size: int, *, bold: bool = False) -> int:
    return math.ceil(font(size).getlength(text)) + (2 if bold else 0)


# Header ----------------------------------------------------------------------------------------


def _title(board: Board) -> tuple[int, list[str]]:
    """Title size and lines: one line if it fits at a readable size, else the unit on its own."""
    assessed = bool(board.tiers) or any(row.tier_label for row in board.rows)
    suffix = "考核结果公示" if assessed else "积分排名"
    room = WIDTH - 2 * MARGIN
    for size in (56, 52, 48, 44):
        if _width(board.unit_name + suffix, size, bold=True) <= room:
            return size, [board.unit_name + suffix]
    return 44, [truncate(board.unit_name, font(44), room, stroke=1), suffix]


def _header(board: Board) -> _Block:
    size, lines = _title(board)
    line_height = size + 18
    subtitle = truncate(board.scheme_name, font(28), WIDTH - 2 * MARGIN)
    padding, period, subtitle_height, date_height, stripe = 58, 44, 40, 36, 8
    band = padding + period + 30 + line_height * len(lines) + 14 + subtitle_height
    band += date_height + padding - 18
    height = band + stripe

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        draw.rectangle((0, top, WIDTH, top + band), fill=RED)
        draw.rectangle((0, top + band, WIDTH, top + height), fill=GOLD)
        center = WIDTH // 2
        period_width = _width(board.period_label, 26, bold=True) + 48
        y = top + padding
        draw.rounded_rectangle(
            (center - period_width / 2, y, center + period_width / 2, y + period),
            radius=period // 2,
            fill=GOLD_LIGHT,
        )
        _bold(draw, (center, y + period / 2), board.period_label, 26, RED_DARK, "mm")
        y += period + 30
        for line in lines:
            _bold(draw, (center, y + line_height / 2), line, size, "#FFFFFF", "mm")
            y += line_height
        y += 14
        _text(draw, (center, y + subtitle_height / 2), subtitle, 28, RED_PALE, "mm")
        y += subtitle_height
        date = f"公示日期 {board.published_on}"
        _text(draw, (center, y + date_height / 2), date, 22, "#F4B4AE", "mm")

    return _Block(height, paint)


# Summary ---------------------------------------------------------------------------------------


def _summary(board: Board, scored: Sequence[BoardRow], noun: str) -> _Block:
    cells: list[tuple[str, str, str]] = [
        (str(len(scored)), "参评人数" if noun == "人" else "参评支部", RED_DARK)
    ]
    if board.average is not None:
        cells.append((fmt(board.average), "平均分" if board.descending else "平均记分", RED_DARK))
    cells.extend((str(tier.count), tier.label, INK) for tier in board.tiers)
    for color, fill in (("red", RED), ("yellow", AMBER)):
        count = sum(1 for row in scored if row.list_color == color)
        if count:
            cells.append((str(count), LIST_LABELS[color], fill))
    per_row = len(cells) if len(cells) <= 5 else math.ceil(len(cells) / 2)
    lines = [cells[start : start + per_row] for start in range(0, len(cells), per_row)]
    cell_height = 112
    gap = 28
    height = gap + len(lines) * cell_height + 8

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        box_top = top + gap
        draw.rounded_rectangle(
            (MARGIN, box_top, WIDTH - MARGIN, box_top + len(lines) * cell_height),
            radius=18,
            fill=CARD,
            outline=CARD_BORDER,
        )
        for number, line in enumerate(lines):
            y = box_top + number * cell_height
            if number:
                draw.line((MARGIN + 24, y, WIDTH - MARGIN - 24, y), fill=RULE, width=2)
            cell_width = TABLE_WIDTH / len(line)
            for column, (value, label, color) in enumerate(line):
                left = MARGIN + column * cell_width
                if column:
                    draw.line((left, y + 24, left, y + cell_height - 24), fill=RULE, width=2)
                center = left + cell_width / 2
                room = cell_width - 16
                _bold(draw, (center, y + 46), truncate(value, font(44), room), 44, color, "mm")
                _text(draw, (center, y + 88), truncate(label, font(22), room), 22, GREY, "mm")

    return _Block(height, paint)


# Table -----------------------------------------------------------------------------------------


def _stars_text(stars: int) -> str:
    return "★" * stars if stars <= MAX_STARS_DRAWN else f"★×{stars}"


_Pill = tuple[str, str, str, int]  # text, background ("" for an outlined tag), colour, width


def _pills(row: BoardRow) -> list[_Pill]:
    """The marks of a row as pills: its red/yellow list first, then its flag labels."""
    items: list[tuple[str, str, str]] = []
    if row.list_color == "red":
        items.append((LIST_LABELS["red"], RED, "#FFFFFF"))
    elif row.list_color == "yellow":
        items.append((LIST_LABELS["yellow"], YELLOW_LIST, "#4E2A12"))
    items.extend((flag, "", FLAG_COLORS.get(flag, SOFT_INK)) for flag in row.flags)
    return [(text, fill, color, _width(text, PILL_TEXT) + 24) for text, fill, color in items]


def _span(pills: Sequence[_Pill]) -> int:
    return sum(pill[3] for pill in pills) + PILL_GAP * max(0, len(pills) - 1)


def _pill_lines(pills: Sequence[_Pill], room: float) -> list[list[_Pill]]:
    """Pills wrapped greedily into lines of at most `room` px (fewest lines for this order)."""
    lines: list[list[_Pill]] = []
    for pill in pills:
        if lines and _span([*lines[-1], pill]) <= room:
            lines[-1].append(pill)
        else:
            lines.append([pill])
    return lines


def _two_line_span(pills: Sequence[_Pill]) -> int:
    """The narrowest room in which the pills fit on at most two lines."""
    if len(pills) < 2:
        return _span(pills)
    return min(max(_span(pills[:cut]), _span(pills[cut:])) for cut in range(1, len(pills)))


def _columns(board: Board, scored: Sequence[BoardRow]) -> list[_Column]:
    """The table's columns: only those some scored row has data for; the name takes the rest.

    The marks column stays on one line while the name keeps NAME_MIN px, else wraps to two.
    """
    number_label = "得分" if board.descending else "记分"
    totals = [fmt(row.total) for row in scored if row.total is not None]
    columns = [
        _Column("rank", "排名", 96),
        _Column("name", "姓名" if board.subject_kind == "member" else "支部", 0),
        _Column(
            "total",
            number_label,
            max(_width(text, 32, bold=True) for text in [*totals, "—", number_label]) + 2 * PAD,
        ),
    ]
    tiers = [row.tier_label for row in scored if row.tier_label]
    if tiers:
        widest = max(_width(label, 26, bold=True) for label in [*tiers, "等次"])
        columns.append(_Column("tier", "等次", widest + 2 * PAD))
    stars = [row.stars for row in scored if row.stars]
    if stars:
        widest = max(_width(_stars_text(count), 26) for count in [*stars, 2])
        columns.append(_Column("stars", "红星", widest + 2 * PAD))
    red_flags = [row.cycle_flags for row in scored if row.cycle_flags]
    if red_flags:
        widest = max(_width(f"×{count}", 24) for count in red_flags)
        columns.append(_Column("red_flags", "红旗", max(30 + widest, _width("红旗", 22)) + 2 * PAD))
    pills = [_pills(row) for row in scored if row.list_color or row.flags]
    if pills:
        free = TABLE_WIDTH - sum(column.width for column in columns) - 2 * PAD
        one_line = max(_span(items) for items in pills)
        two_lines = max(_two_line_span(items) for items in pills)
        room = max(two_lines, min(one_line, free - NAME_MIN), _width("标记", 22, bold=True))
        columns.append(_Column("marks", "标记", room + 2 * PAD))
    columns[1] = _Column("name", columns[1].label, TABLE_WIDTH - sum(c.width for c in columns))
    return columns


def _table(board: Board, rows: Sequence[BoardRow], columns: Sequence[_Column]) -> _Block:
    marks_room = next((c.width - 2 * PAD for c in columns if c.kind == "marks"), 0)
    stacked = marks_room > 0 and any(len(_pill_lines(_pills(row), marks_room)) > 1 for row in rows)
    row_height = 88 if stacked else 84 if any(row.group for row in rows) else 68
    head_height = 56
    gap = 24
    height = gap + head_height + row_height * max(len(rows), 1) + 8
    best_tier = board.tiers[0].label if board.tiers else None

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        y = top + gap
        bottom = y + head_height + row_height * max(len(rows), 1)
        draw.rounded_rectangle(
            (MARGIN, y, WIDTH - MARGIN, bottom), radius=18, fill=CARD, outline=CARD_BORDER
        )
        draw.rounded_rectangle(
            (MARGIN, y, WIDTH - MARGIN, y + head_height),
            radius=18,
            fill=HEAD_ROW,
            corners=(True, True, False, False),
        )
        x = MARGIN
        for column in columns:
            _head_cell(draw, column, x, y + head_height / 2)
            x += column.width
        y += head_height
        if not rows:
            _text(draw, (WIDTH / 2, y + row_height / 2), "暂无排名", 26, GREY, "mm")
        for index, row in enumerate(rows):
            is_last = index == len(rows) - 1
            medal = row.rank is not None and row.rank <= 3
            background = TOP_ROW if medal else (ROW_ALT if index % 2 else None)
            if background:
                draw.rounded_rectangle(
                    (MARGIN + 1, y, WIDTH - MARGIN - 1, y + row_height - 1),
                    radius=17,
                    fill=background,
                    corners=(False, False, is_last, is_last),
                )
            if medal:
                draw.rectangle((MARGIN + 1, y + 10, MARGIN + 6, y + row_height - 10), fill=GOLD)
            if not is_last:
                draw.line(
                    (MARGIN + 20, y + row_height - 1, WIDTH - MARGIN - 20, y + row_height - 1),
                    fill=RULE,
                    width=1,
                )
            x = MARGIN
            for column in columns:
                _cell(draw, column, row, x, y, row_height, best_tier)
                x += column.width
            y += row_height

    return _Block(height, paint)


def _head_cell(draw: ImageDraw.ImageDraw, column: _Column, x: int, middle: float) -> None:
    if column.kind in ("name", "marks"):
        _bold(draw, (x + PAD, middle), column.label, 22, RED_DARK, "lm")
    elif column.kind == "total":
        _bold(draw, (x + column.width - PAD, middle), column.label, 22, RED_DARK, "rm")
    else:
        _bold(draw, (x + column.width / 2, middle), column.label, 22, RED_DARK, "mm")


def _cell(
    draw: ImageDraw.ImageDraw,
    column: _Column,
    row: BoardRow,
    x: int,
    top: int,
    height: int,
    best_tier: str | None,
) -> None:
    middle = top + height / 2
    center = x + column.width / 2
    room = column.width - 2 * PAD
    medal = row.rank is not None and row.rank <= 3
    if column.kind == "rank":
        if row.rank is not None and row.rank in MEDALS:
            draw.ellipse(
                (center - 22, middle - 22, center + 22, middle + 22), fill=MEDALS[row.rank]
            )
            _bold(draw, (center, middle), str(row.rank), 26, "#FFFFFF", "mm")
        else:
            text = str(row.rank) if row.rank is not None else "—"
            _bold(draw, (center, middle), text, 26, SOFT_INK, "mm")
    elif column.kind == "name":
        name_middle = middle - 13 if row.group else middle
        size, name = _fit_name(row.name, room, bold=medal)
        if medal:
            _bold(draw, (x + PAD, name_middle), name, size, INK, "lm")
        else:
            _text(draw, (x + PAD, name_middle), name, size, INK, "lm")
        if row.group:
            group = truncate(row.group, font(20), room)
            _text(draw, (x + PAD, middle + 22), group, 20, GREY, "lm")
    elif column.kind == "total":
        text = fmt(row.total) if row.total is not None else "—"
        color = RED if medal else INK
        _bold(draw, (x + column.width - PAD, middle), text, 32, color, "rm")
    elif column.kind == "tier" and row.tier_label:
        label = truncate(row.tier_label, font(26), room, stroke=1)
        if row.tier_label == best_tier:
            _bold(draw, (center, middle), label, 26, RED, "mm")
        else:
            _text(draw, (center, middle), label, 26, SOFT_INK, "mm")
    elif column.kind == "stars" and row.stars:
        _text(draw, (center, middle), _stars_text(row.stars), 26, GOLD, "mm")
    elif column.kind == "red_flags" and row.cycle_flags:
        label = f"×{row.cycle_flags}"
        left = center - (30 + _width(label, 24)) / 2
        _red_flag(draw, left, middle)
        _text(draw, (left + 30, middle), label, 24, RED, "lm")
    elif column.kind == "marks":
        _marks(draw, row, x + PAD, x + column.width - PAD, middle)


def _fit_name(name: str, room: float, *, bold: bool) -> tuple[int, str]:
    """The size and text of a name: full size if it fits, else smaller, else truncated."""
    stroke = 1 if bold else 0
    for size in NAME_SIZES:
        if _width(name, size) + 2 * stroke <= room:
            return size, name
    size = NAME_SIZES[-1]
    return size, truncate(name, font(size), room, stroke=stroke)


def _red_flag(draw: ImageDraw.ImageDraw, left: float, middle: float) -> None:
    """A small red flag on a pole, 26 px wide."""
    draw.line((left + 2, middle - 15, left + 2, middle + 15), fill="#6D4C41", width=3)
    draw.polygon(
        [
            (left + 4, middle - 15),
            (left + 14, middle - 12),
            (left + 25, middle - 15),
            (left + 25, middle - 1),
            (left + 14, middle + 2),
            (left + 4, middle - 1),
        ],
        fill=RED,
    )


def _marks(draw: ImageDraw.ImageDraw, row: BoardRow, left: int, right: int, middle: float) -> None:
    lines = _pill_lines(_pills(row), right - left)
    y = middle - (len(lines) * (PILL_HEIGHT + PILL_LINE_GAP) - PILL_LINE_GAP) / 2
    for line in lines:
        x = float(left)
        for text, background, color, width in line:
            box = (x, y, x + width, y + PILL_HEIGHT)
            if background:
                draw.rounded_rectangle(box, radius=PILL_HEIGHT / 2, fill=background)
            else:
                draw.rounded_rectangle(box, radius=PILL_HEIGHT / 2, outline=color, width=2)
            _text(draw, (x + width / 2, y + PILL_HEIGHT / 2), text, PILL_TEXT, color, "mm")
            x += width + PILL_GAP
        y += PILL_HEIGHT + PILL_LINE_GAP


# Lists, lines and footer -----------------------------------------------------------------------


def _lists(scored: Sequence[BoardRow], noun: str) -> list[_Block]:
    """The red and yellow lists, every member by name, in a compact wrapped paragraph."""
    blocks: list[_Block] = []
    for color, background, text_color in (
        ("red", RED, "#FFFFFF"),
        ("yellow", YELLOW_LIST, "#4E2A12"),
    ):
        names = [row.name for row in scored if row.list_color == color]
        if not names:
            continue
        blocks.append(_list_block(LIST_LABELS[color], names, noun, background, text_color))
    return blocks


def _list_block(label: str, names: Sequence[str], noun: str, background: str, color: str) -> _Block:
    title = f"{label} {len(names)} {noun}"
    pill_width = _width(title, 24, bold=True) + 32
    text_left = MARGIN + 28 + pill_width + 20
    text_right = WIDTH - MARGIN - 28
    tokens = [f"{name}、" for name in names[:-1]] + [names[-1]]
    lines = wrap(tokens, font(26), text_right - text_left)
    line_height = 42
    gap = 24
    inner = max(len(lines) * line_height, 44) + 40
    height = gap + inner

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        box_top = top + gap
        draw.rounded_rectangle(
            (MARGIN, box_top, WIDTH - MARGIN, box_top + inner),
            radius=18,
            fill=CARD,
            outline=CARD_BORDER,
        )
        draw.rectangle((MARGIN, box_top + 18, MARGIN + 6, box_top + inner - 18), fill=background)
        pill_top = box_top + 20 + (line_height - 44) / 2
        draw.rounded_rectangle(
            (MARGIN + 28, pill_top, MARGIN + 28 + pill_width, pill_top + 44),
            radius=22,
            fill=background,
        )
        _bold(draw, (MARGIN + 28 + pill_width / 2, pill_top + 22), title, 24, color, "mm")
        y = box_top + 20
        for line in lines:
            _text(draw, (text_left, y + line_height / 2), line, 26, INK, "lm")
            y += line_height

    return _Block(height, paint)


def _line(text: str, size: int, color: str, height: int) -> _Block:
    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        _text(draw, (WIDTH / 2, top + height / 2), text, size, color, "mm")

    return _Block(height, paint)


def code_place(height: int) -> tuple[int, int, int, int]:
    """Where the 小程序码 sits on a poster `height` px high: left, top, right, bottom."""
    top = height - FOOTER_HEIGHT - FINDER_HEIGHT + CODE_INSET
    left = MARGIN + CODE_INSET
    return left, top, left + CODE_SIZE, top + CODE_SIZE


def _code_image(code: bytes | None) -> Image.Image | None:
    """The code scaled to CODE_SIZE, or None if there is none or it is not a sane image."""
    if code is None:
        return None
    try:
        image = Image.open(io.BytesIO(code))
        if image.format not in ("PNG", "JPEG") or max(image.size) > CODE_MAX_SIDE:
            return None
        return image.convert("RGB").resize((CODE_SIZE, CODE_SIZE), Image.Resampling.LANCZOS)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _finder(board: Board, *, with_code: bool) -> _Block:
    """The way back into the mini-program: beside its code (pasted at `code_place`) how to
    scan it, else where to find the board."""
    height = FINDER_GAP + FINDER_HEIGHT

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        box_top = top + FINDER_GAP
        draw.rounded_rectangle(
            (MARGIN, box_top, WIDTH - MARGIN, box_top + FINDER_HEIGHT),
            radius=18,
            fill=CARD,
            outline=CARD_BORDER,
        )
        middle = box_top + FINDER_HEIGHT / 2
        if not with_code:
            room = TABLE_WIDTH - 2 * CODE_INSET
            lines = (
                ("查看完整公示", 34, RED_DARK, True),
                (f"微信搜索「{APP_NAME}」小程序", 28, INK, False),
                (f"公示 → {board.period_label} → {board.unit_name}", 26, SOFT_INK, False),
            )
            for offset, (text, size, color, bold) in zip((-70, 0, 60), lines, strict=True):
                paint_text = _bold if bold else _text
                shown = truncate(text, font(size), room, stroke=1 if bold else 0)
                paint_text(draw, (WIDTH / 2, middle + offset), shown, size, color, "mm")
            return
        text_left = MARGIN + CODE_INSET + CODE_SIZE + 40
        room = WIDTH - MARGIN - CODE_INSET - text_left
        _bold(draw, (text_left, middle - 60), "长按识别小程序码", 34, RED_DARK, "lm")
        unit = truncate(f"查看{board.unit_name}完整公示", font(26), room)
        _text(draw, (text_left, middle), unit, 26, INK, "lm")
        _text(draw, (text_left, middle + 52), f"{APP_NAME} · {board.period_label}", 22, GREY, "lm")

    return _Block(height, paint)


def _footer(board: Board, paging: tuple[int, int] | None) -> _Block:
    height = FOOTER_HEIGHT
    details = f"公示日期 {board.published_on}"
    if paging:
        details += f" · 第 {paging[0]}/{paging[1]} 页"

    def paint(draw: ImageDraw.ImageDraw, top: int) -> None:
        band = top + 32
        draw.rectangle((0, band, WIDTH, band + 6), fill=GOLD)
        draw.rectangle((0, band + 6, WIDTH, top + height), fill=RED_DARK)
        _bold(
            draw, (WIDTH / 2, band + 46), f"{APP_NAME} · 数据以小程序公示为准", 26, "#FFFFFF", "mm"
        )
        _text(draw, (WIDTH / 2, band + 88), details, 22, RED_PALE, "mm")

    return _Block(height, paint)
