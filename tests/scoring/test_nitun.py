"""泥屯 红黄榜: ≥80 一类, [60, 80) 二类, <60 三类, veto → 四类 on the yellow list."""

from decimal import Decimal

from api.scoring import Entry
from api.scoring.presets import PRESETS
from api.scoring.presets.nitun import VILLAGE_SCHEME
from api.scoring.results import StepKind
from api.scoring.scheme import ListColor
from tests.scoring.factories import (
    D,
    Ledger,
    Timeline,
    action_codes,
    branch,
    evaluations,
    member,
    run,
)

SCHEME = PRESETS["nitun"]
QUARTER = "2024-Q2"


def _eighty_points(ledger: Ledger, subject_id: str) -> list[Entry]:
    """Base 70 + 高线 5 + 5."""
    return ledger.many(subject_id, [("town_honour", 5), ("bravery", 5)])


def test_exactly_80_is_first_class_on_the_red_list() -> None:
    ledger = Ledger()
    result = run(
        SCHEME, QUARTER, [member("m1")], _eighty_points(ledger, "m1"), evaluations("m1", mutual=80)
    )["m1"]
    assert result.total == D("80.0")
    assert (result.tier, result.tier_label, result.list_color) == ("first", "一类", ListColor.RED)


def test_79_9_is_second_class_still_on_the_red_list() -> None:
    ledger = Ledger()
    result = run(
        SCHEME,
        QUARTER,
        [member("m1")],
        _eighty_points(ledger, "m1"),
        evaluations("m1", mutual="79.75"),
    )["m1"]
    assert result.total == D("79.9")
    assert (result.tier, result.list_color) == ("second", ListColor.RED)


def test_exactly_60_is_second_class_and_59_9_is_third_class_off_the_lists() -> None:
    ledger = Ledger()
    deductions = ledger.many("m1", [("no_discipline_breach", 5), ("no_image_damage", 5)])
    at_60 = run(SCHEME, QUARTER, [member("m1")], deductions, evaluations("m1", mutual=60))["m1"]
    below = run(SCHEME, QUARTER, [member("m1")], deductions, evaluations("m1", mutual="59.75"))
    assert (at_60.total, at_60.tier) == (D("60.0"), "second")
    assert (below["m1"].total, below["m1"].tier, below["m1"].list_color) == (
        D("59.9"),
        "third",
        None,
    )


def test_a_red_line_veto_gives_fourth_class_and_the_yellow_list_whatever_the_score() -> None:
    ledger = Ledger()
    entries = [*_eighty_points(ledger, "m1"), ledger.add("m1", "red_formalism")]
    result = run(SCHEME, QUARTER, [member("m1")], entries, evaluations("m1", mutual=100))["m1"]
    assert result.total == D("88.0")
    assert result.vetoed
    assert (result.tier, result.tier_label, result.list_color) == (
        "fourth",
        "四类",
        ListColor.YELLOW,
    )
    veto_steps = [step for step in result.derivation if step.kind is StepKind.VETO]
    assert veto_steps[0].entry_ids == (entries[-1].id,)


def test_a_reversed_veto_no_longer_vetoes() -> None:
    ledger = Ledger()
    veto = ledger.add("m1", "red_masses")
    entries = [*_eighty_points(ledger, "m1"), veto, ledger.reverse(veto)]
    result = run(SCHEME, QUARTER, [member("m1")], entries, evaluations("m1", mutual=80))["m1"]
    assert not result.vetoed
    assert result.tier == "first"


def test_two_consecutive_fourth_class_quarters_send_the_member_to_the_education_branch() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    first = timeline.run("2024-Q1", [ledger.add("m1", "red_interests")])
    second = timeline.run("2024-Q2", [ledger.add("m1", "red_interests")])
    assert "education_branch" not in action_codes(first["m1"])
    assert "education_branch" in action_codes(second["m1"])


def test_a_fourth_class_quarter_between_others_does_not_count_as_consecutive() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    timeline.run("2024-Q1", [ledger.add("m1", "red_interests")])
    timeline.run("2024-Q2", [], evaluations("m1", mutual=80))
    third = timeline.run("2024-Q3", [ledger.add("m1", "red_interests")])
    assert "education_branch" not in action_codes(third["m1"])


def test_four_consecutive_first_class_quarters_earn_the_party_member_household_plaque() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    quarters = ["2023-Q3", "2023-Q4", "2024-Q1", "2024-Q2"]
    results = [
        timeline.run(key, _eighty_points(ledger, "m1"), evaluations("m1", mutual=90))["m1"]
        for key in quarters
    ]
    assert ["honour_household" in action_codes(result) for result in results] == [
        False,
        False,
        False,
        True,
    ]


def test_members_are_ranked_in_their_group_and_branch() -> None:
    ledger = Ledger()
    subjects = [member("m1", group="g1"), member("m2", group="g2"), member("m3", group="g2")]
    entries = [*_eighty_points(ledger, "m2"), ledger.add("m3", "bravery", 5)]
    results = run(SCHEME, QUARTER, subjects, entries)
    assert {key: dict(result.ranks) for key, result in results.items()} == {
        "m1": {"group": 1, "branch": 3},
        "m2": {"group": 1, "branch": 1},
        "m3": {"group": 2, "branch": 2},
    }


def test_a_missing_mutual_evaluation_counts_as_zero_and_is_reported() -> None:
    result = run(SCHEME, QUARTER, [member("m1")])["m1"]
    assert result.total == D("42.0")
    assert result.missing_evaluations == ("mutual",)


def test_village_classes_pay_transfer_money_and_committee_member_pay() -> None:
    ledger = Ledger()
    villages = [branch(code) for code in ("v1", "v2", "v3", "v4")]
    entries = [
        ledger.add("v1", "key_task", 85),
        ledger.add("v2", "key_task", 60),
        ledger.add("v3", "key_task", "59.5"),
        ledger.add("v4", "key_task", 95),
        ledger.add("v4", "key_task_veto"),
    ]
    results = run(VILLAGE_SCHEME, QUARTER, villages, entries)
    paid = {key: (r.tier_label, r.money, r.member_money) for key, r in results.items()}
    assert paid == {
        "v1": ("一类", Decimal(3000), Decimal(300)),
        "v2": ("二类", Decimal(2000), Decimal(200)),
        "v3": ("三类", Decimal(1000), Decimal(-100)),
        "v4": ("四类", Decimal(0), Decimal(0)),
    }
