"""Evaluating a scheme's criteria on a period's result or on a stored earlier result."""

import operator
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Protocol

from api.scoring.scheme import (
    Comparison,
    Condition,
    Criterion,
    Equality,
    FlagCondition,
    GroupCondition,
    ItemCondition,
    ListColor,
    ListCondition,
    RankCondition,
    RankScope,
    TierCondition,
    TotalCondition,
)

_COMPARE: dict[Comparison, Callable[[Decimal, Decimal], bool]] = {
    Comparison.LT: operator.lt,
    Comparison.LE: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GE: operator.ge,
    Comparison.EQ: operator.eq,
    Comparison.NE: operator.ne,
}


_SYMBOLS = {
    Comparison.LT: "<",
    Comparison.LE: "≤",
    Comparison.GT: ">",
    Comparison.GE: "≥",
    Comparison.EQ: "=",
    Comparison.NE: "≠",
}


class Snapshot(Protocol):
    """The fields a criterion can look at; both results and prior results have them."""

    @property
    def total(self) -> Decimal | None: ...
    @property
    def item_totals(self) -> Mapping[str, Decimal]: ...
    @property
    def group_totals(self) -> Mapping[str, Decimal]: ...
    @property
    def tier(self) -> str | None: ...
    @property
    def list_color(self) -> ListColor | None: ...
    @property
    def ranks(self) -> Mapping[RankScope, int]: ...
    @property
    def flags(self) -> tuple[str, ...]: ...


def holds(criterion: Criterion, snapshot: Snapshot) -> bool:
    any_ok = not criterion.any_of or any(_test(c, snapshot) for c in criterion.any_of)
    return any_ok and all(_test(c, snapshot) for c in criterion.all_of)


def describe(criterion: Criterion) -> str:
    """The criterion in words for the derivation, e.g. ``总分 < 60 或 分组 key < 35``."""
    parts = []
    if criterion.any_of:
        parts.append(" 或 ".join(_describe(condition) for condition in criterion.any_of))
    if criterion.all_of:
        parts.append(" 且 ".join(_describe(condition) for condition in criterion.all_of))
    return ";并且 ".join(parts)


def _describe(condition: Condition) -> str:
    match condition:
        case TotalCondition(op=op, value=value):
            return f"总分 {_SYMBOLS[op]} {value}"
        case GroupCondition(group=group, op=op, value=value):
            return f"分组 {group} {_SYMBOLS[op]} {value}"
        case ItemCondition(item=item, op=op, value=value):
            return f"事项 {item} {_SYMBOLS[op]} {value}"
        case TierCondition(op=op, value=value):
            return f"档次 {'=' if op is Equality.EQ else '≠'} {value}"
        case ListCondition(op=op, value=value):
            return f"榜单 {'=' if op is Equality.EQ else '≠'} {value}"
        case RankCondition(scope=scope, op=op, value=value):
            return f"{scope} 排名 {_SYMBOLS[op]} {value}"
        case FlagCondition(flag=flag, present=present):
            return f"{'有' if present else '无'}标记 {flag}"


def _test(condition: Condition, snapshot: Snapshot) -> bool:
    match condition:
        case TotalCondition(op=op, value=value):
            return snapshot.total is not None and _COMPARE[op](snapshot.total, value)
        case GroupCondition(group=group, op=op, value=value):
            return _scored(snapshot) and _COMPARE[op](_get(snapshot.group_totals, group), value)
        case ItemCondition(item=item, op=op, value=value):
            return _scored(snapshot) and _COMPARE[op](_get(snapshot.item_totals, item), value)
        case TierCondition(op=op, value=value):
            return snapshot.tier is not None and (snapshot.tier == value) == (op is Equality.EQ)
        case ListCondition(op=op, value=value):
            return (snapshot.list_color == value) == (op is Equality.EQ)
        case RankCondition(scope=scope, op=op, value=value):
            rank = snapshot.ranks.get(scope)
            return rank is not None and _COMPARE[op](Decimal(rank), Decimal(value))
        case FlagCondition(flag=flag, present=present):
            return (flag in snapshot.flags) == present


def _scored(snapshot: Snapshot) -> bool:
    """Exempt subjects have no total and match no score condition."""
    return snapshot.total is not None


def _get(totals: Mapping[str, Decimal], key: str) -> Decimal:
    return totals.get(key, Decimal(0))
