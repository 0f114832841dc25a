"""评议 arithmetic: aggregating ratings and flagging suspicious rating patterns. Pure functions.

Means are rounded half-up to two decimals (0.01), the precision scores are stored with, so the
same ratings always give the same number.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CENT = Decimal("0.01")
# A rater is an outlier when their ratings sit on average this far from the others' (points).
OUTLIER_GAP = Decimal(15)
# A reciprocal top score counts only if the pair rate everyone else at least this much lower.
FAVOUR_GAP = Decimal(10)


def mean(scores: Sequence[Decimal]) -> Decimal:
    return (sum(scores, Decimal(0)) / len(scores)).quantize(CENT, rounding=ROUND_HALF_UP)


def aggregate(
    scores: Sequence[Decimal], method: Literal["trimmed_mean", "mean"], trim_from: int
) -> Decimal:
    """Plain mean, or with at least `trim_from` ratings the mean without one highest and one
    lowest rating (去掉一个最高分和一个最低分)."""
    if not scores:
        raise ValueError("no ratings to aggregate")
    ordered = sorted(scores)
    if method == "trimmed_mean" and len(ordered) >= trim_from:
        ordered = ordered[1:-1]
    return mean(ordered)


@dataclass(frozen=True)
class Rating:
    rater: int
    subject: int
    score: Decimal


FlagKind = Literal["reciprocal_top", "outlier_rater"]


@dataclass(frozen=True)
class Flag:
    """Evidence for the committee; scores are never changed because of a flag."""

    kind: FlagKind
    members: tuple[int, ...]
    detail: str
    ratings: tuple[Rating, ...]


def suspicious(ratings: Sequence[Rating], scale_max: Decimal) -> list[Flag]:
    return _reciprocal_cliques(ratings, scale_max) + _outlier_raters(ratings)


def _reciprocal_cliques(ratings: Sequence[Rating], scale_max: Decimal) -> list[Flag]:
    """Groups whose members give each other the top score while rating the others lower."""
    given = {(r.rater, r.subject): r for r in ratings}
    favoured: defaultdict[int, set[int]] = defaultdict(set)
    for (rater, subject), rating in given.items():
        back = given.get((subject, rater))
        if rating.score == scale_max and back is not None and back.score == scale_max:
            favoured[rater].add(subject)
    partial = {m: p for m, p in favoured.items() if _selective(m, p, ratings)}
    flags = []
    for group in _components(partial):
        inside = tuple(
            r for r in ratings if r.rater in group and r.subject in group and r.rater != r.subject
        )
        flags.append(
            Flag(
                "reciprocal_top",
                tuple(sorted(group)),
                f"{len(group)} 人互相给满分，而给其他人的分数明显更低",
                tuple(sorted(inside, key=lambda r: (r.rater, r.subject))),
            )
        )
    return flags


def _selective(member: int, partners: set[int], ratings: Sequence[Rating]) -> bool:
    others = [r.score for r in ratings if r.rater == member and r.subject not in partners]
    if not others:
        return True
    return max(r.score for r in ratings if r.rater == member) - mean(others) >= FAVOUR_GAP


def _components(links: dict[int, set[int]]) -> list[set[int]]:
    seen: set[int] = set()
    groups = []
    for start in sorted(links):
        if start in seen:
            continue
        group, stack = set(), [start]
        while stack:
            member = stack.pop()
            if member in group:
                continue
            group.add(member)
            stack.extend(p for p in links.get(member, ()) if p in links)
        seen |= group
        if len(group) >= 2:
            groups.append(group)
    return groups


def _outlier_raters(ratings: Sequence[Rating]) -> list[Flag]:
    """Raters whose scores sit far from what everyone else gave the same people."""
    by_subject: defaultdict[int, list[Rating]] = defaultdict(list)
    for rating in ratings:
        by_subject[rating.subject].append(rating)
    gaps: defaultdict[int, list[Decimal]] = defaultdict(list)
    for subject_ratings in by_subject.values():
        for rating in subject_ratings:
            others = [r.score for r in subject_ratings if r.rater != rating.rater]
            if len(others) >= 2:
                gaps[rating.rater].append(abs(rating.score - mean(others)))
    flags = []
    for rater in sorted(gaps):
        gap = mean(gaps[rater])
        if gap >= OUTLIER_GAP:
            mine = tuple(r for r in ratings if r.rater == rater)
            flags.append(Flag("outlier_rater", (rater,), f"评分平均偏离他人 {gap} 分", mine))
    return flags
