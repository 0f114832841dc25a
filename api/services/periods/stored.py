"""A stored result's types: what a close writes into `period_result.result`, decoded once.

A close stores each subject's `SubjectResult` (numbers and placement steps) with, beside its
fields, `explain`: what rebuilds the full derivation later (`Explanation`). Both are msgspec
structs, so the stored JSON decodes into them directly; results stored before a field existed
(the award fields, or `explain` itself) decode with that field's default.
"""

from decimal import Decimal
from typing import Any

import msgspec

from api.scoring import Subject, SubjectResult
from api.scoring.scheme import ListColor


def plain(value: Decimal) -> Decimal:
    """2.00 → 2 and 2.50 → 2.5, so results read as the scheme writes its numbers."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


class Explanation(msgspec.Struct, frozen=True):
    """What a close used for a result, so that it can be explained again exactly: the scheme
    version, the last ledger row of the period, the earlier closes that gave its history
    (period id, close number) and the subject as it was."""

    version: int
    ledger_max: int | None
    closes: tuple[tuple[int, int], ...]
    subject: Subject


class _Explained(msgspec.Struct, frozen=True):
    explain: Explanation | None = None


class StoredResult(msgspec.Struct, frozen=True):
    """One stored result: the engine's numbers and placement steps, and what explains them
    (None for a result stored before closes recorded it)."""

    result: SubjectResult
    explain: Explanation | None


class BoardResult(msgspec.Struct, frozen=True):
    """A result as its published board shows it: numbers, tier and marks, no derivation."""

    subject_id: str
    period_key: str
    exempt: bool = False
    total: Decimal | None = None
    tier: str | None = None
    tier_label: str | None = None
    list_color: ListColor | None = None
    stars: int | None = None
    cycle_flags: int | None = None
    flags: tuple[str, ...] = ()
    money: Decimal | None = None

    @classmethod
    def of(cls, result: SubjectResult) -> "BoardResult":
        return cls(
            subject_id=result.subject_id,
            period_key=result.period_key,
            exempt=result.exempt,
            total=result.total,
            tier=result.tier,
            tier_label=result.tier_label,
            list_color=result.list_color,
            stars=result.stars,
            cycle_flags=result.cycle_flags,
            flags=result.flags,
            money=result.money,
        )


def stored_result(data: dict[str, Any]) -> StoredResult:
    """The `result` column of a snapshot row, as its types."""
    return StoredResult(decoded_result(data), msgspec.convert(data, _Explained).explain)


def decoded_result(data: dict[str, Any]) -> SubjectResult:
    """Only the numbers and placement steps of a stored result (its `explain` left unread)."""
    return msgspec.convert(data, SubjectResult)
