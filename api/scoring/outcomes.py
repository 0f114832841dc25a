"""What follows from a score: tier (档次/台阶), money, stars and flags (红星/红旗), actions."""

from collections.abc import Iterable
from decimal import Decimal

from api.scoring.conditions import describe, holds
from api.scoring.inputs import PriorResult
from api.scoring.periods import Period
from api.scoring.results import ActionSource, StepKind, TriggeredAction
from api.scoring.scheme import (
    ActionSpec,
    Scheme,
    StreakCounting,
    StreakRule,
    Tier,
    Tiering,
)
from api.scoring.work import Work, fmt


def assign_tier(scheme: Scheme, work: Work) -> None:
    """Band by total, then rules that lower the tier, then the veto (一票否决 → lowest tier)."""
    tiering = scheme.tiering
    if tiering is None or work.total is None:
        return
    total = work.total
    band = next(band for band in tiering.bands if band.min is None or total >= band.min)
    tier = tiering.tier(band.tier)
    if work.explain:
        work.step(
            StepKind.TIER,
            f"总分 {fmt(total)},{_band_text(tiering, band.min)} → {tier.label}",
            rule=tier.code,
        )
    for rule in tiering.rules:
        lowered = tiering.tier(rule.tier)
        if holds(rule.when, work) and tiering.rank_of(lowered.code) > tiering.rank_of(tier.code):
            tier = lowered
            if work.explain:
                detail = f"{describe(rule.when)} → 降为 {tier.label}"
                work.step(StepKind.TIER, detail, rule=tier.code)
    if work.vetoed:
        tier = tiering.lowest_tier
        if work.explain:
            work.step(
                StepKind.TIER,
                f"一票否决 → {tier.label}",
                entry_ids=work.veto_entry_ids,
                rule=tier.code,
            )
    _apply_tier(tiering, work, tier)


def _band_text(tiering: Tiering, lower: Decimal | None) -> str:
    if lower is not None:
        return f"≥ {fmt(lower)}"
    bounds = [band.min for band in tiering.bands if band.min is not None]
    return f"< {fmt(min(bounds))}" if bounds else "不分档"


def _apply_tier(tiering: Tiering, work: Work, tier: Tier) -> None:
    work.tier, work.tier_label, work.list_color = tier.code, tier.label, tier.list_color
    work.money, work.member_money = tier.money, tier.member_money
    work.coefficient = tier.coefficient
    if tier.coefficient is None:
        return
    pay = tiering.pay_by_category.get(work.subject.category or "")
    if pay is not None:
        work.coefficient_pay = pay * tier.coefficient
        if not work.explain:
            return
        work.step(
            StepKind.TIER,
            f"考核系数 {fmt(tier.coefficient)} × 考核工资 {fmt(pay)} = {fmt(work.coefficient_pay)}",
            work.coefficient_pay,
            rule=tier.code,
        )


def award_stars(scheme: Scheme, work: Work, earlier: Iterable[PriorResult]) -> None:
    """红星 for this period; 红旗 from all stars of the year so far."""
    if scheme.stars is None or work.total is None:
        return
    total = work.total
    band = next((band for band in scheme.stars.bands if total >= band.min), None)
    work.stars = band.stars if band is not None else 0
    work.cycle_stars = work.stars + sum(prior.stars or 0 for prior in earlier)
    work.cycle_flags = work.cycle_stars // scheme.stars.stars_per_flag
    if not work.explain:
        return
    bound = f"≥ {fmt(band.min)}" if band is not None else "未达最低星级"
    work.step(
        StepKind.STARS,
        f"总分 {fmt(total)} {bound},本期 {work.stars} 颗红星;本年共 {work.cycle_stars} 颗,"
        f"每 {scheme.stars.stars_per_flag} 颗换 1 面红旗,共 {work.cycle_flags} 面",
        Decimal(work.stars),
    )


def trigger_thresholds(scheme: Scheme, work: Work, earlier: Iterable[PriorResult]) -> None:
    """累计达到阈值 → action, once per threshold per cycle."""
    fired = {code for prior in earlier for code in prior.actions}
    for threshold in scheme.thresholds:
        if work.points >= threshold.at and threshold.action.code not in fired:
            _act(work, threshold.action, ActionSource.THRESHOLD, f"累计达到 {fmt(threshold.at)}")


def trigger_item_actions(scheme: Scheme, work: Work) -> None:
    for item in scheme.items_with_actions:
        occurred = work.item_totals.get(item.code, Decimal(0)) > 0 or item.code in work.veto_items
        if item.action is not None and occurred:
            _act(work, item.action, ActionSource.ITEM, f"「{item.name}」")


def trigger_streaks(
    scheme: Scheme, period: Period, work: Work, history: dict[Period, PriorResult]
) -> None:
    """Streak rules over this period and the subject's earlier results."""
    for rule in scheme.streaks:
        if not holds(rule.when, work):
            continue
        count = _streak_count(rule, period, history)
        if rule.matches(count):
            kind = "连续" if rule.counting is StreakCounting.CONSECUTIVE else "本年累计"
            # The reason is only a derivation step: not worked out when not explaining.
            reason = f"{describe(rule.when)},{kind}第 {count} 次" if work.explain else ""
            _act(work, rule.action, ActionSource.STREAK, reason)


def _streak_count(rule: StreakRule, period: Period, history: dict[Period, PriorResult]) -> int:
    if rule.counting is StreakCounting.IN_CYCLE:
        same_year = [prior for key, prior in history.items() if key.year == period.year]
        return 1 + sum(holds(rule.when, prior) for prior in same_year)
    count, cursor = 1, period.previous()
    while (prior := history.get(cursor)) is not None and holds(rule.when, prior):
        count, cursor = count + 1, cursor.previous()
    return count


def judge_award(scheme: Scheme, work: Work) -> None:
    """评先评优资格 where the scheme bars some subjects from being nominated (合阳)."""
    bar = scheme.award_bar
    if bar is None or work.total is None:
        return
    barred = holds(bar.when, work)
    work.award_eligible = not barred
    work.award_reason = bar.reason if barred else None
    if work.explain:
        outcome = f"{bar.reason}" if barred else "可推荐评先评优"
        condition = describe(bar.when)
        detail = f"{condition} → {outcome}" if barred else f"不满足「{condition}」→ {outcome}"
        work.step(StepKind.AWARD, detail, rule="award_bar")


def _act(work: Work, action: ActionSpec, source: ActionSource, reason: str) -> None:
    work.actions.append(TriggeredAction(code=action.code, label=action.label, source=source))
    work.step(StepKind.ACTION, f"{reason} → {action.label}", rule=action.code)
