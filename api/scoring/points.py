"""From ledger entries to a subject's points for the period (日常积分 / 累计记分)."""

from collections.abc import Sequence
from decimal import Decimal

from msgspec.structs import replace

from api.scoring.inputs import Entry, Subject
from api.scoring.results import IgnoredEntry, StepKind
from api.scoring.scheme import Item, ItemKind, Scheme, ScoringMode
from api.scoring.work import Work, fmt

_ZERO = Decimal(0)
_VERBS = {
    (ScoringMode.ADDITIVE, ItemKind.BONUS): "加分",
    (ScoringMode.ADDITIVE, ItemKind.DEDUCTION): "扣分",
    (ScoringMode.DEMERIT, ItemKind.BONUS): "奖励销分",
    (ScoringMode.DEMERIT, ItemKind.DEDUCTION): "记分",
}


def tally(scheme: Scheme, work: Work, entries: Sequence[Entry], start: Decimal) -> None:
    """Fill ``work`` with item totals, group totals, veto and points from ``start``."""
    accepted = _accept(scheme, work, entries)
    if scheme.has_vetoes and any(item.kind is ItemKind.VETO for _, item in accepted):
        _mark_veto(work, accepted)
        accepted = [(entry, item) for entry, item in accepted if item.kind is not ItemKind.VETO]
    contributions = _contributions(scheme, work, accepted)
    if scheme.scoring.mode is ScoringMode.ADDITIVE:
        _additive(scheme, work, start, contributions)
    else:
        _demerit(scheme, work, start, contributions)


def _accept(scheme: Scheme, work: Work, entries: Sequence[Entry]) -> list[tuple[Entry, Item]]:
    """Entries the scheme can score; the others are reported as ignored with the reason."""
    accepted: list[tuple[Entry, Item]] = []
    ignored_ids: set[str] = set()
    items, subject = scheme.items_by_code, work.subject
    ordered = entries if len(entries) < 2 else sorted(entries, key=_originals_first)
    for entry in ordered:
        item = items.get(entry.item_code)
        reason: str | None
        if item is None:
            reason = f"方案中没有事项 {entry.item_code}"
        else:
            plain = item.open_to_all and entry.reverses is None
            reason = None if plain else _refusal(item, entry, subject, ignored_ids)
            if reason is None:
                accepted.append((_valued(entry, item), item))
                continue
        ignored_ids.add(entry.id)
        _ignore(work, entry, reason)
    return accepted


def _originals_first(entry: Entry) -> tuple[bool, str]:
    return entry.reverses is not None, entry.id


def _refusal(item: Item, entry: Entry, subject: Subject, ignored: set[str]) -> str | None:
    if entry.reverses is not None and entry.reverses in ignored:
        return f"所撤销的记录 {entry.reverses} 未计分"
    if item.categories and subject.category not in item.categories:
        return f"事项「{item.name}」不适用于类别 {subject.category or '未分类'}"
    if item.statuses and subject.political_status not in item.statuses:
        return f"事项「{item.name}」不适用于该政治面貌"
    if item.points is None and not _in_range(item, entry):
        return f"分值 {fmt(entry.points)} 不符合事项「{item.name}」的规定"
    return None


def _in_range(item: Item, entry: Entry) -> bool:
    """Each occurrence within the item's range (for a tally: its sum within count × range)."""
    if item.kind is ItemKind.VETO:
        return entry.points == 0
    assert item.min_points is not None and item.max_points is not None
    count = 1 if entry.is_reversal else entry.count
    return item.min_points * count <= abs(entry.points) <= item.max_points * count


def _valued(entry: Entry, item: Item) -> Entry:
    """An entry of a fixed-points item is one occurrence, worth what the scheme in use says.

    So a new scheme version, or a what-if draft, re-values those entries; entries of items with
    an allowed range keep the points that were recorded.
    """
    if item.points is None or item.kind is ItemKind.VETO:
        return entry
    value = -item.points if entry.is_reversal else item.points * entry.count
    return entry if entry.points == value else replace(entry, points=value)


def _ignore(work: Work, entry: Entry, reason: str) -> None:
    work.ignored.append(IgnoredEntry(entry_id=entry.id, reason=reason))
    if work.explain:
        work.step(
            StepKind.IGNORED, f"未计分:{reason}", entry_ids=(entry.id,), item_code=entry.item_code
        )


def _mark_veto(work: Work, accepted: list[tuple[Entry, Item]]) -> None:
    vetoes = [(entry, item) for entry, item in accepted if item.kind is ItemKind.VETO]
    reversed_ids = {entry.reverses for entry, _ in vetoes if entry.reverses is not None}
    standing = [
        (e, i) for e, i in vetoes if not e.is_reversal and e.id not in reversed_ids and e.count
    ]
    for entry, item in standing:
        work.step(
            StepKind.VETO,
            f"触犯「{item.name}」,一票否决",
            entry_ids=entry.rows,
            item_code=item.code,
        )
    work.veto_entry_ids = tuple(entry.id for entry, _ in standing)
    work.veto_items = frozenset(item.code for _, item in standing)


def _contributions(
    scheme: Scheme, work: Work, scored: list[tuple[Entry, Item]]
) -> dict[ItemKind, Decimal]:
    """Item totals (capped per item, then per group), summed by item kind."""
    by_item: dict[str, tuple[Item, list[Entry]]] = {}
    for entry, item in scored:
        found = by_item.get(item.code)
        if found is None:
            by_item[item.code] = (item, [entry])
        else:
            found[1].append(entry)
    sums = {ItemKind.BONUS: _ZERO, ItemKind.DEDUCTION: _ZERO}
    grouped: dict[str, dict[ItemKind, Decimal]] = {}
    for code in sorted(by_item):
        item, entries = by_item[code]
        total = _item_total(scheme, work, item, entries)
        work.item_totals[code] = total
        if item.group is None:
            sums[item.kind] += total
        else:
            group = grouped.setdefault(
                item.group, {ItemKind.BONUS: _ZERO, ItemKind.DEDUCTION: _ZERO}
            )
            group[item.kind] += total
    for group_code in sorted(grouped):
        for kind, value in _cap_group(scheme, work, group_code, grouped[group_code]).items():
            sums[kind] += value
    return sums


def _item_total(scheme: Scheme, work: Work, item: Item, entries: list[Entry]) -> Decimal:
    total = entries[0].points if len(entries) == 1 else sum((e.points for e in entries), _ZERO)
    capped = item.cap_per_period is not None and total > item.cap_per_period
    if work.explain:
        _explain_item(scheme, work, item, entries, total, capped)
    return item.cap_per_period if capped and item.cap_per_period is not None else total


def _explain_item(
    scheme: Scheme, work: Work, item: Item, entries: list[Entry], total: Decimal, capped: bool
) -> None:
    verb = _VERBS[(scheme.scoring.mode, item.kind)]
    for entry in entries:
        if entry.reverses is not None:
            detail = f"撤销记录 {entry.reverses}:「{item.name}」{verb} {fmt(entry.points)}"
        elif entry.count == 1:
            detail = f"「{item.name}」{verb} {fmt(entry.points)}"
        else:
            detail = f"「{item.name}」{entry.count} 次,{verb} {fmt(entry.points)}"
        work.step(StepKind.ENTRY, detail, entry.points, entry_ids=entry.rows, item_code=item.code)
    ids = tuple(row for entry in entries for row in entry.rows)
    work.step(
        StepKind.ITEM_TOTAL,
        f"「{item.name}」本期合计 {fmt(total)}",
        total,
        entry_ids=ids,
        item_code=item.code,
    )
    if capped and item.cap_per_period is not None:
        cap = item.cap_per_period
        work.step(
            StepKind.ITEM_CAP,
            f"「{item.name}」每期上限 {fmt(cap)},按 {fmt(cap)} 计",
            cap,
            entry_ids=ids,
            item_code=item.code,
        )


def _cap_group(
    scheme: Scheme, work: Work, group_code: str, sums: dict[ItemKind, Decimal]
) -> dict[ItemKind, Decimal]:
    """A group's subtotal (bonuses − deductions, or demerits − offsets) capped at its maximum."""
    group = next(group for group in scheme.groups if group.code == group_code)
    positive, negative = (
        (ItemKind.BONUS, ItemKind.DEDUCTION)
        if scheme.scoring.mode is ScoringMode.ADDITIVE
        else (ItemKind.DEDUCTION, ItemKind.BONUS)
    )
    subtotal = sums[positive] - sums[negative]
    if work.explain:
        detail = f"{group.name}小计 {fmt(subtotal)}"
        work.step(StepKind.GROUP_TOTAL, detail, subtotal, rule=group.code)
    if group.max_points is not None and subtotal > group.max_points:
        if work.explain:
            work.step(
                StepKind.GROUP_CAP,
                f"{group.name}小计 {fmt(subtotal)} 超过满分 {fmt(group.max_points)},按满分计",
                group.max_points,
                rule=group.code,
            )
        subtotal = group.max_points
    work.group_totals[group.code] = subtotal
    return {positive: max(subtotal, _ZERO), negative: max(-subtotal, _ZERO)}


def _additive(scheme: Scheme, work: Work, start: Decimal, sums: dict[ItemKind, Decimal]) -> None:
    points = start + sums[ItemKind.BONUS] - sums[ItemKind.DEDUCTION]
    if work.explain:
        bonuses, deductions = sums[ItemKind.BONUS], sums[ItemKind.DEDUCTION]
        detail = f"{fmt(start)} + 加分 {fmt(bonuses)} - 扣分 {fmt(deductions)} = {fmt(points)}"
        work.step(StepKind.POINTS, detail, points)
    bounds = scheme.scoring
    if bounds.minimum is not None and points < bounds.minimum:
        points = bounds.minimum
        work.step(StepKind.CLAMP, f"不低于最低分 {fmt(points)}", points)
    if bounds.maximum is not None and points > bounds.maximum:
        points = bounds.maximum
        work.step(StepKind.CLAMP, f"不超过满分 {fmt(points)}", points)
    work.points = points


def _demerit(scheme: Scheme, work: Work, start: Decimal, sums: dict[ItemKind, Decimal]) -> None:
    demerits, offsets = sums[ItemKind.DEDUCTION], sums[ItemKind.BONUS]
    points = start + demerits - offsets
    if work.explain:
        detail = f"累计 {fmt(start)} + 本期记分 {fmt(demerits)} - 奖励销分 {fmt(offsets)}"
        work.step(StepKind.POINTS, f"{detail} = {fmt(points)}", points)
    if points < 0:
        points = _ZERO
        work.step(StepKind.CLAMP, "销分只抵消已记分数,不低于 0", points)
    maximum = scheme.scoring.maximum
    if maximum is not None and points > maximum:
        points = maximum
        work.step(StepKind.CLAMP, f"记满 {fmt(points)} 分为止", points)
    work.points = points
