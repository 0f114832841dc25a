"""合阳 十二分制: demerits accumulate over the year; 6/9/12 trigger actions; +2 offsets."""

from api.scoring.presets import PRESETS
from api.scoring.results import ActionSource, StepKind
from api.scoring.scheme import RankScope
from tests.scoring.factories import D, Ledger, Timeline, action_codes, member, run

SCHEME = PRESETS["heyang"]


def test_demerits_reaching_6_9_and_12_trigger_reminder_warning_talk_and_unqualified() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    march = timeline.run("2024-03", [ledger.add("m1", "meeting_absent", 6)])
    april = timeline.run("2024-04", [ledger.add("m1", "activity_day_absent", 3)])
    may = timeline.run("2024-05", [ledger.add("m1", "activity_day_absent", 3)])
    assert [r["m1"].total for r in (march, april, may)] == [D(6), D(9), D(12)]
    assert action_codes(march["m1"]) == ["reminder"]
    assert action_codes(april["m1"]) == ["warning_talk"]
    assert action_codes(may["m1"]) == ["unqualified"]
    assert may["m1"].actions[0].label == "作为不合格党员处置(转化、劝退、除名)"


def test_each_threshold_fires_only_once_in_the_year() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    timeline.run("2024-03", [ledger.add("m1", "meeting_absent", 6)])
    april = timeline.run("2024-04", [ledger.add("m1", "meeting_leave", 2)])
    assert april["m1"].total == D(8)
    assert action_codes(april["m1"]) == []


def test_demerits_are_capped_at_12() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("irregular_petition", 12), ("meeting_absent", 6)])
    result = run(SCHEME, "2024-03", [member("m1")], entries)["m1"]
    assert result.total == D(12)
    assert result.derivation[-1].kind is StepKind.ACTION
    assert any(step.kind is StepKind.CLAMP for step in result.derivation)


def test_one_breach_worth_12_reaches_every_threshold_at_once() -> None:
    ledger = Ledger()
    result = run(SCHEME, "2024-03", [member("m1")], [ledger.add("m1", "disobey_decision", 12)])
    assert action_codes(result["m1"]) == ["reminder", "warning_talk", "unqualified"]


def test_volunteer_service_offsets_two_demerits_of_the_same_year() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    timeline.run("2024-03", [ledger.add("m1", "meeting_absent", 6)])
    april = timeline.run("2024-04", [ledger.add("m1", "volunteer_service", 2)])
    assert april["m1"].total == D(4)
    start = april["m1"].derivation[0]
    assert (start.kind, start.value) == (StepKind.START, D(6))


def test_offsets_never_bring_demerits_below_zero_nor_bank_credit() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    march = timeline.run("2024-03", ledger.many("m1", [("volunteer_service", 2)] * 2))
    april = timeline.run("2024-04", [ledger.add("m1", "meeting_leave", 2)])
    assert march["m1"].total == D(0)
    assert april["m1"].total == D(2)


def test_an_offset_in_the_same_month_nets_before_thresholds_are_checked() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("meeting_absent", 6), ("volunteer_service", 2)])
    result = run(SCHEME, "2024-03", [member("m1")], entries)["m1"]
    assert result.total == D(4)
    assert action_codes(result) == []


def test_demerits_start_again_from_zero_in_a_new_year() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    timeline.run("2024-12", [ledger.add("m1", "style_notice", 6)])
    january = timeline.run("2025-01")
    assert january["m1"].total == D(0)


def test_an_admonition_lists_the_member_as_a_warning_member() -> None:
    ledger = Ledger()
    result = run(SCHEME, "2024-03", [member("m1")], [ledger.add("m1", "complaint_admonition", 9)])[
        "m1"
    ]
    item_actions = [a.code for a in result.actions if a.source is ActionSource.ITEM]
    assert item_actions == ["warning_member"]
    assert action_codes(result) == ["reminder", "warning_talk", "warning_member"]


def test_a_revoked_deduction_in_a_later_month_lowers_the_running_total() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    deduction = ledger.add("m1", "style_notice", 6)
    timeline.run("2024-03", [deduction])
    april = timeline.run("2024-04", [ledger.reverse(deduction)])
    assert april["m1"].total == D(0)


def test_the_member_with_most_demerits_is_bottom_and_talked_to() -> None:
    ledger = Ledger()
    subjects = [member("m1"), member("m2"), member("m3")]
    entries = [ledger.add("m1", "meeting_leave", 2), ledger.add("m2", "meeting_absent", 6)]
    results = run(SCHEME, "2024-03", subjects, entries)
    assert {key: r.ranks[RankScope.BRANCH] for key, r in results.items()} == {
        "m1": 2,
        "m2": 3,
        "m3": 1,
    }
    assert "bottom_talk" in action_codes(results["m2"])
    assert results["m2"].flags == ("bottom",)
    assert "bottom_talk" not in action_codes(results["m1"])
