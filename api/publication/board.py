"""公示榜: what a unit's published ranking shows, frozen at publication.

A board is built once, when a period is published, from the closed snapshot and the names of
that day, and stored as JSON; the notice board, the poster, the chat-group post and the 公示表
are all drawn from it, so later edits (a renamed member, a moved group) never change them.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

FLAG_LABELS = {
    "top_n": "前列",
    "top_percent": "前列",
    "below_average": "低于平均",
    "bottom": "末位",
}
LIST_LABELS = {"red": "红榜", "yellow": "黄榜"}
APP_NAME = "先锋积分"  # the mini-program's name, as people search for it in WeChat


@dataclass(frozen=True, slots=True)
class BoardRow:
    """One subject on the board: a member of the branch, or a branch of the town."""

    rank: int | None  # competition rank within the board; None for exempt subjects
    subject_id: int
    name: str
    group: str | None  # 党小组 name (member boards), None otherwise
    total: Decimal | None
    tier_label: str | None
    list_color: str | None  # "red" | "yellow" | None
    stars: int | None  # 本期红星
    cycle_flags: int | None  # 本年红旗
    flags: tuple[str, ...]  # labels, e.g. ("末位",)
    money: Decimal | None
    exempt: bool = False
    # 评先评优 where the scheme bars some (合阳): None where it does not say.
    award_eligible: bool | None = None
    award_reason: str | None = None


@dataclass(frozen=True, slots=True)
class TierCount:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Board:
    unit_id: int
    unit_name: str
    scheme_name: str
    period_key: str  # "2026-10", "2026-Q3", "2026-H1", "2026"
    period_label: str  # "2026年10月", "2026年第三季度"
    published_on: str  # "2026-11-03", Asia/Shanghai
    subject_kind: str  # "member" | "branch"
    descending: bool  # True: higher is better; False: a demerit scheme (fewer is better)
    average: Decimal | None
    tiers: tuple[TierCount, ...] = ()
    rows: tuple[BoardRow, ...] = field(default_factory=tuple)

    @property
    def scored(self) -> tuple[BoardRow, ...]:
        return tuple(row for row in self.rows if not row.exempt)

    def to_json(self) -> dict[str, Any]:
        """The board as JSON values: decimals as their text, tuples as lists. Written by
        msgspec (a board is turned into JSON on every read of it; `asdict` and a walk over its
        result took ten times as long)."""
        data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(self))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Board":
        rows = tuple(
            BoardRow(
                **{
                    **row,
                    "total": _decimal(row["total"]),
                    "money": _decimal(row["money"]),
                    "flags": tuple(row["flags"]),
                }
            )
            for row in data["rows"]
        )
        tiers = tuple(TierCount(**tier) for tier in data["tiers"])
        return cls(
            **{
                **data,
                "average": _decimal(data["average"]),
                "tiers": tiers,
                "rows": rows,
            }
        )


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None
