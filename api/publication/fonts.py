"""The CJK font of the poster: where it is and its loaded faces, cached per size.

Pillow's built-in font has no Chinese glyphs. The project installs Noto Sans CJK SC with
`pip install --no-deps mplfonts==0.0.11`; only the font file is used, the package is never
imported (importing it would pull in matplotlib).
"""

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Final

from PIL import ImageFont

ENV_VAR: Final = "POSTER_FONT"
MPLFONTS_PACKAGE: Final = "mplfonts"
MPLFONTS_FILE: Final = Path("fonts") / "NotoSansCJKsc-Regular.otf"
SYSTEM_FONTS: Final = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)


class FontMissing(Exception):
    """No font with Chinese glyphs was found (or POSTER_FONT names a missing file)."""


def font_path() -> Path:
    """The font file: $POSTER_FONT, else the mplfonts Noto Sans CJK SC, else a Debian font."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise FontMissing(f"{ENV_VAR}={configured} is not a font file")
        return path
    candidates = [*_bundled(), *SYSTEM_FONTS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FontMissing(
        "no CJK font for the poster: pip install --no-deps mplfonts==0.0.11 "
        f"or set {ENV_VAR}; looked at " + ", ".join(str(path) for path in candidates)
    )


def _bundled() -> list[Path]:
    # find_spec of a top-level package locates it without executing its __init__.
    spec = importlib.util.find_spec(MPLFONTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(location) / MPLFONTS_FILE for location in spec.submodule_search_locations]


@lru_cache(maxsize=32)
def load_font(size: int) -> ImageFont.FreeTypeFont:
    """The poster font at `size` px, loaded once per size (the file is found on first use)."""
    path = font_path()
    return ImageFont.truetype(str(path), size, index=_face_index(str(path)))


@lru_cache(maxsize=4)
def _face_index(path: str) -> int:
    """The Simplified Chinese face of a collection (Noto's .ttc starts with Japanese); else 0."""
    if not path.lower().endswith((".ttc", ".otc")):
        return 0
    for index in range(16):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if "SC" in family.split():
            return index
    return 0
