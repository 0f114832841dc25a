"""评议 arithmetic, checked against hand-computed numbers."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.scoring.evaluation import Rating, aggregate, mean, suspicious

D = Decimal
MAX = D(100)


def test_trimmed_mean_drops_one_highest_and_one_lowest_from_five() -> None:
    # 60, 80, 85, 90, 100 → (80 + 85 + 90) / 3 = 85
    assert aggregate([D(100), D(60), D(85), D(90), D(80)], "trimmed_mean", 5) == D("85.00")


def test_below_five_ratings_the_plain_mean_is_used() -> None:
    # (70 + 80 + 95 + 90) / 4 = 83.75
    assert aggregate([D(70), D(80), D(95), D(90)], "trimmed_mean", 5) == D("83.75")


def test_means_round_half_up_to_cents() -> None:
    # (80 + 80 + 81) / 3 = 80.333… → 80.33; a half cent rounds up
    assert mean([D(80), D(80), D(81)]) == D("80.33")
    assert mean([D("0.005")]) == D("0.01")


def test_the_plain_mean_method_never_trims() -> None:
    assert aggregate([D(100), D(60), D(85), D(90), D(80)], "mean", 5) == D("83.00")


def _honest_branch() -> list[Rating]:
    base = {1: 88, 2: 82, 3: 90, 4: 76, 5: 85, 6: 80, 7: 92, 8: 78}
    return [
        Rating(rater, subject, D(base[subject] + (rater * subject) % 5 - 2))
        for rater in base
        for subject in base
        if rater != subject
    ]


def test_an_honest_branch_is_not_flagged() -> None:
    assert suspicious(_honest_branch(), MAX) == []


def test_a_clique_of_three_giving_each_other_full_marks_is_flagged() -> None:
    clique = {2, 5, 7}
    ratings = [
        Rating(r.rater, r.subject, MAX if {r.rater, r.subject} <= clique else r.score - 5)
        if r.rater in clique
        else r
        for r in _honest_branch()
    ]
    flags = suspicious(ratings, MAX)
    assert [(f.kind, f.members) for f in flags] == [("reciprocal_top", (2, 5, 7))]
    assert len(flags[0].ratings) == 6


def test_a_rater_far_from_everyone_else_is_flagged_with_their_ratings() -> None:
    ratings = [Rating(r.rater, r.subject, D(40)) if r.rater == 4 else r for r in _honest_branch()]
    flags = suspicious(ratings, MAX)
    assert [(f.kind, f.members) for f in flags] == [("outlier_rater", (4,))]
    assert {r.rater for r in flags[0].ratings} == {4}


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=30))
def test_an_aggregate_lies_between_the_lowest_and_highest_rating(values: list[int]) -> None:
    scores = [D(v) for v in values]
    result = aggregate(scores, "trimmed_mean", 5)
    assert min(scores) <= result <= max(scores)
