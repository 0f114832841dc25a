"""Properties that hold for any inputs: ranks, vetoes, monotony, order independence, resets."""

import random
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from api.scoring import Entry, EvaluationResult, PriorResult, Subject, SubjectResult
from api.scoring.presets import PRESETS
from api.scoring.scheme import ComponentKind, RankScope
from tests.scoring.factories import member, run

LUTOU = PRESETS["lutou"]
UNIVERSITY = PRESETS["university"]
HEYANG = PRESETS["heyang"]

FIXED_ITEMS = ["flood_fighting", "forest_fire", "village_cleaning", "civic_virtue", "dues_late"]
FIXED_POINTS = {"flood_fighting": 5, "forest_fire": 5, "village_cleaning": 2, "civic_virtue": 5}
RANGE_ITEMS = ["lead_to_prosperity", "collective_income", "negative_conduct"]

fast = settings(max_examples=100, deadline=None)
UniversityPeriod = tuple[list[Subject], list[Entry], list[EvaluationResult]]


@st.composite
def rosters(draw: st.DrawFn) -> list[Subject]:
    places = draw(
        st.lists(
            st.tuples(st.sampled_from(["g1", "g2", "g3"]), st.sampled_from(["b1", "b2"])),
            min_size=1,
            max_size=8,
        )
    )
    return [
        member(f"m{index}", category="B", group=group, branch=branch)
        for index, (group, branch) in enumerate(places)
    ]


@st.composite
def lutou_entries(draw: st.DrawFn, subjects: list[Subject]) -> list[Entry]:
    count = draw(st.integers(min_value=0, max_value=25))
    entries = []
    for index in range(count):
        subject = draw(st.sampled_from(subjects))
        if draw(st.booleans()):
            item = draw(st.sampled_from(FIXED_ITEMS))
            points = Decimal(FIXED_POINTS.get(item, 3))
        else:
            item = draw(st.sampled_from(RANGE_ITEMS))
            points = draw(st.decimals(min_value=2, max_value=10, places=1))
        entries.append(
            Entry(id=f"e{index:03d}", subject_id=subject.id, item_code=item, points=points)
        )
    return entries


@st.composite
def lutou_periods(draw: st.DrawFn) -> tuple[list[Subject], list[Entry]]:
    subjects = draw(rosters())
    return subjects, draw(lutou_entries(subjects))


def _scope_of(subject: Subject, scope: RankScope) -> str | None:
    return {"group": subject.group_id, "branch": subject.branch_id, "town": ""}[scope]


def _competition_ranks(totals: list[Decimal]) -> list[int]:
    return sorted(1 + sum(other > total for other in totals) for total in totals)


@fast
@given(lutou_periods())
def test_ranks_in_each_scope_are_the_competition_ranks_of_the_totals(
    period: tuple[list[Subject], list[Entry]],
) -> None:
    subjects, entries = period
    results = run(LUTOU, "2024-06", subjects, entries)
    for scope in (RankScope.GROUP, RankScope.BRANCH):
        members: dict[str | None, list[SubjectResult]] = defaultdict(list)
        for subject in subjects:
            members[_scope_of(subject, scope)].append(results[subject.id])
        for scoped in members.values():
            totals = [result.total for result in scoped if result.total is not None]
            ranks = sorted(result.ranks[scope] for result in scoped)
            assert ranks == _competition_ranks(totals)
            if len(set(totals)) == len(totals):
                assert ranks == list(range(1, len(scoped) + 1))


@fast
@given(lutou_periods(), st.data())
def test_adding_a_bonus_never_lowers_a_subjects_score_or_rank(
    period: tuple[list[Subject], list[Entry]], data: st.DataObject
) -> None:
    subjects, entries = period
    lucky = data.draw(st.sampled_from(subjects))
    item = data.draw(st.sampled_from(["flood_fighting", "civic_virtue", "village_cleaning"]))
    bonus = Entry(
        id="bonus", subject_id=lucky.id, item_code=item, points=Decimal(FIXED_POINTS[item])
    )
    before = run(LUTOU, "2024-06", subjects, entries)[lucky.id]
    after = run(LUTOU, "2024-06", subjects, [*entries, bonus])[lucky.id]
    assert before.total is not None and after.total is not None
    assert after.total >= before.total
    for scope, rank in before.ranks.items():
        assert after.ranks[scope] <= rank


@fast
@given(lutou_periods(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_subjects_or_entries(
    period: tuple[list[Subject], list[Entry]], shuffler: random.Random
) -> None:
    subjects, entries = period
    shuffled_subjects, shuffled_entries = list(subjects), list(entries)
    shuffler.shuffle(shuffled_subjects)
    shuffler.shuffle(shuffled_entries)
    original = run(LUTOU, "2024-06", subjects, entries)
    reordered = run(LUTOU, "2024-06", shuffled_subjects, shuffled_entries)
    assert list(original) == list(reordered)
    assert original == reordered


@st.composite
def university_periods(
    draw: st.DrawFn,
) -> tuple[list[Subject], list[Entry], list[EvaluationResult]]:
    subjects = draw(rosters())
    items = {"award_won": 10, "leading_role": 3, "course_failed": 5, "dorm_unhygienic": 2}
    picks = draw(st.lists(st.tuples(st.sampled_from(subjects), st.sampled_from(sorted(items)))))
    entries = [
        Entry(id=f"e{i:03d}", subject_id=s.id, item_code=item, points=Decimal(items[item]))
        for i, (s, item) in enumerate(picks)
    ]
    scores = draw(st.lists(st.decimals(min_value=0, max_value=100, places=1), min_size=8))
    evaluated = [
        EvaluationResult(subject_id=s.id, kind=ComponentKind.FINAL, score=score)
        for s, score in zip(subjects, scores, strict=False)
    ]
    return subjects, entries, evaluated


@fast
@given(university_periods(), st.sampled_from(["exam_cheating", "disciplinary_sanction"]))
def test_a_veto_always_yields_the_lowest_tier_and_touches_no_one_else(
    period: UniversityPeriod, veto_item: str
) -> None:
    subjects, entries, evaluated = period
    vetoed = subjects[0].id
    veto = Entry(id="veto", subject_id=vetoed, item_code=veto_item, points=Decimal(0))
    without = run(UNIVERSITY, "2024", subjects, entries, evaluated)
    results = run(UNIVERSITY, "2024", subjects, [*entries, veto], evaluated)
    assert results[vetoed].tier == "warned"
    assert results[vetoed].total == without[vetoed].total
    assert all(results[key] == without[key] for key in results if key != vetoed)


@fast
@given(rosters(), st.lists(st.decimals(min_value=-50, max_value=200, places=2), min_size=8))
def test_a_reset_scheme_starts_each_period_from_the_base(
    subjects: list[Subject], carried: list[Decimal]
) -> None:
    history = [
        PriorResult(subject_id=s.id, period_key="2024-05", total=value, cumulative=value)
        for s, value in zip(subjects, carried, strict=False)
    ]
    results = run(LUTOU, "2024-06", subjects, [], [], history)
    assert {result.total for result in results.values()} == {LUTOU.scoring.base}


@fast
@given(
    rosters(),
    st.lists(st.sampled_from(["meeting_absent", "meeting_leave", "volunteer_service"])),
    st.integers(min_value=0, max_value=12),
)
def test_demerits_stay_between_zero_and_twelve_and_carry_over(
    subjects: list[Subject], items: list[str], carried: int
) -> None:
    points = {"meeting_absent": 6, "meeting_leave": 2, "volunteer_service": 2}
    member_id = subjects[0].id
    entries = [
        Entry(id=f"e{i}", subject_id=member_id, item_code=item, points=Decimal(points[item]))
        for i, item in enumerate(items)
    ]
    prior = PriorResult(subject_id=member_id, period_key="2024-05", cumulative=Decimal(carried))
    result = run(HEYANG, "2024-06", subjects, entries, [], [prior])[member_id]
    assert result.total is not None and 0 <= result.total <= 12
    assert result.derivation[0].value == carried
