"""成庄矿 台阶考核: coefficients 0.8/0.9/1.0, key < 40 → 0.7, failing streaks → 免职/撤职."""

from decimal import Decimal

import pytest

from api.scoring.inputs import Entry
from api.scoring.presets import PRESETS
from tests.scoring.factories import D, Ledger, Timeline, action_codes, branch, run

SCHEME = PRESETS["chengzhuang"]
_LEVELS = {
    "key": (D(9), ["key_two_duties", "key_eight_rules", "key_three_meetings", "key_safety"]),
    "basic": (D(11), ["basic_study", "basic_org_life", "basic_dues", "basic_members"]),
}


def _checklist(
    ledger: Ledger, branch_id: str, key: str, basic: str, innovation: str
) -> list[Entry]:
    """Entries spreading each level's points over its items, each item up to its maximum."""
    entries: list[Entry] = []
    for level, points in (("key", key), ("basic", basic)):
        cap, codes = _LEVELS[level]
        remaining = D(points)
        for code in [*codes, f"{level}_{'stability' if level == 'key' else 'records'}"]:
            share = min(cap, remaining)
            if share > 0:
                entries.append(ledger.add(branch_id, code, share))
            remaining -= share
    if D(innovation) > 0:
        entries.append(ledger.add(branch_id, "innovation_project", innovation))
    return entries


@pytest.mark.parametrize(
    ("key", "basic", "innovation", "coefficient", "tier"),
    [
        ("45", "55", "10", "1.0", "step_3"),
        ("45", "45", "0", "1.0", "step_3"),
        ("45", "44.9", "0", "0.9", "step_2"),
        ("45", "35", "0", "0.9", "step_2"),
        ("45", "34.9", "0", "0.8", "step_1"),
        ("40", "30", "0", "0.8", "step_1"),
        ("40", "29.9", "0", "0.7", "below"),
    ],
)
def test_steps_set_the_secretary_pay_coefficient(
    key: str, basic: str, innovation: str, coefficient: str, tier: str
) -> None:
    ledger = Ledger()
    entries = _checklist(ledger, "s1", key, basic, innovation)
    result = run(SCHEME, "2024-Q1", [branch("s1")], entries)["s1"]
    assert result.total == D(key) + D(basic) + D(innovation)
    assert (result.tier, result.coefficient) == (tier, Decimal(coefficient))


def test_a_key_score_below_40_drops_the_coefficient_to_0_7_despite_a_high_total() -> None:
    ledger = Ledger()
    entries = _checklist(ledger, "s1", "39", "55", "10")
    result = run(SCHEME, "2024-Q1", [branch("s1")], entries)["s1"]
    assert result.total == D(104)
    assert result.group_totals["key"] == D(39)
    assert (result.tier, result.coefficient) == ("below", D("0.7"))
    assert "self_examination" in action_codes(result)


def test_the_coefficient_scales_the_assessed_pay_of_the_secretarys_category() -> None:
    ledger = Ledger()
    subjects = [branch("s1", category="frontline"), branch("s2", category="surface")]
    entries = [
        *_checklist(ledger, "s1", "45", "40", "0"),
        *_checklist(ledger, "s2", "45", "55", "0"),
    ]
    results = run(SCHEME, "2024-Q1", subjects, entries)
    assert results["s1"].coefficient_pay == D("2700.0")
    assert results["s2"].coefficient_pay == D("1000.0")


def test_a_quarter_below_60_brings_an_admonition_and_consecutive_ones_removal_then_dismissal() -> (
    None
):
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("s1")])
    quarters = ["2023-Q4", "2024-Q1", "2024-Q2"]
    results = [
        timeline.run(quarter, _checklist(ledger, "s1", "40", "19", "0"))["s1"]
        for quarter in quarters
    ]
    assert [result.total for result in results] == [D(59)] * 3
    assert [
        [code for code in action_codes(r) if code in {"admonition", "removal", "dismissal"}]
        for r in results
    ] == [["admonition"], ["admonition", "removal"], ["admonition", "dismissal"]]


def test_a_key_score_below_35_counts_as_failing_the_quarter() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("s1")])
    timeline.run("2024-Q1", _checklist(ledger, "s1", "34", "55", "10"))
    second = timeline.run("2024-Q2", _checklist(ledger, "s1", "34.5", "55", "10"))["s1"]
    assert "removal" in action_codes(second)


def test_a_passing_quarter_breaks_the_failing_streak() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("s1")])
    timeline.run("2024-Q1", _checklist(ledger, "s1", "40", "10", "0"))
    timeline.run("2024-Q2", _checklist(ledger, "s1", "45", "45", "0"))
    third = timeline.run("2024-Q3", _checklist(ledger, "s1", "40", "10", "0"))["s1"]
    assert "removal" not in action_codes(third)
    assert "admonition" in action_codes(third)


def test_the_bottom_branch_is_notified_mine_wide() -> None:
    ledger = Ledger()
    subjects = [branch("s1"), branch("s2")]
    entries = [
        *_checklist(ledger, "s1", "45", "55", "10"),
        *_checklist(ledger, "s2", "45", "40", "5"),
    ]
    results = run(SCHEME, "2024-Q1", subjects, entries)
    assert results["s2"].flags == ("bottom",)
    assert action_codes(results["s2"]) == ["mine_notice"]
    assert action_codes(results["s1"]) == []
