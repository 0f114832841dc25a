"""路头村: 基础分 + 加分 − 扣分, monthly and reset; categories A–D; below-average talk."""

from api.scoring.presets import PRESETS
from api.scoring.results import StepKind
from api.scoring.scheme import PoliticalStatus, RankScope
from tests.scoring.factories import D, Ledger, Timeline, action_codes, member, run

SCHEME = PRESETS["lutou"]


def test_points_are_base_plus_bonuses_minus_deductions() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("forest_fire", 5), ("civic_virtue", 5), ("dues_late", 3)])
    result = run(SCHEME, "2024-06", [member("m1", category="B")], entries)["m1"]
    assert result.total == D(67)


def test_each_month_starts_again_from_the_base() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1", category="B")])
    june = timeline.run("2024-06", [ledger.add("m1", "flood_fighting", 5)])
    july = timeline.run("2024-07")
    assert (june["m1"].total, july["m1"].total) == (D(65), D(60))


def test_the_monthly_cap_clamps_an_items_sum_and_the_derivation_shows_it() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("flood_fighting", 5)] * 3)
    result = run(SCHEME, "2024-06", [member("m1", category="B")], entries)["m1"]
    assert result.item_totals == {"flood_fighting": D(10)}
    assert result.total == D(70)
    capped = [step for step in result.derivation if step.kind is StepKind.ITEM_CAP]
    assert capped[0].entry_ids == tuple(entry.id for entry in entries)
    assert capped[0].value == D(10)


def test_an_item_for_another_category_is_ignored_with_the_reason() -> None:
    ledger = Ledger()
    duty = ledger.add("m1", "cadre_duty", 5)
    result = run(SCHEME, "2024-06", [member("m1", category="B")], [duty])["m1"]
    assert result.total == D(60)
    assert [ignored.entry_id for ignored in result.ignored_entries] == [duty.id]
    assert "不适用于类别 B" in result.ignored_entries[0].reason


def test_probationary_members_are_scored_the_same_way() -> None:
    ledger = Ledger()
    subject = member("m1", category="A", status=PoliticalStatus.PROBATIONARY)
    result = run(SCHEME, "2024-06", [subject], [ledger.add("m1", "cadre_duty", 5)])["m1"]
    assert result.total == D(65)


def test_members_below_the_branch_average_are_flagged_for_an_organisation_talk() -> None:
    ledger = Ledger()
    subjects = [member(f"m{i}", category="B") for i in range(1, 4)]
    entries = [ledger.add("m1", "civic_virtue", 5), ledger.add("m2", "village_cleaning", 2)]
    results = run(SCHEME, "2024-06", subjects, entries)
    flagged = sorted(key for key, r in results.items() if "below_average" in r.flags)
    talked = sorted(key for key, r in results.items() if "organisation_talk" in action_codes(r))
    assert flagged == talked == ["m2", "m3"]


def test_an_exempt_member_is_neither_ranked_nor_counted_in_the_average() -> None:
    ledger = Ledger()
    subjects = [
        member("m1", category="B"),
        member("m2", category="B"),
        member("m3", category="D", exempt=True),
    ]
    entries = [ledger.add("m1", "civic_virtue", 5)]
    results = run(SCHEME, "2024-06", subjects, entries)
    exempt = results["m3"]
    assert exempt.exempt and exempt.total is None and exempt.ranks == {} and exempt.flags == ()
    assert exempt.derivation[0].kind is StepKind.EXEMPT
    assert results["m2"].flags == ("below_average",)
    assert results["m2"].ranks[RankScope.BRANCH] == 2
