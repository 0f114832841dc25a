"""计算一期积分: ``compute_period`` turns a period's inputs into one result per subject.

Pure and deterministic: no I/O, results sorted by subject id, independent of input order.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal

from api.scoring.evaluation import CENT
from api.scoring.inputs import Entry, EvaluationResult, PriorResult, ScoringInputError, Subject
from api.scoring.outcomes import (
    assign_tier,
    award_stars,
    judge_award,
    trigger_item_actions,
    trigger_streaks,
    trigger_thresholds,
)
from api.scoring.periods import Period, period_of_key
from api.scoring.points import tally
from api.scoring.ranking import rank_all
from api.scoring.results import DerivationStep, Placement, StepKind, SubjectResult
from api.scoring.scheme import Accumulation, ComponentKind, Scheme, ScoringMode, UnratedPolicy
from api.scoring.work import Work, fmt

COMPONENT_NAMES = {
    ComponentKind.DAILY: "日常积分",
    ComponentKind.SELF: "自评",
    ComponentKind.MUTUAL: "互评",
    ComponentKind.COMMITTEE: "组织评定",
    ComponentKind.FINAL: "总评",
}

History = dict[Period, PriorResult]


def compute_period(
    scheme: Scheme,
    period: Period,
    subjects: Iterable[Subject],
    entries: Iterable[Entry] = (),
    evaluations: Iterable[EvaluationResult] = (),
    history: Iterable[PriorResult] = (),
    *,
    explain: bool = True,
) -> list[SubjectResult]:
    """Score every subject for ``period``.

    ``entries`` are the ledger entries attributed to the period; ``evaluations`` one aggregated
    score per subject and evaluation kind (kinds the scheme does not weight are not used);
    ``history`` the stored results of earlier periods (for carry-over, stars, thresholds and
    streaks). Raises ``ScoringInputError`` for inconsistent inputs; entries the scheme cannot
    score (unknown or inapplicable item, points out of range) are reported as ignored.

    With ``explain=False`` the numbers are the same, but the derivation holds only the steps
    that need the whole population (ranks, flags, prizes): a period close of 100 000 members
    stores that, and `explain_subject` rebuilds one subject's full derivation when it is read.
    """
    return list(
        rank_period(scheme, period, subjects, entries, evaluations, history, explain=explain)
    )


def rank_period(
    scheme: Scheme,
    period: Period,
    subjects: Iterable[Subject],
    entries: Iterable[Entry] = (),
    evaluations: Iterable[EvaluationResult] = (),
    history: Iterable[PriorResult] = (),
    *,
    explain: bool = True,
) -> "RankedPeriod":
    """`compute_period` up to the ranks: what needs the whole population is done here; each
    subject's result is finished (actions) as the returned `RankedPeriod` is iterated.

    A close iterates it while the database stores the results already finished.
    """
    if period.length is not scheme.period:
        raise ScoringInputError(f"the scheme is scored per {scheme.period}, not {period.length}")
    roster = _index_subjects(subjects)
    ledger = _index_entries(roster, entries)
    scores = _index_evaluations(roster, evaluations)
    histories = _index_history(scheme, period, history)
    ordered: list[Subject | Work] = []
    works: list[Work] = []
    for subject in sorted(roster.values(), key=lambda subject: subject.id):
        if subject.exempt:
            ordered.append(subject)
            continue
        earlier = histories.get(subject.id, {})
        work = _score(
            scheme, period, subject, ledger[subject.id], scores[subject.id], earlier, explain
        )
        ordered.append(work)
        works.append(work)
    rank_all(scheme, works)
    return RankedPeriod(scheme, period, ordered, histories)


class RankedPeriod:
    """The subjects of a period, scored and ranked; iterating gives their results once, in
    subject order."""

    def __init__(
        self,
        scheme: Scheme,
        period: Period,
        ordered: list[Subject | Work],
        histories: dict[str, History],
    ) -> None:
        self._scheme, self._period = scheme, period
        self._ordered: list[Subject | Work] | None = ordered
        self._histories = histories
        self.size = len(ordered)

    def __iter__(self) -> Iterator[SubjectResult]:
        ordered, self._ordered = self._ordered, None
        if ordered is None:
            raise RuntimeError("a ranked period gives its results once")
        for subject_or_work in ordered:
            if isinstance(subject_or_work, Subject):
                yield _exempt(subject_or_work, self._period)
                continue
            earlier = self._histories.get(subject_or_work.subject.id, {})
            _conclude(self._scheme, self._period, subject_or_work, earlier)
            yield subject_or_work.freeze()


def _score(
    scheme: Scheme,
    period: Period,
    subject: Subject,
    entries: Sequence[Entry],
    evaluations: dict[ComponentKind, Decimal],
    earlier: History,
    explain: bool,
) -> Work:
    work = Work(subject=subject, period_key=period.key, explain=explain)
    tally(scheme, work, entries, _start(scheme, period, work, earlier))
    _combine(scheme, work, evaluations)
    assign_tier(scheme, work)
    award_stars(scheme, work, _same_year(period, earlier).values())
    return work


def explain_subject(
    scheme: Scheme,
    period: Period,
    subject: Subject,
    placement: Placement,
    entries: Iterable[Entry] = (),
    evaluations: Iterable[EvaluationResult] = (),
    history: Iterable[PriorResult] = (),
) -> SubjectResult:
    """One subject's result with its full derivation, as ``compute_period`` gives it.

    The inputs are the subject's own; what the rest of the population decided (ranks, flags,
    prize, and their steps) comes from ``placement``, taken from a result computed with
    ``explain=False``.
    """
    roster = _index_subjects([subject])
    ledger = _index_entries(roster, entries)
    scores = _index_evaluations(roster, evaluations)
    earlier = _index_history(scheme, period, history).get(subject.id, {})
    if subject.exempt:
        return _exempt(subject, period)
    work = _score(scheme, period, subject, ledger[subject.id], scores[subject.id], earlier, True)
    if work.total is not None:
        work.ranks = dict(placement.ranks)
        work.flags = placement.flags
        work.prize = placement.prize
        work.steps.extend(placement.steps)
    _conclude(scheme, period, work, earlier)
    return work.freeze()


def _conclude(scheme: Scheme, period: Period, work: Work, earlier: History) -> None:
    judge_award(scheme, work)
    trigger_thresholds(scheme, work, _same_year(period, earlier).values())
    trigger_item_actions(scheme, work)
    trigger_streaks(scheme, period, work, earlier)


def _start(scheme: Scheme, period: Period, work: Work, earlier: History) -> Decimal:
    """The base, or in a carry-over scheme the latest earlier cumulative value of the year."""
    base = scheme.scoring.base
    if scheme.accumulation is Accumulation.RESET:
        if work.explain:
            work.step(StepKind.START, f"基础分 {fmt(base)}(每期清零重计)", base)
        return base
    carried = [
        (key, prior.cumulative)
        for key, prior in _same_year(period, earlier).items()
        if prior.cumulative is not None
    ]
    if not carried:
        if work.explain:
            work.step(StepKind.START, f"本年首次计分,从 {fmt(base)} 起", base)
        return base
    key, value = max(carried)
    if work.explain:
        noun = "累计记分" if scheme.scoring.mode is ScoringMode.DEMERIT else "累计积分"
        work.step(StepKind.START, f"承接 {key.key} 的{noun} {fmt(value)}", value)
    return value


def _combine(scheme: Scheme, work: Work, evaluations: dict[ComponentKind, Decimal]) -> None:
    """总分: the points alone, or the weighted sum of the components.

    An evaluation the subject was not given is missing: counted 0 where the scheme requires it
    (the derivation says so), or left out where the scheme excludes it, the weights of the
    components given then scaled up to sum to 1.
    """
    if not scheme.components:
        work.total = work.points
        if work.explain:
            work.step(StepKind.TOTAL, f"总分 {fmt(work.total)}", work.total)
        return
    total, counted = Decimal(0), Decimal(0)
    for component in scheme.components:
        name = COMPONENT_NAMES[component.kind]
        if component.kind is ComponentKind.DAILY:
            value = work.points
        elif component.kind in evaluations:
            value = evaluations[component.kind]
        elif component.when_unrated is UnratedPolicy.EXCLUDE:
            work.missing_evaluations.append(component.kind)
            if work.explain:
                detail = f"{name}(未评,按方案不计入,其余权重按比例折算)"
                work.step(StepKind.COMPONENT, detail, rule=component.kind)
            continue
        else:
            value = Decimal(0)
            work.missing_evaluations.append(component.kind)
            name = f"{name}(未评,方案规定必评,按 0 计)"
        part = value * component.weight
        work.components[component.kind] = value
        counted += component.weight
        if work.explain:
            work.step(
                StepKind.COMPONENT,
                f"{name} {fmt(value)} × {fmt(component.weight)} = {fmt(part)}",
                part,
                rule=component.kind,
            )
        total += part
    if counted == 1:
        work.total = total
        if work.explain:
            work.step(StepKind.TOTAL, f"加权总分 {fmt(total)}", total)
        return
    work.total = (total / counted).quantize(CENT, rounding=ROUND_HALF_UP)
    if work.explain:
        detail = f"加权总分 {fmt(total)} ÷ 计入的权重 {fmt(counted)} = {fmt(work.total)}"
        work.step(StepKind.TOTAL, detail, work.total)


def _exempt(subject: Subject, period: Period) -> SubjectResult:
    step = DerivationStep(kind=StepKind.EXEMPT, detail="不纳入本期积分(免于考核),不排名、不定档")
    return SubjectResult(
        subject_id=subject.id, period_key=period.key, exempt=True, derivation=(step,)
    )


def _same_year(period: Period, earlier: History) -> History:
    if not earlier:
        return earlier
    return {key: prior for key, prior in earlier.items() if key.year == period.year}


def _index_subjects(subjects: Iterable[Subject]) -> dict[str, Subject]:
    roster: dict[str, Subject] = {}
    for subject in subjects:
        if subject.id in roster:
            raise ScoringInputError(f"subject {subject.id!r} is given twice")
        roster[subject.id] = subject
    return roster


def _index_entries(
    roster: dict[str, Subject], entries: Iterable[Entry]
) -> defaultdict[str, list[Entry]]:
    """Entries by subject, checked: known subjects, distinct ids, consistent reversals.

    Written as whole-collection steps rather than checks per entry: a close has 700 000.
    """
    given = list(entries)
    ledger: defaultdict[str, list[Entry]] = defaultdict(list)
    for entry in given:
        ledger[entry.subject_id].append(entry)
    if not ledger.keys() <= roster.keys():
        entry = next(entry for entry in given if entry.subject_id not in roster)
        raise ScoringInputError(f"entry {entry.id!r} is for unknown subject {entry.subject_id!r}")
    by_id = {entry.id: entry for entry in given}
    if len(by_id) < len(given):
        seen: set[str] = set()
        for entry in given:
            if entry.id in seen:
                raise ScoringInputError(f"entry {entry.id!r} is given twice")
            seen.add(entry.id)
    if any(entry.reverses is not None for entry in given):
        _check_reversals(by_id)
    return ledger


def _check_reversals(by_id: dict[str, Entry]) -> None:
    """A reversal negates exactly one entry of the same subject and item, once."""
    reversed_ids: set[str] = set()
    for entry in by_id.values():
        if entry.reverses is None:
            continue
        if entry.reverses in reversed_ids:
            raise ScoringInputError(f"entry {entry.reverses!r} is reversed twice")
        reversed_ids.add(entry.reverses)
        original = by_id.get(entry.reverses)
        if original is None:
            continue
        if original.is_reversal:
            raise ScoringInputError(f"reversal {entry.id!r} reverses another reversal")
        same = (original.subject_id, original.item_code, -original.points)
        if (entry.subject_id, entry.item_code, entry.points) != same:
            raise ScoringInputError(
                f"reversal {entry.id!r} must have the subject, item and negated points of "
                f"{original.id!r}"
            )


def _index_evaluations(
    roster: dict[str, Subject], evaluations: Iterable[EvaluationResult]
) -> defaultdict[str, dict[ComponentKind, Decimal]]:
    scores: defaultdict[str, dict[ComponentKind, Decimal]] = defaultdict(dict)
    for evaluation in evaluations:
        if evaluation.subject_id not in roster:
            raise ScoringInputError(f"evaluation for unknown subject {evaluation.subject_id!r}")
        if evaluation.kind in scores[evaluation.subject_id]:
            raise ScoringInputError(
                f"two {evaluation.kind} evaluations for subject {evaluation.subject_id!r}"
            )
        scores[evaluation.subject_id][evaluation.kind] = evaluation.score
    return scores


def _index_history(
    scheme: Scheme, period: Period, history: Iterable[PriorResult]
) -> dict[str, History]:
    """Earlier results per subject, keyed by their period."""
    indexed: defaultdict[str, History] = defaultdict(dict)
    for prior in history:
        try:
            key = period_of_key(prior.period_key)
        except ValueError as error:
            raise ScoringInputError(f"history: {error}") from error
        if key.length is not scheme.period:
            # Closed while the scheme had another length (it may change while no period is
            # open): no streak, carry-over or star counts across lengths.
            continue
        if key >= period:
            raise ScoringInputError(f"history: {prior.period_key} is not before {period.key}")
        if key in indexed[prior.subject_id]:
            raise ScoringInputError(
                f"history: two results of {prior.subject_id!r} for {prior.period_key}"
            )
        indexed[prior.subject_id][key] = prior
    return indexed
