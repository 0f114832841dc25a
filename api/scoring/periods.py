"""考核周期: which period a moment falls in, in Asia/Shanghai.

Keys: ``2024-03`` (month), ``2024-B2`` (two months, Mar–Apr), ``2024-Q1``, ``2024-H2``, ``2024``.
``start`` is inclusive and ``end`` exclusive (the next period's start), both aware datetimes in
Asia/Shanghai so the caller can convert them to UTC. The cycle of a period is its year.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from api.scoring.scheme import PeriodLength

SHANGHAI = ZoneInfo("Asia/Shanghai")

_MONTHS = {
    PeriodLength.MONTH: 1,
    PeriodLength.TWO_MONTHS: 2,
    PeriodLength.QUARTER: 3,
    PeriodLength.HALF_YEAR: 6,
    PeriodLength.YEAR: 12,
}
_KEY_PATTERNS = {
    PeriodLength.MONTH: re.compile(r"^(\d{4})-(\d{2})$"),
    PeriodLength.TWO_MONTHS: re.compile(r"^(\d{4})-B(\d)$"),
    PeriodLength.QUARTER: re.compile(r"^(\d{4})-Q(\d)$"),
    PeriodLength.HALF_YEAR: re.compile(r"^(\d{4})-H(\d)$"),
    PeriodLength.YEAR: re.compile(r"^(\d{4})()$"),
}


@dataclass(frozen=True, order=True)
class Period:
    """One period: ``index`` counts from 1 within ``year``."""

    year: int
    index: int
    length: PeriodLength

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.per_year:
            raise ValueError(f"period index {self.index} is outside 1..{self.per_year}")

    @property
    def per_year(self) -> int:
        return 12 // _MONTHS[self.length]

    @cached_property
    def key(self) -> str:
        match self.length:
            case PeriodLength.MONTH:
                return f"{self.year}-{self.index:02d}"
            case PeriodLength.TWO_MONTHS:
                return f"{self.year}-B{self.index}"
            case PeriodLength.QUARTER:
                return f"{self.year}-Q{self.index}"
            case PeriodLength.HALF_YEAR:
                return f"{self.year}-H{self.index}"
            case PeriodLength.YEAR:
                return f"{self.year}"

    @property
    def label(self) -> str:
        """The period as a notice names it: 2026年10月, 2026年第三季度, 2026年上半年."""
        match self.length:
            case PeriodLength.MONTH:
                return f"{self.year}年{self.index}月"
            case PeriodLength.TWO_MONTHS:
                return f"{self.year}年{self.index * 2 - 1}—{self.index * 2}月"
            case PeriodLength.QUARTER:
                return f"{self.year}年第{'一二三四'[self.index - 1]}季度"
            case PeriodLength.HALF_YEAR:
                return f"{self.year}年{'上下'[self.index - 1]}半年"
            case PeriodLength.YEAR:
                return f"{self.year}年度"

    @property
    def start(self) -> datetime:
        month = (self.index - 1) * _MONTHS[self.length] + 1
        return datetime(self.year, month, 1, tzinfo=SHANGHAI)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> "Period":
        if self.index == self.per_year:
            return Period(self.year + 1, 1, self.length)
        return Period(self.year, self.index + 1, self.length)

    def previous(self) -> "Period":
        if self.index == 1:
            return Period(self.year - 1, self.per_year, self.length)
        return Period(self.year, self.index - 1, self.length)


def period_containing(length: PeriodLength, moment: date | datetime) -> Period:
    """The period of ``length`` that contains ``moment``.

    A date is a calendar date in Asia/Shanghai; a datetime must be aware and is converted.
    """
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a naive datetime is ambiguous: give an aware datetime or a date")
        moment = moment.astimezone(SHANGHAI).date()
    index = (moment.month - 1) // _MONTHS[length] + 1
    return Period(moment.year, index, length)


def period_from_key(length: PeriodLength, key: str) -> Period:
    """Parse a key such as ``2024-Q3``; raises ``ValueError`` for a malformed key."""
    found = _KEY_PATTERNS[length].match(key)
    if found is None:
        raise ValueError(f"{key!r} is not a {length.value} period key")
    year, index = found.groups()
    return Period(int(year), int(index) if index else 1, length)


def period_of_key(key: str) -> Period:
    """Parse a key of any length (its form says which); raises ``ValueError`` for none."""
    for length, pattern in _KEY_PATTERNS.items():
        if pattern.match(key):
            return period_from_key(length, key)
    raise ValueError(f"{key!r} is not a period key")
