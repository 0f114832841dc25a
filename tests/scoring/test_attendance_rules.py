"""组织生活 in the scheme: meeting kinds and the items attendance records, validated as data."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from api.scoring.presets import PRESETS
from api.scoring.scheme import MEETING_KIND_NAMES, Scheme

HEYANG = PRESETS["heyang"]


def _heyang_with(attendance: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(HEYANG.model_dump(mode="json"))
    data["attendance"] = attendance
    return data


def test_heyang_maps_its_meetings_to_the_seeds_demerits() -> None:
    absent_and_leave = {
        kind: (rule.absent_item, rule.leave_item)
        for kind in MEETING_KIND_NAMES
        if (rule := HEYANG.attendance.rule_for(kind)) is not None
    }
    three_meetings_one_lecture = ("meeting_absent", "meeting_leave")
    assert absent_and_leave == {
        "branch_assembly": three_meetings_one_lecture,
        "branch_committee": three_meetings_one_lecture,
        "group_meeting": three_meetings_one_lecture,
        "party_lecture": three_meetings_one_lecture,
        "activity_day": ("activity_day_absent", "activity_day_leave"),
    }
    points = {
        code: HEYANG.items_by_code[code].points
        for pair in absent_and_leave.values()
        for code in pair
        if code is not None
    }
    assert points == {
        "meeting_absent": 6,
        "meeting_leave": 2,
        "activity_day_absent": 3,
        "activity_day_leave": 1,
    }


def test_a_scheme_without_rules_records_attendance_only() -> None:
    lutou = PRESETS["lutou"]
    assert all(lutou.attendance.rule_for(kind) is None for kind in MEETING_KIND_NAMES)
    assert lutou.attendance.kind_names == MEETING_KIND_NAMES


def test_a_scheme_may_add_a_kind_of_its_own() -> None:
    scheme = Scheme.model_validate(
        _heyang_with(
            {
                "meeting_kinds": [{"code": "life_meeting", "name": "组织生活会"}],
                "rules": [{"meeting_kinds": ["life_meeting"], "absent_item": "style_notice"}],
                "leave_approvers": ["branch_secretary", "group_leader"],
            }
        )
    )
    assert scheme.attendance.kind_names["life_meeting"] == "组织生活会"
    rule = scheme.attendance.rule_for("life_meeting")
    assert rule is not None and (rule.absent_item, rule.leave_item) == ("style_notice", None)
    assert Scheme.model_validate(scheme.model_dump(mode="json")) == scheme


@pytest.mark.parametrize(
    ("attendance", "message"),
    [
        (
            {"rules": [{"meeting_kinds": ["tea_party"], "absent_item": "meeting_absent"}]},
            "没有会议类型 'tea_party'（可选：'branch_assembly'",
        ),
        (
            {
                "rules": [
                    {"meeting_kinds": ["party_lecture"], "absent_item": "meeting_absent"},
                    {"meeting_kinds": ["party_lecture"], "leave_item": "meeting_leave"},
                ]
            },
            "会议类型 'party_lecture' 重复",
        ),
        (
            {"rules": [{"meeting_kinds": ["party_lecture"]}]},
            "「缺席扣分事项」「请假扣分事项」至少填一项",
        ),
        (
            {"rules": [{"meeting_kinds": ["party_lecture"], "absent_item": "volunteer_service"}]},
            "'volunteer_service' 不是固定分值的扣分事项",
        ),
        (
            {"rules": [{"meeting_kinds": ["party_lecture"], "absent_item": "key_task_merit"}]},
            "'key_task_merit' 不是固定分值的扣分事项",
        ),
        (
            {"rules": [{"meeting_kinds": ["party_lecture"], "leave_item": "no_such_item"}]},
            "'no_such_item' 不是固定分值的扣分事项",
        ),
        (
            {"meeting_kinds": [{"code": "party_lecture", "name": "党课"}]},
            "'party_lecture' 是系统自带的会议类型（党课），请换一个代码",
        ),
        (
            {"meeting_kinds": [{"code": "x", "name": "甲"}, {"code": "x", "name": "乙"}]},
            "会议类型代码 'x' 重复",
        ),
        ({"leave_approvers": []}, "leave_approvers"),
        ({"leave_approvers": ["mayor"]}, "leave_approvers"),
        ({"reminder_minutes": 0}, "reminder_minutes"),
    ],
)
def test_invalid_attendance_rules_are_refused(attendance: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Scheme.model_validate(_heyang_with(attendance))
    assert message in str(raised.value)
