"""Engine behaviour common to every scheme: reversals, inputs, derivation, ties, caps."""

import json
from decimal import Decimal
from typing import Any

import pytest
from msgspec.structs import replace

from api.scoring import Entry, PriorResult, Scheme, ScoringInputError, compute_period
from api.scoring.periods import period_from_key
from api.scoring.presets import PRESETS
from api.scoring.results import StepKind
from api.scoring.scheme import RankScope
from tests.scoring.factories import D, Ledger, evaluations, member, run

LUTOU = PRESETS["lutou"]


def _scheme(**changes: Any) -> Scheme:
    data: dict[str, Any] = {
        "slug": "sample",
        "name": "示例",
        "subject_kind": "member",
        "period": "month",
        "groups": [{"code": "key", "name": "重点项", "max_points": "10"}],
        "items": [
            {"code": "a", "name": "甲", "kind": "bonus", "points": "4", "group": "key"},
            {"code": "b", "name": "乙", "kind": "bonus", "points": "4", "group": "key"},
            {"code": "c", "name": "丙", "kind": "bonus", "min_points": "1", "max_points": "5"},
        ],
        "ranking": {"scopes": ["branch", "town"], "primary": "branch"},
    }
    data.update(changes)
    return Scheme.model_validate(data)


def test_a_reversal_cancels_the_entry_it_reverses() -> None:
    ledger = Ledger()
    original = ledger.add("m1", "forest_fire", 5)
    result = run(LUTOU, "2024-06", [member("m1")], [original, ledger.reverse(original)])["m1"]
    assert result.total == D(60)
    assert result.item_totals == {"forest_fire": D(0)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"points": D(-3)}, "negated points"),
        ({"item_code": "flood_fighting"}, "negated points"),
    ],
)
def test_a_reversal_must_mirror_its_original(change: dict[str, Any], message: str) -> None:
    ledger = Ledger()
    original = ledger.add("m1", "forest_fire", 5)
    broken = replace(ledger.reverse(original), **change)
    with pytest.raises(ScoringInputError, match=message):
        run(LUTOU, "2024-06", [member("m1")], [original, broken])


def test_an_entry_cannot_be_reversed_twice() -> None:
    ledger = Ledger()
    original = ledger.add("m1", "forest_fire", 5)
    with pytest.raises(ScoringInputError, match="reversed twice"):
        run(
            LUTOU,
            "2024-06",
            [member("m1")],
            [original, ledger.reverse(original), ledger.reverse(original)],
        )


def test_entries_carry_magnitudes_never_negative_points() -> None:
    with pytest.raises(ValueError, match="magnitude"):
        Entry(id="e1", subject_id="m1", item_code="dues_late", points=D(-3))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            [
                Entry(id="e1", subject_id="m1", item_code="dues_late", points=D(3)),
                Entry(id="e1", subject_id="m1", item_code="dues_late", points=D(3)),
            ],
            "given twice",
        ),
        ([Entry(id="e1", subject_id="ghost", item_code="dues_late", points=D(3))], "unknown"),
    ],
)
def test_inconsistent_entries_are_refused(entries: list[Entry], message: str) -> None:
    with pytest.raises(ScoringInputError, match=message):
        run(LUTOU, "2024-06", [member("m1")], entries)


def test_history_must_be_of_earlier_periods() -> None:
    prior = PriorResult(subject_id="m1", period_key="2024-06", total=D(60))
    with pytest.raises(ScoringInputError, match="not before"):
        run(LUTOU, "2024-06", [member("m1")], history=[prior])


def test_results_of_another_period_length_are_no_history() -> None:
    """Earlier closes of the length a scheme had before it was changed say nothing of its
    months: ignored, while a key of no period at all is still refused."""
    quarter = PriorResult(subject_id="m1", period_key="2024-Q1", total=D(60), cumulative=D(9))
    without = run(LUTOU, "2024-06", [member("m1")])
    assert run(LUTOU, "2024-06", [member("m1")], history=[quarter]) == without
    with pytest.raises(ScoringInputError, match="history"):
        garbage = PriorResult(subject_id="m1", period_key="2024-X1", total=D(60))
        run(LUTOU, "2024-06", [member("m1")], history=[garbage])


def test_the_period_length_must_match_the_scheme() -> None:
    with pytest.raises(ScoringInputError, match="per month"):
        compute_period(LUTOU, period_from_key(PRESETS["nitun"].period, "2024-Q1"), [member("m1")])


def test_two_evaluations_of_the_same_kind_are_refused() -> None:
    nitun = PRESETS["nitun"]
    twice = [*evaluations("m1", mutual=80), *evaluations("m1", mutual=70)]
    with pytest.raises(ScoringInputError, match="two mutual evaluations"):
        run(nitun, "2024-Q1", [member("m1")], [], twice)


def test_an_unknown_item_is_ignored_and_reported() -> None:
    ledger = Ledger()
    stray = ledger.add("m1", "no_such_item", 5)
    result = run(LUTOU, "2024-06", [member("m1")], [stray])["m1"]
    assert result.total == D(60)
    assert result.ignored_entries[0].entry_id == stray.id
    assert result.derivation[1].kind is StepKind.IGNORED


def test_points_outside_an_items_range_are_ignored() -> None:
    ledger = Ledger()
    entry = ledger.add("m1", "lead_to_prosperity", 50)
    result = run(LUTOU, "2024-06", [member("m1")], [entry])["m1"]
    assert result.total == D(60)
    assert "不符合" in result.ignored_entries[0].reason


def test_a_fixed_items_entry_is_worth_the_points_of_the_scheme_in_use() -> None:
    ledger = Ledger()
    result = run(LUTOU, "2024-06", [member("m1")], [ledger.add("m1", "forest_fire", 4)])["m1"]
    assert result.total == D(65)
    assert result.ignored_entries == ()


def test_the_derivation_names_each_entry_and_the_resulting_numbers() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("forest_fire", 5), ("dues_late", 3)])
    result = run(LUTOU, "2024-06", [member("m1")], entries)["m1"]
    steps = [(step.kind, step.entry_ids, step.value) for step in result.derivation[:6]]
    assert steps == [
        (StepKind.START, (), D(60)),
        (StepKind.ENTRY, (entries[1].id,), D(3)),
        (StepKind.ITEM_TOTAL, (entries[1].id,), D(3)),
        (StepKind.ENTRY, (entries[0].id,), D(5)),
        (StepKind.ITEM_TOTAL, (entries[0].id,), D(5)),
        (StepKind.POINTS, (), D(62)),
    ]
    assert result.derivation[5].detail == "60 + 加分 5 - 扣分 3 = 62"


def test_a_group_is_capped_at_its_maximum_and_the_derivation_shows_it() -> None:
    ledger = Ledger()
    entries = ledger.many("m1", [("a", 4), ("a", 4), ("b", 4)])
    result = run(_scheme(), "2024-06", [member("m1")], entries)["m1"]
    assert result.group_totals == {"key": D(10)}
    assert result.total == D(10)
    cap = next(step for step in result.derivation if step.kind is StepKind.GROUP_CAP)
    assert (cap.rule, cap.value) == ("key", D(10))


def test_competition_ties_skip_places_and_dense_ties_do_not() -> None:
    ledger = Ledger()
    subjects = [member(f"m{i}") for i in range(1, 5)]
    entries = [
        ledger.add("m1", "c", 5),
        ledger.add("m2", "c", 3),
        ledger.add("m3", "c", 3),
        ledger.add("m4", "c", 1),
    ]
    competition = run(_scheme(), "2024-06", subjects, entries)
    dense_scheme = _scheme(ranking={"scopes": ["branch"], "primary": "branch", "ties": "dense"})
    dense = run(dense_scheme, "2024-06", subjects, entries)
    assert [competition[f"m{i}"].ranks[RankScope.BRANCH] for i in range(1, 5)] == [1, 2, 2, 4]
    assert [dense[f"m{i}"].ranks[RankScope.BRANCH] for i in range(1, 5)] == [1, 2, 2, 3]


def test_subjects_without_a_group_get_no_group_rank() -> None:
    scheme = _scheme(ranking={"scopes": ["group", "branch"], "primary": "branch"})
    results = run(scheme, "2024-06", [member("m1", group=None), member("m2")])
    assert set(results["m1"].ranks) == {"branch"}
    assert set(results["m2"].ranks) == {"group", "branch"}


def test_results_come_back_sorted_by_subject_and_serialise_to_json() -> None:
    results = compute_period(
        LUTOU, period_from_key(LUTOU.period, "2024-06"), [member("m2"), member("m1")]
    )
    assert [result.subject_id for result in results] == ["m1", "m2"]
    dumped = json.loads(results[0].to_json())
    assert dumped["total"] == "60"
    assert results[0].to_prior().cumulative == Decimal(60)


def test_top_n_flags_the_first_places_of_the_primary_scope() -> None:
    ledger = Ledger()
    scheme = _scheme(ranking={"scopes": ["branch"], "primary": "branch", "top_n": 2})
    subjects = [member(f"m{i}") for i in range(1, 5)]
    entries = [ledger.add(f"m{i}", "c", i) for i in range(1, 5)]
    results = run(scheme, "2024-06", subjects, entries)
    assert sorted(key for key, r in results.items() if "top_n" in r.flags) == ["m3", "m4"]


def test_a_streak_can_test_the_rank_in_a_scope() -> None:
    ledger = Ledger()
    podium = {
        "when": {"all_of": [{"measure": "rank", "scope": "town", "op": "le", "value": 1}]},
        "count": 1,
        "action": {"code": "praise", "label": "全镇第一,通报表扬"},
    }
    scheme = _scheme(streaks=[podium])
    subjects = [member("m1", branch="b1"), member("m2", branch="b2")]
    results = run(scheme, "2024-06", subjects, [ledger.add("m2", "c", 3)])
    assert [action.code for action in results["m2"].actions] == ["praise"]
    assert results["m1"].actions == ()
    assert results["m1"].ranks[RankScope.BRANCH] == 1


def test_a_tally_scores_like_the_ledger_rows_it_stands_for() -> None:
    ledger = Ledger()
    rows = ledger.many(
        "m1",
        [("village_cleaning", 2)] * 4 + [("negative_conduct", 4), ("negative_conduct", 6)],
    )
    one_by_one = run(LUTOU, "2024-06", [member("m1", category="B")], rows)["m1"]
    tallies = [
        Entry(
            id="t1",
            subject_id="m1",
            item_code="village_cleaning",
            points=D(8),
            count=4,
            ledger_ids=tuple(row.id for row in rows[:4]),
        ),
        Entry(
            id="t2",
            subject_id="m1",
            item_code="negative_conduct",
            points=D(10),
            count=2,
            ledger_ids=(rows[4].id, rows[5].id),
        ),
    ]
    tallied = run(LUTOU, "2024-06", [member("m1", category="B")], tallies)["m1"]
    assert (tallied.total, tallied.item_totals) == (one_by_one.total, one_by_one.item_totals)
    entry_steps = [step for step in tallied.derivation if step.kind is StepKind.ENTRY]
    listed = {entry_id for step in entry_steps for entry_id in step.entry_ids}
    assert listed == {row.id for row in rows}


def test_a_tally_outside_count_times_the_range_is_ignored() -> None:
    tally = Entry(id="t1", subject_id="m1", item_code="negative_conduct", points=D(25), count=2)
    result = run(LUTOU, "2024-06", [member("m1")], [tally])["m1"]
    assert result.total == D(60)
    assert result.ignored_entries[0].entry_id == "t1"


def test_a_tally_cannot_also_be_a_reversal() -> None:
    with pytest.raises(ValueError, match="tally"):
        Entry(id="t1", subject_id="m1", item_code="x", points=D(-2), count=2, reverses="e1")
