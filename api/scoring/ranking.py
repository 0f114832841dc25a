"""排名: ranks per scope, and the flags and prizes decided in the primary scope."""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from api.scoring.results import StepKind
from api.scoring.scheme import (
    BELOW_AVERAGE_FLAG,
    BOTTOM_FLAG,
    TOP_N_FLAG,
    TOP_PERCENT_FLAG,
    Ranking,
    RankScope,
    Scheme,
    TiePolicy,
)
from api.scoring.work import Work, fmt

_SCOPE_NAMES = {RankScope.GROUP: "党小组", RankScope.BRANCH: "支部", RankScope.TOWN: "全体"}


def rank_all(scheme: Scheme, works: Sequence[Work]) -> None:
    """Rank every scored subject in each scope of the scheme's ranking."""
    if scheme.ranking is None:
        return
    scored = [work for work in works if work.total is not None]
    for scope in scheme.ranking.scopes:
        for members in _partition(scope, scored):
            _rank_scope(scheme, scheme.ranking, scope, members)


def _partition(scope: RankScope, works: list[Work]) -> list[list[Work]]:
    parts: dict[str, list[Work]] = defaultdict(list)
    for work in works:
        key = _scope_key(scope, work)
        if key is not None:
            parts[key].append(work)
    return [parts[key] for key in sorted(parts)]


def _scope_key(scope: RankScope, work: Work) -> str | None:
    match scope:
        case RankScope.GROUP:
            return work.subject.group_id
        case RankScope.BRANCH:
            return work.subject.branch_id
        case RankScope.TOWN:
            return ""


def _standing(descending: bool, work: Work) -> Decimal:
    """Lower is better: the negated total, or the demerits themselves."""
    assert work.total is not None
    return -work.total if descending else work.total


def _rank_scope(scheme: Scheme, ranking: Ranking, scope: RankScope, members: list[Work]) -> None:
    descending = scheme.ranks_descending
    # Each member's standing once (lower is better: the negated total, or the demerits).
    standing_of = [_standing(descending, work) for work in members]
    standings = sorted(standing_of)
    competition = ranking.ties is TiePolicy.COMPETITION
    dense = {value: place for place, value in enumerate(sorted(set(standings)), start=1)}
    primary = scope is ranking.primary
    suffix = f" 名(共 {len(members)} 名)"
    prefix = f"{_SCOPE_NAMES[scope]}排名第 "
    for work, standing in zip(members, standing_of, strict=True):
        place = bisect_left(standings, standing) + 1
        rank = place if competition else dense[standing]
        work.ranks[scope] = rank
        work.step(StepKind.RANK, f"{prefix}{rank}{suffix}", Decimal(rank), rule=scope)
        if primary:
            _flag_place(ranking, work, place, len(members))
            _award_prize(ranking, work, place)
    if primary:
        _flag_bottom(ranking, members, standing_of, standings)
        _flag_below_average(ranking, members, standing_of)


def _flag_place(ranking: Ranking, work: Work, place: int, size: int) -> None:
    """Flags by competition place, so a tie at a boundary includes everyone tied."""
    if ranking.top_n is not None and place <= ranking.top_n:
        _flag(work, TOP_N_FLAG, f"位列前 {ranking.top_n} 名")
    if ranking.top_percent is not None and place <= ranking.top_percent * size:
        _flag(work, TOP_PERCENT_FLAG, f"位列前 {fmt(ranking.top_percent * 100)}%")
    if ranking.first_place_flag is not None and place == 1:
        _flag(work, ranking.first_place_flag, "第一名")


def _flag_bottom(
    ranking: Ranking, members: list[Work], standing_of: list[Decimal], standings: list[Decimal]
) -> None:
    """末位: the worst standing, when the scope has at least two different standings."""
    if not ranking.flag_bottom or standings[0] == standings[-1]:
        return
    for work, standing in zip(members, standing_of, strict=True):
        if standing == standings[-1]:
            _flag(work, BOTTOM_FLAG, "排名末位")


def _flag_below_average(ranking: Ranking, members: list[Work], standing_of: list[Decimal]) -> None:
    """低于平均分: worse than the scope's mean (in a demerit scheme: more demerits than it)."""
    if not ranking.flag_below_average:
        return
    mean = sum(standing_of, Decimal(0)) / len(members)
    shown = abs(mean).quantize(Decimal("0.01"))
    for work, standing in zip(members, standing_of, strict=True):
        if standing > mean:
            _flag(work, BELOW_AVERAGE_FLAG, f"低于平均水平(平均 {fmt(shown)})")


def _award_prize(ranking: Ranking, work: Work, place: int) -> None:
    """Prize by place, the amount set by the band the subject's own total falls in."""
    assert work.total is not None
    total = work.total
    band = next((band for band in ranking.prizes if total >= band.min), None)
    if band is None or place > len(band.amounts):
        return
    work.prize = band.amounts[place - 1]
    work.step(
        StepKind.PRIZE,
        f"第 {place} 名且得分 ≥ {fmt(band.min)},奖励 {fmt(work.prize)} 元",
        work.prize,
    )


def _flag(work: Work, flag: str, detail: str) -> None:
    work.add_flag(flag)
    work.step(StepKind.FLAG, detail, rule=flag)
