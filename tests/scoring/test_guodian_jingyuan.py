"""国电靖远: weighted yearly score; the top 20% of each branch are flagged."""

from api.scoring import Entry, EvaluationResult, Subject
from api.scoring.presets import PRESETS
from api.scoring.scheme import RankScope
from tests.scoring.factories import D, Ledger, evaluations, member, run

SCHEME = PRESETS["guodian_jingyuan"]


def _branch_of_ten(
    branch: str, ledger: Ledger
) -> tuple[list[Subject], list[Entry], list[EvaluationResult]]:
    """Ten members ``<branch>-01`` … ``-10`` with daily points 60, 62, 63 … 70, equally rated."""
    subjects = [member(f"{branch}-{i:02d}", branch=branch) for i in range(1, 11)]
    entries = [ledger.add(f"{branch}-{i:02d}", "pioneer_post", i) for i in range(2, 11)]
    evaluated = [
        evaluation
        for subject in subjects
        for evaluation in evaluations(subject.id, mutual=80, committee=80, self=80)
    ]
    return subjects, entries, evaluated


def test_the_weighted_total_is_exact() -> None:
    ledger = Ledger()
    entries = [ledger.add("m1", "pioneer_post", "7.5")]
    evaluated = evaluations("m1", mutual=90, committee=85, self=100)
    result = run(SCHEME, "2024", [member("m1")], entries, evaluated)["m1"]
    assert result.total == D("0.4") * D("67.5") + D(27) + D(17) + D(10)


def test_the_top_20_percent_of_a_branch_are_flagged() -> None:
    subjects, entries, evaluated = _branch_of_ten("b1", Ledger())
    results = run(SCHEME, "2024", subjects, entries, evaluated)
    flagged = sorted(key for key, r in results.items() if "top_percent" in r.flags)
    assert flagged == ["b1-09", "b1-10"]


def test_the_top_20_percent_are_counted_per_branch() -> None:
    ledger = Ledger()
    subjects, entries, evaluated = _branch_of_ten("b1", ledger)
    more_subjects, more_entries, more_evaluated = _branch_of_ten("b2", ledger)
    results = run(
        SCHEME,
        "2024",
        subjects + more_subjects,
        entries + more_entries,
        evaluated + more_evaluated,
    )
    flagged = sorted(key for key, r in results.items() if "top_percent" in r.flags)
    assert flagged == ["b1-09", "b1-10", "b2-09", "b2-10"]


def test_a_tie_at_the_boundary_includes_everyone_tied() -> None:
    ledger = Ledger()
    subjects = [member(f"m{i}") for i in range(1, 6)]
    entries = [ledger.add("m1", "pioneer_post", 10), ledger.add("m2", "pioneer_post", 10)]
    results = run(SCHEME, "2024", subjects, entries)
    flagged = sorted(key for key, r in results.items() if "top_percent" in r.flags)
    assert flagged == ["m1", "m2"]
    assert [results[key].ranks[RankScope.BRANCH] for key in ("m1", "m2", "m3")] == [1, 1, 3]
