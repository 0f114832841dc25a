"""University branches: 0.7 × daily + 0.3 × evaluation; award and penalty bands."""

import pytest

from api.scoring.presets import PRESETS
from api.scoring.scheme import PoliticalStatus
from tests.scoring.factories import D, Ledger, evaluations, member, run

SCHEME = PRESETS["university"]

# Daily entries on the base of 70 that reach each target; the evaluation equals the target,
# so the weighted total is exactly the target.
_DAILY = {
    "95": [("award_won", "10"), ("award_won", "10"), ("award_won", "5")],
    "94.9": [("award_won", "10"), ("award_won", "10"), ("award_won", "4.9")],
    "90": [("award_won", "10"), ("award_won", "10")],
    "89.9": [("award_won", "10"), ("award_won", "9.9")],
    "80": [("award_won", "10")],
    "79.9": [("award_won", "9.9")],
    "70": [],
    "69.9": [("award_won", "2.1"), ("school_rules_breach", "2.2")],
    "60": [("school_rules_breach", "10")],
    "59.9": [("school_rules_breach", "10"), ("course_failed", "5"), ("award_won", "4.9")],
    "50": [("school_rules_breach", "10"), ("school_rules_breach", "10")],
    "49.9": [
        ("school_rules_breach", "10"),
        ("school_rules_breach", "10"),
        ("course_failed", "5"),
        ("award_won", "4.9"),
    ],
}


def test_score_is_exactly_seven_tenths_daily_plus_three_tenths_evaluation() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("award_won", "10"), ("award_won", "10")])
    result = run(SCHEME, "2024", [member("m1")], entries, evaluations("m1", final=80))["m1"]
    assert result.points == D(90)
    assert result.total == D("87.0")
    assert str(result.total) == "87.0"
    assert result.tier == "praised"


@pytest.mark.parametrize(
    ("target", "tier"),
    [
        ("95", "recommend"),
        ("94.9", "excellent"),
        ("90", "excellent"),
        ("89.9", "praised"),
        ("80", "praised"),
        ("79.9", "qualified"),
        ("70", "qualified"),
        ("69.9", "criticised"),
        ("60", "criticised"),
        ("59.9", "delayed"),
        ("50", "delayed"),
        ("49.9", "warned"),
    ],
)
def test_award_and_penalty_bands_include_their_lower_bound(target: str, tier: str) -> None:
    ledger = Ledger()
    entries = ledger.many("m1", _DAILY[target])
    result = run(SCHEME, "2024", [member("m1")], entries, evaluations("m1", final=target))["m1"]
    assert result.total == D(target)
    assert result.tier == tier


def test_a_veto_item_gives_the_lowest_tier_whatever_the_score() -> None:
    ledger = Ledger()
    entries = [*ledger.many("m1", _DAILY["95"]), ledger.add("m1", "exam_cheating")]
    result = run(SCHEME, "2024", [member("m1")], entries, evaluations("m1", final=95))["m1"]
    assert result.total == D("95.0")
    assert (result.tier, result.tier_label) == ("warned", "延期发展/转正,正式党员警告处分")


def test_stage_items_count_only_for_their_political_status() -> None:
    ledger = Ledger()
    subjects = [
        member("activist", status=PoliticalStatus.ACTIVIST),
        member("full", status=PoliticalStatus.FULL),
    ]
    entries = [
        ledger.add("activist", "activist_training", 3),
        ledger.add("full", "activist_training", 3),
    ]
    results = run(SCHEME, "2024", subjects, entries)
    assert results["activist"].points == D(73)
    assert results["full"].points == D(70)
    assert len(results["full"].ignored_entries) == 1


def test_daily_points_are_capped_at_100_before_weighting() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("award_won", "10")] * 4)
    result = run(SCHEME, "2024", [member("m1")], entries, evaluations("m1", final=100))["m1"]
    assert result.points == D(100)
    assert result.total == D("100.0")
