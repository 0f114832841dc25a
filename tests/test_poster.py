"""排名海报: a PNG 1080 px wide, paged for big branches, under WeCom's 2 MB, with Chinese glyphs.

Boards are built by hand; every image is rendered in memory.
"""

import io
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from api.publication import fonts
from api.publication.board import Board, BoardRow, TierCount
from api.publication.fonts import FontMissing, font_path, load_font
from api.publication.poster import (
    CODE_SIZE,
    MAX_PNG_BYTES,
    code_place,
    render_poster,
    truncate,
    wrap,
)
from api.publication.share_card import render_share_card
from tests.fakes.wechat import code_png

ROOT = Path(__file__).resolve().parent.parent
WECOM_LIMIT = 2 * 1024 * 1024
SURNAMES = "张王李赵刘陈杨黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "建国秀英卫东桂兰志强淑珍红梅德明玉兰海涛"
LONG_NAME = "欧阳建国秀英卫东桂兰志强"  # 12 characters


# --- helpers -------------------------------------------------------------------------------


def _row(index: int, *, exempt: bool = False, name: str | None = None) -> BoardRow:
    given = GIVEN[index % len(GIVEN)] + GIVEN[(index * 7) % len(GIVEN)]
    last = index % 41 == 40
    color = "red" if index < 8 else "yellow" if last else None
    return BoardRow(
        rank=None if exempt else index + 1,
        subject_id=index + 1,
        name=name or SURNAMES[index % len(SURNAMES)] + given[: 1 + index % 2],
        group=f"第{'一二三四'[index % 4]}党小组",
        total=None if exempt else Decimal(1000 - index * 3) / 10,
        tier_label=None if exempt else ("优秀" if index < 20 else "合格"),
        list_color=None if exempt else color,
        stars=None if exempt else index % 4,
        cycle_flags=None if exempt else index % 3,
        flags=("末位",) if last and not exempt else (),
        money=None,
        exempt=exempt,
    )


def _board(members: int, *, exempt: int = 0, long_names: bool = False) -> Board:
    rows = [
        _row(index, name=LONG_NAME if long_names and index % 17 == 3 else None)
        for index in range(members)
    ]
    rows += [_row(members + index, exempt=True) for index in range(exempt)]
    return Board(
        unit_id=1,
        unit_name="城关镇东关社区党支部",
        scheme_name="党员积分制管理",
        period_key="2026-10",
        period_label="2026年10月",
        published_on="2026-11-03",
        subject_kind="member",
        descending=True,
        average=Decimal("87.50"),
        tiers=(TierCount("优秀", min(members, 20)), TierCount("合格", max(members - 20, 0))),
        rows=tuple(rows),
    )


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


# --- the image -----------------------------------------------------------------------------


def test_poster_is_a_png_1080_wide() -> None:
    image = _image(render_poster(_board(12, exempt=1)))
    assert image.format == "PNG"
    assert image.width == 1080
    assert image.height > 1000


def test_height_grows_with_rows_but_not_with_exempt_members() -> None:
    def height(board: Board) -> int:
        return _image(render_poster(board)).height

    assert height(_board(20)) > height(_board(10))
    # Exempt members are one footnote line, never table rows.
    assert height(_board(10, exempt=1)) > height(_board(10))
    assert height(_board(10, exempt=6)) == height(_board(10, exempt=1))


def test_default_poster_shows_the_top_rows_then_a_pointer_to_the_rest() -> None:
    def height(board: Board, top: int = 30) -> int:
        return _image(render_poster(board, top=top)).height

    # Past `top` rows a board no longer grows the poster, beyond one 「其余 N 人」 line.
    assert height(_board(200)) == height(_board(199))
    assert height(_board(31)) > height(_board(30))
    assert height(_board(200)) < height(_board(200), top=60)


def test_two_hundred_members_stay_under_the_wecom_limit() -> None:
    board = _board(200, exempt=3, long_names=True)
    for png in (render_poster(board), render_poster(board, top=200)):
        assert len(png) < WECOM_LIMIT
        assert len(png) <= MAX_PNG_BYTES
        assert _image(png).width == 1080


# --- the way back into the mini-program ----------------------------------------------------


def _pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def _code_pixels(png: bytes) -> list[tuple[int, ...]]:
    image = _image(png).convert("RGB")
    left, top, right, bottom = code_place(image.height)
    assert (right - left, bottom - top) == (CODE_SIZE, CODE_SIZE)
    quarter = CODE_SIZE // 4
    return [_pixel(image, (left + quarter * x, top + quarter * y)) for y in (1, 3) for x in (1, 3)]


def test_the_code_is_drawn_at_its_place_and_without_one_the_way_is_written() -> None:
    board = _board(12)
    code = code_png("scene-one")
    shown = _image(code).convert("RGB")
    colours = [
        _pixel(shown, (shown.width * x // 4, shown.height * y // 4)) for y in (1, 3) for x in (1, 3)
    ]
    assert len(set(colours)) == 4
    assert _code_pixels(render_poster(board, code=code)) == colours
    assert _code_pixels(render_poster(board, top=5, page=2, code=code)) == colours
    without = render_poster(board)
    assert _code_pixels(without) == [(255, 255, 255)] * 4
    assert _image(without).height == _image(render_poster(board, code=code)).height


def test_what_is_no_code_is_not_drawn() -> None:
    board = _board(12)
    without = render_poster(board)
    huge = io.BytesIO()
    Image.new("RGB", (2000, 2000), "red").save(huge, "PNG")
    gif = io.BytesIO()
    Image.new("RGB", (280, 280), "red").save(gif, "GIF")
    for code in (b"not an image", b"\x89PNG\r\n\x1a\n", huge.getvalue(), gif.getvalue()):
        assert render_poster(board, code=code) == without


# --- the share card ------------------------------------------------------------------------


@pytest.mark.parametrize("members", [0, 1, 2, 12])
def test_the_share_card_is_5_4_whatever_the_board(members: int) -> None:
    image = _image(render_share_card(_board(members)))
    assert (image.format, image.size) == ("PNG", (1000, 800))


# --- pages ---------------------------------------------------------------------------------


def test_pages_are_different_images() -> None:
    board = _board(200)
    pages = [render_poster(board, top=30, page=page) for page in range(1, 8)]
    assert len(set(pages)) == 7
    assert render_poster(board, top=30) not in pages
    # The last page holds the remaining 20 rows, so it is shorter than a full one.
    assert _image(pages[-1]).height < _image(pages[0]).height


@pytest.mark.parametrize("page", [0, -1, 8, 100])
def test_page_out_of_range_is_refused(page: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        render_poster(_board(200), top=30, page=page)


def test_an_empty_board_has_one_page() -> None:
    empty = _board(0)
    assert _image(render_poster(empty, page=1)).width == 1080
    with pytest.raises(ValueError):
        render_poster(empty, page=2)


def test_top_must_be_positive() -> None:
    with pytest.raises(ValueError):
        render_poster(_board(5), top=0)


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 90, 150, 200, 260, 300])
def test_truncate_fits_the_width_and_keeps_as_much_as_fits(width: int) -> None:
    face = load_font(30)
    result = truncate(LONG_NAME, face, width)
    assert face.getlength(result) <= width
    assert result.endswith("…")
    kept = len(result) - 1
    assert LONG_NAME.startswith(result[:-1])
    # One more character would not have fitted.
    assert face.getlength(LONG_NAME[: kept + 1] + "…") > width


def test_truncate_leaves_a_fitting_name_alone() -> None:
    face = load_font(30)
    assert truncate("张建国", face, 200) == "张建国"
    assert truncate(LONG_NAME, face, face.getlength(LONG_NAME)) == LONG_NAME


def test_truncate_measures_glyphs_rather_than_counting_characters() -> None:
    face = load_font(30)
    width = face.getlength("张建国秀英卫")  # six CJK characters
    digits = "1234567890"  # ten characters, each a little over half as wide
    assert truncate(digits, face, width) == digits
    assert truncate(LONG_NAME, face, width) != LONG_NAME


def test_truncate_drops_a_dangling_separator() -> None:
    face = load_font(30)
    name = "阿卜杜热合曼·买买提"
    width = face.getlength("阿卜杜热合曼·…") + 1
    assert truncate(name, face, width) == "阿卜杜热合曼…"


def test_truncate_returns_nothing_when_not_even_the_ellipsis_fits() -> None:
    assert truncate(LONG_NAME, load_font(30), 5) == ""


def test_wrap_keeps_every_name_and_every_line_fits() -> None:
    face = load_font(26)
    names = [LONG_NAME if index % 5 == 0 else f"张建国{index}" for index in range(40)]
    tokens = [f"{name}、" for name in names[:-1]] + [names[-1]]
    lines = wrap(tokens, face, 700)
    assert len(lines) > 1
    assert "".join(lines) == "".join(tokens)
    assert all(face.getlength(line) <= 700 for line in lines)
    assert not any(line.startswith("、") for line in lines)


def test_the_font_has_the_chinese_glyphs_the_poster_uses() -> None:
    face = load_font(30)

    def glyph(char: str) -> bytes:
        image = Image.new("L", (48, 48))
        ImageDraw.Draw(image).text((8, 4), char, font=face, fill=255)
        return image.tobytes()

    missing = glyph("\U000f0000")  # a private-use code point: the .notdef box (tofu)
    used = "积分排名考核结果公示得记红黄榜免于其余见小程序先锋数据以为准第页张建国★…"
    for char in used + "→「」长按识别搜索查看完整支部平均":
        drawn = glyph(char)
        assert drawn != missing, char
        assert any(drawn), char


# --- the font file -------------------------------------------------------------------------


def test_font_path_honours_poster_font(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chosen = tmp_path / "custom.otf"
    chosen.write_bytes(b"font")
    monkeypatch.setenv("POSTER_FONT", str(chosen))
    assert font_path() == chosen


def test_a_missing_poster_font_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POSTER_FONT", str(tmp_path / "nowhere.otf"))
    with pytest.raises(FontMissing, match="POSTER_FONT"):
        font_path()


def test_font_path_finds_the_mplfonts_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POSTER_FONT", raising=False)
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", ())
    path = font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf"
    assert path.parent.parent.name == "mplfonts"


def test_font_path_falls_back_to_system_fonts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    system = tmp_path / "wqy-microhei.ttc"
    system.write_bytes(b"font")
    monkeypatch.delenv("POSTER_FONT", raising=False)
    monkeypatch.setattr(fonts, "MPLFONTS_PACKAGE", "no_such_package_for_the_poster")
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (tmp_path / "absent.ttc", system))
    assert font_path() == system


def test_no_font_anywhere_raises_font_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("POSTER_FONT", raising=False)
    monkeypatch.setattr(fonts, "MPLFONTS_PACKAGE", "no_such_package_for_the_poster")
    monkeypatch.setattr(fonts, "SYSTEM_FONTS", (tmp_path / "absent.ttc",))
    with pytest.raises(FontMissing):
        font_path()


def test_locating_the_font_imports_neither_mplfonts_nor_matplotlib() -> None:
    script = (
        "import sys\n"
        "from api.publication.fonts import font_path, load_font\n"
        "font_path(); load_font(20)\n"
        "print(sorted(m for m in ('mplfonts', 'matplotlib') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
