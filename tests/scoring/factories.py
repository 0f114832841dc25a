"""Small builders for scoring tests: subjects, entries, evaluations and period runs."""

from collections.abc import Iterable, Sequence
from decimal import Decimal

from api.scoring import (
    Entry,
    EvaluationResult,
    PriorResult,
    Scheme,
    Subject,
    SubjectResult,
    compute_period,
    period_from_key,
)
from api.scoring.scheme import ComponentKind, PoliticalStatus

D = Decimal


def member(
    subject_id: str,
    *,
    category: str | None = None,
    status: PoliticalStatus = PoliticalStatus.FULL,
    group: str | None = "g1",
    branch: str | None = "b1",
    exempt: bool = False,
) -> Subject:
    return Subject(
        id=subject_id,
        name=f"党员{subject_id}",
        category=category,
        political_status=status,
        group_id=group,
        branch_id=branch,
        exempt=exempt,
    )


def branch(subject_id: str, *, category: str | None = None) -> Subject:
    return Subject(id=subject_id, name=f"支部{subject_id}", category=category)


class Ledger:
    """Hands out entries with unique ids."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, subject_id: str, item: str, points: Decimal | str | int = 0) -> Entry:
        self.count += 1
        return Entry(
            id=f"e{self.count:04d}", subject_id=subject_id, item_code=item, points=D(points)
        )

    def many(
        self, subject_id: str, items: Iterable[tuple[str, Decimal | str | int]]
    ) -> list[Entry]:
        return [self.add(subject_id, item, points) for item, points in items]

    def reverse(self, original: Entry) -> Entry:
        self.count += 1
        return Entry(
            id=f"e{self.count:04d}",
            subject_id=original.subject_id,
            item_code=original.item_code,
            points=-original.points,
            reverses=original.id,
        )


def evaluations(subject_id: str, **scores: str | int) -> list[EvaluationResult]:
    return [
        EvaluationResult(subject_id=subject_id, kind=ComponentKind(kind), score=D(score))
        for kind, score in scores.items()
    ]


def run(
    scheme: Scheme,
    period_key: str,
    subjects: Sequence[Subject],
    entries: Iterable[Entry] = (),
    evaluated: Iterable[EvaluationResult] = (),
    history: Iterable[PriorResult] = (),
) -> dict[str, SubjectResult]:
    period = period_from_key(scheme.period, period_key)
    results = compute_period(scheme, period, subjects, entries, evaluated, history)
    return {result.subject_id: result for result in results}


class Timeline:
    """Runs consecutive periods, feeding each period's results into the next one's history."""

    def __init__(self, scheme: Scheme, subjects: Sequence[Subject]) -> None:
        self.scheme = scheme
        self.subjects = subjects
        self.history: list[PriorResult] = []

    def run(
        self,
        period_key: str,
        entries: Iterable[Entry] = (),
        evaluated: Iterable[EvaluationResult] = (),
    ) -> dict[str, SubjectResult]:
        results = run(self.scheme, period_key, self.subjects, entries, evaluated, self.history)
        self.history.extend(result.to_prior() for result in results.values())
        return results


def action_codes(result: SubjectResult) -> list[str]:
    return [action.code for action in result.actions]
