"""A result computed without explanations explains later, for its subject alone, to exactly the
result (numbers and derivation) that the full computation gives."""

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from api.scoring import (
    Entry,
    EvaluationResult,
    Placement,
    PriorResult,
    Scheme,
    Subject,
    SubjectResult,
    compute_period,
    explain_subject,
    period_from_key,
)
from api.scoring.presets import PRESETS
from api.scoring.scheme import PeriodLength
from tests.scoring.factories import Ledger, branch, evaluations, member
from tests.scoring.test_properties import fast, lutou_periods, university_periods


def assert_explains_alike(
    scheme: Scheme,
    key: str,
    subjects: list[Subject],
    entries: list[Entry],
    scores: list[EvaluationResult] | None = None,
    history: list[PriorResult] | None = None,
) -> None:
    period = period_from_key(PeriodLength(scheme.period), key)
    args = (scheme, period, subjects, entries, scores or [], history or [])
    full = {r.subject_id: r for r in compute_period(*args)}
    lean = {r.subject_id: r for r in compute_period(*args, explain=False)}
    for subject in subjects:
        stored: SubjectResult = lean[subject.id]
        assert _numbers(stored) == _numbers(full[subject.id])
        placement = Placement.from_json(json.loads(stored.to_json()))
        alone = explain_subject(
            scheme,
            period,
            subject,
            placement,
            [e for e in entries if e.subject_id == subject.id],
            [e for e in scores or [] if e.subject_id == subject.id],
            [p for p in history or [] if p.subject_id == subject.id],
        )
        assert alone == full[subject.id]


def _numbers(result: SubjectResult) -> dict[str, object]:
    data: dict[str, object] = json.loads(result.to_json())
    data.pop("derivation")
    return data


@fast
@given(lutou_periods())
def test_lutou_results_explain_alone_as_computed(period: tuple[list[Subject], list[Entry]]) -> None:
    subjects, entries = period
    assert_explains_alike(PRESETS["lutou"], "2024-06", subjects, entries)


@fast
@given(university_periods(), st.booleans())
def test_university_results_explain_alone_as_computed(
    period: tuple[list[Subject], list[Entry], list[EvaluationResult]], veto: bool
) -> None:
    subjects, entries, scores = period
    if veto:
        entries = [
            *entries,
            Entry(
                id="veto", subject_id=subjects[0].id, item_code="exam_cheating", points=Decimal(0)
            ),
        ]
    assert_explains_alike(PRESETS["university"], "2024", subjects, entries, scores)


def test_branch_prizes_flags_and_streaks_explain_alone() -> None:
    ledger = Ledger()
    subjects = [branch("b1"), branch("b2"), branch("b3")]
    entries = [
        *ledger.many("b1", [("party_building", 20), ("poverty_alleviation", 15)]),
        *ledger.many("b2", [("party_building", 12), ("poverty_alleviation", 15)]),
        *ledger.many("b3", [("party_building", 5)]),
    ]
    history = [
        PriorResult(subject_id="b3", period_key="2024-B1", total=Decimal(40), flags=("bottom",)),
        PriorResult(subject_id="b3", period_key="2024-B2", total=Decimal(50), flags=("bottom",)),
    ]
    assert_explains_alike(PRESETS["yongxi"], "2024-B3", subjects, entries, history=history)


def test_demerits_carried_over_with_thresholds_explain_alone() -> None:
    ledger = Ledger()
    subjects = [member("m1"), member("m2"), member("m3", exempt=True)]
    entries = [
        *ledger.many("m1", [("meeting_absent", 6), ("meeting_leave", 2)]),
        *ledger.many("m2", [("volunteer_service", 2)]),
    ]
    entries.append(ledger.reverse(entries[1]))
    history = [PriorResult(subject_id="m1", period_key="2024-05", cumulative=Decimal(4))]
    assert_explains_alike(PRESETS["heyang"], "2024-06", subjects, entries, history=history)


def test_weighted_components_explain_alone() -> None:
    ledger = Ledger()
    subjects = [member("m1"), member("m2")]
    entries = ledger.many("m1", [("award_won", 10)])
    scores = [*evaluations("m1", final="88.5"), *evaluations("m2", final="91")]
    assert_explains_alike(PRESETS["university"], "2024", subjects, entries, scores)
