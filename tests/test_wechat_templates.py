"""Template values are made to fit WeChat's limits before sending (47003 never from us)."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.wechat.templates import TemplateValueError, format_value, template_data


def test_a_thing_never_exceeds_twenty_characters() -> None:
    value = format_value("thing1", "无故缺席支部党员大会和三会一课组织生活会议学习")
    assert len(value) == 20
    assert value.endswith("…")


def test_a_phrase_keeps_only_chinese_and_at_most_five() -> None:
    assert format_value("phrase2", "已通过123") == "已通过"
    assert format_value("phrase2", "一二三四五六七") == "一二三四五"
    with pytest.raises(TemplateValueError):
        format_value("phrase2", "OK 200")


def test_numbers_must_be_numbers() -> None:
    assert format_value("number3", "6.00") == "6.00"
    with pytest.raises(TemplateValueError):
        format_value("number3", "六分")


def test_times_are_shown_in_shanghai() -> None:
    moment = datetime(2026, 3, 31, 16, 30, tzinfo=UTC)
    assert format_value("time4", moment) == "2026-04-01 00:30"
    assert format_value("date5", "2026-11-21") == "2026-11-21"


def test_a_key_without_a_type_is_refused() -> None:
    with pytest.raises(TemplateValueError):
        format_value("first", "x")


def test_template_data_maps_keys_to_notice_fields() -> None:
    data = template_data(
        {"thing1": "item_name", "number2": "points"}, {"item_name": "请假", "points": "2.00"}
    )
    assert data == {"thing1": {"value": "请假"}, "number2": {"value": "2.00"}}


@given(st.text(max_size=60))
def test_any_text_fits_a_thing(text: str) -> None:
    assert len(format_value("thing7", text)) <= 20
