"""Periods in Asia/Shanghai: keys, inclusive start, exclusive end, neighbours."""

from datetime import UTC, date, datetime

import pytest

from api.scoring.periods import SHANGHAI, Period, period_containing, period_from_key
from api.scoring.scheme import PeriodLength


@pytest.mark.parametrize(
    ("length", "day", "key", "start", "end"),
    [
        (PeriodLength.MONTH, date(2024, 2, 29), "2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        (PeriodLength.TWO_MONTHS, date(2024, 4, 30), "2024-B2", date(2024, 3, 1), date(2024, 5, 1)),
        (PeriodLength.QUARTER, date(2024, 12, 31), "2024-Q4", date(2024, 10, 1), date(2025, 1, 1)),
        (PeriodLength.HALF_YEAR, date(2024, 7, 1), "2024-H2", date(2024, 7, 1), date(2025, 1, 1)),
        (PeriodLength.YEAR, date(2024, 6, 15), "2024", date(2024, 1, 1), date(2025, 1, 1)),
    ],
)
def test_a_date_falls_in_its_period_with_start_and_end_at_shanghai_midnight(
    length: PeriodLength, day: date, key: str, start: date, end: date
) -> None:
    period = period_containing(length, day)
    assert period.key == key
    assert period.start == datetime(start.year, start.month, start.day, tzinfo=SHANGHAI)
    assert period.end == datetime(end.year, end.month, end.day, tzinfo=SHANGHAI)
    assert period_from_key(length, key) == period


def test_an_aware_datetime_is_read_in_shanghai_time() -> None:
    late_utc = datetime(2024, 3, 31, 16, 30, tzinfo=UTC)
    assert period_containing(PeriodLength.QUARTER, late_utc).key == "2024-Q2"
    assert period_containing(PeriodLength.QUARTER, late_utc).start.astimezone(UTC) == datetime(
        2024, 3, 31, 16, 0, tzinfo=UTC
    )


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        period_containing(PeriodLength.MONTH, datetime(2024, 3, 1, 12, 0))


def test_neighbours_cross_the_year() -> None:
    first = period_from_key(PeriodLength.QUARTER, "2024-Q1")
    assert first.previous().key == "2023-Q4"
    assert first.previous().next() == first


@pytest.mark.parametrize(
    ("length", "key"),
    [
        (PeriodLength.QUARTER, "2024-Q5"),
        (PeriodLength.MONTH, "2024-13"),
        (PeriodLength.MONTH, "2024-Q1"),
        (PeriodLength.TWO_MONTHS, "2024-B7"),
    ],
)
def test_a_malformed_key_is_refused(length: PeriodLength, key: str) -> None:
    with pytest.raises(ValueError):
        period_from_key(length, key)


def test_periods_order_by_time() -> None:
    assert Period(2023, 4, PeriodLength.QUARTER) < Period(2024, 1, PeriodLength.QUARTER)
