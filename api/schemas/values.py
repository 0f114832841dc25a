"""The one format of each kind of value in every answer of the API (issue 18).

- **Points** (分值、得分、总分): a decimal string with exactly two places, the scale every scheme
  computes in ("5.00", "-2.50", "51.68"); never a JSON number, so no client rounds it.
- **Ids**: JSON integers, wherever they appear.
- **Timestamps**: ISO 8601 in UTC with a `Z` ("2026-12-06T06:00:00Z"), whatever offset a request
  used; calendar dates (occurred_on, published_on) are plain dates in Asia/Shanghai.
- **Evidence**: photo ids (integers); their temporary URLs come beside them in `photos`.
- **Pages**: `Page` (`items`, `total`, `page`, `size`), or `CursorPage` (`items`, `total`,
  `next_cursor`) for the lists a phone scrolls.
"""

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")


def points_text(value: Decimal) -> str:
    """Points as every answer writes them, also inside a notice's data."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def utc_text(value: datetime) -> str:
    """A timestamp as every answer writes it, also inside a notice's data."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


Points = Annotated[
    Decimal,
    PlainSerializer(points_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["5.00"]},
        mode="serialization",
    ),
]
Timestamp = Annotated[
    datetime,
    PlainSerializer(utc_text, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "examples": ["2026-12-06T06:00:00Z"]},
        mode="serialization",
    ),
]

# The same rules as the module's docstring, for the readers of the OpenAPI description.
FORMATS = (
    '**取值格式（全部接口一致）**：分值、得分、总分为两位小数的字符串（如 `"5.00"`、`"-2.50"`）；'
    "ID 一律为整数；时间为 UTC、以 `Z` 结尾（如 `2026-12-06T06:00:00Z`），日期为北京时间的日历日"
    "（如 `2026-12-06`）；证据一律为照片 ID（整数），临时链接见同一条目的 `photos`；"
    "列表为 `Page`（`items`、`total`、`page`、`size`），手机上滚动的列表（通知、积分台账、"
    "待审核申报）为游标分页（`items`、`total`、`next_cursor`：把它作为 `cursor` 传回即得下一页，"
    "为空表示已到末尾）。"
)
