"""宣化 341: stars per half year (≥90 三星, 70–89 两星, 60–69 一星, ≤59 无), 2 stars = 1 flag."""

import pytest

from api.scoring import Entry, EvaluationResult
from api.scoring.presets import PRESETS
from api.scoring.scheme import ComponentKind
from tests.scoring.factories import D, Ledger, Timeline, evaluations, member, run

SCHEME = PRESETS["xuanhua"]

# Entries taking the base of 60 to the target; with every evaluation equal to the target too,
# the weighted total is exactly the target.
_POINTS_TO = {
    "90": [("commitment_kept", "20"), ("good_deed", "10")],
    "89": [("commitment_kept", "19"), ("good_deed", "10")],
    "70": [("commitment_kept", "10")],
    "69": [("commitment_kept", "9")],
    "60": [],
    "59": [("org_life_absent", "5"), ("commitment_kept", "4")],
}


def _half_year(ledger: Ledger, target: str) -> tuple[list[Entry], list[EvaluationResult]]:
    entries = ledger.many("m1", _POINTS_TO[target])
    return entries, evaluations("m1", self=target, mutual=target, committee=target)


@pytest.mark.parametrize(
    ("target", "stars"), [("90", 3), ("89", 2), ("70", 2), ("69", 1), ("60", 1), ("59", 0)]
)
def test_stars_follow_the_half_year_score(target: str, stars: int) -> None:
    entries, evaluated = _half_year(Ledger(), target)
    result = run(SCHEME, "2024-H1", [member("m1")], entries, evaluated)["m1"]
    assert result.total == D(target)
    assert result.stars == stars


def test_the_score_weights_points_self_mutual_and_committee_evaluations() -> None:
    evaluated = evaluations("m1", self=100, mutual=80, committee=90)
    result = run(SCHEME, "2024-H1", [member("m1")], [], evaluated)["m1"]
    assert result.components == {
        ComponentKind.DAILY: D(60),
        ComponentKind.SELF: D(100),
        ComponentKind.MUTUAL: D(80),
        ComponentKind.COMMITTEE: D(90),
    }
    assert result.total == D("79.0")


def test_two_red_stars_make_one_red_flag() -> None:
    entries, evaluated = _half_year(Ledger(), "70")
    result = run(SCHEME, "2024-H1", [member("m1")], entries, evaluated)["m1"]
    assert (result.stars, result.cycle_stars, result.cycle_flags) == (2, 2, 1)


def test_stars_add_up_over_the_year_and_restart_in_the_next() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [member("m1")])
    first = timeline.run("2024-H1", *_half_year(ledger, "90"))["m1"]
    second = timeline.run("2024-H2", *_half_year(ledger, "70"))["m1"]
    next_year = timeline.run("2025-H1", *_half_year(ledger, "60"))["m1"]
    assert (first.cycle_stars, first.cycle_flags) == (3, 1)
    assert (second.cycle_stars, second.cycle_flags) == (5, 2)
    assert (next_year.cycle_stars, next_year.cycle_flags) == (1, 0)
