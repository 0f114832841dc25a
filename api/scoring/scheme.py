"""积分方案 Scheme: the versioned, validated description of one points system.

Every seed system is a preset of this one model (see ``api.scoring.presets``): a scheme is data,
never code. The way in is ``Scheme.model_validate(data)``; the way out is
``scheme.model_dump(mode="json")``, which validates back to an equal scheme.

Score bands (档次 and 红星) are written best first, each with an *inclusive lower bound*
(``min``). A band covers ``[min, min of the band above)``: its upper bound is the next
higher band's lower bound, *excluded*; the top band has no upper bound. "≥80 一类, 60–80 二类,
<60 三类" is therefore ``80 → 一类, 60 → 二类, None → 三类``: exactly 80 is 一类, 79.9 is 二类.
"""

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Label = Annotated[str, Field(min_length=1, max_length=200)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
Weight = Annotated[Decimal, Field(gt=0, le=1)]

TOP_N_FLAG = "top_n"
TOP_PERCENT_FLAG = "top_percent"
BELOW_AVERAGE_FLAG = "below_average"
BOTTOM_FLAG = "bottom"


class SubjectKind(StrEnum):
    """被考核对象: a member (党员) or a branch / village (支部)."""

    MEMBER = "member"
    BRANCH = "branch"


class PeriodLength(StrEnum):
    """考核周期 in Asia/Shanghai; the cycle (for carry-over, stars and counts) is the year."""

    MONTH = "month"
    TWO_MONTHS = "two_months"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


class Accumulation(StrEnum):
    """``reset`` 每期清零: each period starts from the base; ``carry_over`` 年内累计."""

    RESET = "reset"
    CARRY_OVER = "carry_over"


class ItemKind(StrEnum):
    """加分 bonus (or 销分 offset in a demerit scheme), 扣分 deduction (记分), 一票否决 veto."""

    BONUS = "bonus"
    DEDUCTION = "deduction"
    VETO = "veto"


class PoliticalStatus(StrEnum):
    """正式党员, 预备党员, 入党积极分子."""

    FULL = "full"
    PROBATIONARY = "probationary"
    ACTIVIST = "activist"


class ApprovalStep(StrEnum):
    """One step of approving a declared item: 党小组长, 支委会, 党员大会, 党(工)委."""

    GROUP_LEADER = "group_leader"
    BRANCH_COMMITTEE = "branch_committee"
    BRANCH_ASSEMBLY = "branch_assembly"
    PARTY_COMMITTEE = "party_committee"


class ScoringMode(StrEnum):
    """``additive``: 基础分 + 加分 − 扣分; ``demerit``: 累计记分, offsets cancel demerits."""

    ADDITIVE = "additive"
    DEMERIT = "demerit"


class ComponentKind(StrEnum):
    """日常积分 and the evaluation kinds 自评, 互评, 商评/组织评定, 总评."""

    DAILY = "daily"
    SELF = "self"
    MUTUAL = "mutual"
    COMMITTEE = "committee"
    FINAL = "final"


class UnratedPolicy(StrEnum):
    """What a weighted evaluation that nobody gave a subject means (never a silent 0).

    ``required``: it must be given — a 评议 round cannot leave the stage that collects it while
    a member has none; ``exclude``: it is left out of that subject's score and the weights of
    the components given are scaled up to sum to 1 (按比例折算).
    """

    REQUIRED = "required"
    EXCLUDE = "exclude"


class ListColor(StrEnum):
    """红榜 or 黄榜."""

    RED = "red"
    YELLOW = "yellow"


class RankScope(StrEnum):
    """排名范围: within the 党小组, the 支部, or everyone in the computation (镇/矿/乡)."""

    GROUP = "group"
    BRANCH = "branch"
    TOWN = "town"


class TiePolicy(StrEnum):
    """``competition`` ranks ties 1, 2, 2, 4; ``dense`` ranks them 1, 2, 2, 3."""

    COMPETITION = "competition"
    DENSE = "dense"


class Comparison(StrEnum):
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    EQ = "eq"
    NE = "ne"


class Equality(StrEnum):
    EQ = "eq"
    NE = "ne"


class StreakCounting(StrEnum):
    """``consecutive`` 连续 periods back from this one; ``in_cycle`` 本年累计 occurrences."""

    CONSECUTIVE = "consecutive"
    IN_CYCLE = "in_cycle"


class StreakMatch(StrEnum):
    """Whether a streak rule fires at exactly ``count`` or at ``count`` and beyond (及以上)."""

    EXACTLY = "exactly"
    AT_LEAST = "at_least"


class SchemeModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionSpec(SchemeModel):
    """An organisational consequence, e.g. ``warning_talk`` 警示谈话."""

    code: Code
    label: Label


class ItemGroup(SchemeModel):
    """A component of the checklist (成庄矿 重点项/基础项/创新项) with its maximum points."""

    code: Code
    name: Label
    max_points: PositiveDecimal | None = None


class Item(SchemeModel):
    """One scoring item (积分事项).

    Points are magnitudes: a fixed ``points`` or an allowed range ``min_points``–``max_points``.
    The item kind gives the direction. A veto item has no points (its entries carry 0).
    ``categories`` / ``statuses`` empty means every member category / political status.
    """

    code: Code
    name: Label
    kind: ItemKind = Field(
        description="bonus 加分（记分制：销分）；deduction 扣分（记分）；veto 一票否决"
    )
    points: PositiveDecimal | None = None
    min_points: NonNegativeDecimal | None = None
    max_points: PositiveDecimal | None = None
    cap_per_period: PositiveDecimal | None = None
    group: Code | None = None
    categories: tuple[Code, ...] = ()
    statuses: tuple[PoliticalStatus, ...] = Field(
        default=(),
        description="适用的政治面貌（空为全部）：full 正式党员；probationary 预备党员；"
        "activist 入党积极分子",
    )
    declarable: bool = False
    evidence_required: bool = False
    approval_steps: tuple[ApprovalStep, ...] = ()
    action: ActionSpec | None = None

    @model_validator(mode="after")
    def _check_points(self) -> Self:
        has_range = self.min_points is not None or self.max_points is not None
        if self.kind is ItemKind.VETO:
            if self.points is not None or has_range or self.cap_per_period is not None:
                raise ValueError(
                    f"item {self.code!r}: a veto item takes no points, range or cap_per_period"
                )
            return self
        if self.points is not None and has_range:
            raise ValueError(f"item {self.code!r}: give either points or min_points/max_points")
        if self.points is None and (self.min_points is None or self.max_points is None):
            raise ValueError(f"item {self.code!r}: points, or both min_points and max_points")
        low, high = self.min_points, self.max_points
        if low is not None and high is not None and low > high:
            raise ValueError(f"item {self.code!r}: min_points {low} > max_points {high}")
        return self

    @model_validator(mode="after")
    def _check_declaration(self) -> Self:
        if len(set(self.approval_steps)) != len(self.approval_steps):
            raise ValueError(f"item {self.code!r}: approval_steps repeat a step")
        if self.declarable and not self.approval_steps:
            raise ValueError(f"item {self.code!r}: a declarable item needs approval_steps")
        return self

    @cached_property
    def open_to_all(self) -> bool:
        """Fixed points, for every category and political status: an occurrence is always
        scored (the engine's common case, checked once per item instead of per entry)."""
        return self.points is not None and not self.categories and not self.statuses

    def accepts(self, points: Decimal) -> bool:
        """Whether an entry of this magnitude is allowed for the item."""
        if self.kind is ItemKind.VETO:
            return points == 0
        if self.points is not None:
            return points == self.points
        assert self.min_points is not None and self.max_points is not None
        return self.min_points <= points <= self.max_points


class Scoring(SchemeModel):
    """How entries become points.

    ``additive``: start (base, or the carried value) + bonuses − deductions, then clamped to
    ``[minimum, maximum]`` where given. ``demerit``: demerits add up, bonus items are offsets
    (销分) that cancel demerits of the same cycle; the value never goes below 0 and is capped at
    ``maximum`` where given.
    """

    mode: ScoringMode = ScoringMode.ADDITIVE
    base: Decimal = Decimal(0)
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @model_validator(mode="after")
    def _check_bounds(self) -> Self:
        demerit = self.mode is ScoringMode.DEMERIT
        if demerit and (self.base != 0 or self.minimum is not None):
            raise ValueError("scoring: a demerit scheme starts at 0 and has no minimum")
        low, high = self.minimum, self.maximum
        if low is not None and high is not None and low > high:
            raise ValueError(f"scoring: minimum {low} > maximum {high}")
        if self.minimum is not None and self.base < self.minimum:
            raise ValueError(f"scoring: base {self.base} is below minimum {self.minimum}")
        if self.maximum is not None and self.base > self.maximum:
            raise ValueError(f"scoring: base {self.base} is above maximum {self.maximum}")
        return self


class Component(SchemeModel):
    """A weighted part of the final score, e.g. 日常积分 ×0.7, and what it means unrated."""

    kind: ComponentKind = Field(
        description="daily 日常积分；self 自评；mutual 互评；committee 组织评定；final 总评"
    )
    weight: Weight
    when_unrated: UnratedPolicy = UnratedPolicy.REQUIRED

    @model_validator(mode="after")
    def _check_daily(self) -> Self:
        if self.kind is ComponentKind.DAILY and self.when_unrated is UnratedPolicy.EXCLUDE:
            raise ValueError("components: the daily component is never unrated")
        return self


class Evaluation(SchemeModel):
    """评议 rules: who rates whom, on what scale, and how mutual ratings are aggregated."""

    scale_max: PositiveDecimal = Decimal(100)
    mutual_scope: Literal["branch", "group"] = "branch"
    aggregate: Literal["trimmed_mean", "mean"] = "trimmed_mean"
    trim_from: int = Field(default=5, ge=3, description="drop highest and lowest from this many")
    reveal_raters: bool = False
    rate_commitments: bool = False
    reminder_hours: int = Field(default=24, ge=1)


class Schedule(SchemeModel):
    """When the service pushes on its own: the monthly score-and-rank notice day (合阳: 25th)."""

    monthly_notice_day: int = Field(default=1, ge=1, le=28)


class TotalCondition(SchemeModel):
    measure: Literal["total"] = "total"
    op: Comparison
    value: Decimal


class GroupCondition(SchemeModel):
    """On an item group's subtotal, e.g. 重点项得分 < 40."""

    measure: Literal["group"] = "group"
    group: Code
    op: Comparison
    value: Decimal


class ItemCondition(SchemeModel):
    """On one item's signed total for the period."""

    measure: Literal["item"] = "item"
    item: Code
    op: Comparison
    value: Decimal


class TierCondition(SchemeModel):
    measure: Literal["tier"] = "tier"
    op: Equality = Equality.EQ
    value: Code


class ListCondition(SchemeModel):
    measure: Literal["list"] = "list"
    op: Equality = Equality.EQ
    value: ListColor


class RankCondition(SchemeModel):
    """On the rank in a scope, e.g. 支部排名 ≤ 3; no rank in the scope never matches."""

    measure: Literal["rank"] = "rank"
    scope: RankScope
    op: Comparison
    value: int = Field(ge=1)


class FlagCondition(SchemeModel):
    """Whether the subject carries a flag (``bottom``, ``top_percent``, ``red_flag``…)."""

    measure: Literal["flag"] = "flag"
    flag: Code
    present: bool = True


Condition = Annotated[
    TotalCondition
    | GroupCondition
    | ItemCondition
    | TierCondition
    | ListCondition
    | RankCondition
    | FlagCondition,
    Field(discriminator="measure"),
]
_SCORE_MEASURES = frozenset({"total", "group", "item"})


class Criterion(SchemeModel):
    """Holds when any of ``any_of`` holds (if given) and all of ``all_of`` hold (if given).

    "总分低于60分或重点项低于35分" is ``any_of``; "排名最后且低于85分" is ``all_of``.
    """

    any_of: tuple[Condition, ...] = ()
    all_of: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _check_not_empty(self) -> Self:
        if not self.any_of and not self.all_of:
            raise ValueError("criterion: give any_of or all_of")
        return self

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return self.any_of + self.all_of


class AwardBar(SchemeModel):
    """评先评优资格: a subject may not be nominated for awards while ``when`` holds, for
    ``reason`` (合阳: demerits not offset by reward points)."""

    when: Criterion
    reason: Label


class Tier(SchemeModel):
    """A class (一类…四类, 台阶, 档次) with what follows from it.

    ``money`` is paid to the subject (e.g. 村级转移支付), ``member_money`` to each member of
    it (e.g. 村两委成员绩效报酬, may be negative), ``coefficient`` scales assessed pay
    (台阶考核系数).
    """

    code: Code
    label: Label
    list_color: ListColor | None = None
    money: Decimal | None = None
    member_money: Decimal | None = None
    coefficient: NonNegativeDecimal | None = None


class Band(SchemeModel):
    """A score band: ``min`` is the inclusive lower bound; ``None`` covers everything below."""

    min: Decimal | None
    tier: Code


class TierRule(SchemeModel):
    """A rule that lowers the tier to at most ``tier`` when its criterion holds."""

    when: Criterion
    tier: Code


class Tiering(SchemeModel):
    """Tiers best first, score bands, rules that lower the tier, and the veto tier.

    A veto (一票否决) forces ``veto_tier``, by default the last (lowest) tier.
    ``pay_by_category`` is the assessed pay per subject category that the coefficient scales.
    """

    tiers: tuple[Tier, ...] = Field(min_length=1)
    bands: tuple[Band, ...] = Field(min_length=1)
    rules: tuple[TierRule, ...] = ()
    veto_tier: Code | None = None
    pay_by_category: dict[Code, NonNegativeDecimal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_tiers(self) -> Self:
        codes = [tier.code for tier in self.tiers]
        _require_unique("tiering.tiers", codes)
        for band in self.bands:
            _require_known("tiering.bands", band.tier, codes)
        for rule in self.rules:
            _require_known("tiering.rules", rule.tier, codes)
        if self.veto_tier is not None:
            _require_known("tiering.veto_tier", self.veto_tier, codes)
        _check_descending_bands([band.min for band in self.bands])
        positions = [codes.index(band.tier) for band in self.bands]
        if positions != sorted(positions):
            raise ValueError("tiering.bands: a higher band must not give a lower tier")
        return self

    @property
    def lowest_tier(self) -> Tier:
        code = self.veto_tier or self.tiers[-1].code
        return self.tier(code)

    def tier(self, code: str) -> Tier:
        return next(tier for tier in self.tiers if tier.code == code)

    def rank_of(self, code: str) -> int:
        """0 for the best tier; larger is lower."""
        return [tier.code for tier in self.tiers].index(code)


class StarBand(SchemeModel):
    min: Decimal
    stars: int = Field(ge=1)


class Stars(SchemeModel):
    """红星 by score band (below the lowest band: none) and 红旗 per ``stars_per_flag`` stars.

    Stars add up over the cycle (year); flags are the cycle's stars divided by
    ``stars_per_flag``, rounded down.
    """

    bands: tuple[StarBand, ...] = Field(min_length=1)
    stars_per_flag: int = Field(default=2, ge=1)

    @model_validator(mode="after")
    def _check_bands(self) -> Self:
        if not _strictly_descending([band.min for band in self.bands]):
            raise ValueError("stars.bands: lower bounds must be strictly descending")
        if not _strictly_descending([Decimal(band.stars) for band in self.bands]):
            raise ValueError("stars.bands: star counts must be strictly descending")
        return self


class Threshold(SchemeModel):
    """累计记分达到 ``at`` → action, at most once per cycle (e.g. 6 分约谈提醒)."""

    at: PositiveDecimal
    action: ActionSpec


class StreakRule(SchemeModel):
    """An action when ``when`` holds this period and in enough earlier periods.

    ``count`` includes this period. ``count=1, match=at_least`` fires every period the
    criterion holds; ``counting=in_cycle`` counts occurrences in the year, not a run.
    """

    when: Criterion
    count: int = Field(ge=1)
    match: StreakMatch = StreakMatch.AT_LEAST
    counting: StreakCounting = StreakCounting.CONSECUTIVE
    action: ActionSpec

    def matches(self, count: int) -> bool:
        if self.match is StreakMatch.EXACTLY:
            return count == self.count
        return count >= self.count


class PrizeBand(SchemeModel):
    """Prize money by place for subjects whose total is at least ``min`` (inclusive).

    ``amounts[0]`` is for 1st place, ``amounts[1]`` for 2nd… (涌溪: ≥95 → 600/500/400).
    """

    min: Decimal
    amounts: tuple[NonNegativeDecimal, ...] = Field(min_length=1)


class Ranking(SchemeModel):
    """Ranking scopes, tie policy and the flags and prizes decided in the ``primary`` scope.

    Top-N and top-percent count places as competition ranks do: a subject is in the top
    ``top_percent`` when its competition rank ≤ ``top_percent`` × (ranked subjects in scope),
    so a tie at the boundary includes everyone tied. ``bottom`` (末位) marks the worst total of
    the scope when the scope has at least two different totals. ``below_average`` marks totals
    worse than the scope's mean. In a demerit scheme fewer demerits rank higher.
    """

    scopes: tuple[RankScope, ...] = Field(min_length=1)
    primary: RankScope
    ties: TiePolicy = TiePolicy.COMPETITION
    top_n: int | None = Field(default=None, ge=1)
    top_percent: Weight | None = None
    flag_bottom: bool = False
    flag_below_average: bool = False
    first_place_flag: Code | None = None
    prizes: tuple[PrizeBand, ...] = ()

    @model_validator(mode="after")
    def _check_scopes(self) -> Self:
        _require_unique("ranking.scopes", self.scopes)
        _require_known("ranking.primary", self.primary, self.scopes)
        if not _strictly_descending([band.min for band in self.prizes]):
            raise ValueError("ranking.prizes: lower bounds must be strictly descending")
        if self.first_place_flag in _BUILT_IN_FLAGS:
            raise ValueError(f"ranking.first_place_flag: {self.first_place_flag!r} is built in")
        return self

    @property
    def flags(self) -> frozenset[str]:
        """Every flag this ranking can give."""
        given = {
            TOP_N_FLAG: self.top_n is not None,
            TOP_PERCENT_FLAG: self.top_percent is not None,
            BELOW_AVERAGE_FLAG: self.flag_below_average,
            BOTTOM_FLAG: self.flag_bottom,
        }
        flags = {flag for flag, on in given.items() if on}
        if self.first_place_flag is not None:
            flags.add(self.first_place_flag)
        return frozenset(flags)


_BUILT_IN_FLAGS = frozenset({TOP_N_FLAG, TOP_PERCENT_FLAG, BELOW_AVERAGE_FLAG, BOTTOM_FLAG})


# --- 组织生活: meeting kinds and the items their attendance records ------------------------------


class MeetingKind(StrEnum):
    """The built-in meeting kinds: 三会一课 (支部党员大会, 支委会, 党小组会, 党课) and
    主题党日 / 党员固定活动日. A scheme may declare kinds of its own beside them."""

    BRANCH_ASSEMBLY = "branch_assembly"
    BRANCH_COMMITTEE = "branch_committee"
    GROUP_MEETING = "group_meeting"
    PARTY_LECTURE = "party_lecture"
    ACTIVITY_DAY = "activity_day"


MEETING_KIND_NAMES: dict[str, str] = {
    MeetingKind.BRANCH_ASSEMBLY: "支部党员大会",
    MeetingKind.BRANCH_COMMITTEE: "支委会",
    MeetingKind.GROUP_MEETING: "党小组会",
    MeetingKind.PARTY_LECTURE: "党课",
    MeetingKind.ACTIVITY_DAY: "主题党日",
}


class LeaveApprover(StrEnum):
    """Who may decide a member's leave request (请假): a role held over the member's unit."""

    GROUP_LEADER = "group_leader"
    BRANCH_COMMITTEE = "branch_committee"
    BRANCH_SECRETARY = "branch_secretary"
    COMMITTEE_ADMIN = "committee_admin"


class MeetingKindSpec(SchemeModel):
    """A meeting kind of the scheme's own, e.g. ``life_meeting`` 组织生活会."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    name: Annotated[str, Field(min_length=1, max_length=32)]


class AttendanceRule(SchemeModel):
    """What an expected attendee's outcome records for these meeting kinds: ``absent_item``
    for 无故缺席, ``leave_item`` for 请假 (合阳 三会一课: 6 and 2). Present records nothing."""

    meeting_kinds: tuple[Code, ...] = Field(min_length=1)
    absent_item: Code | None = None
    leave_item: Code | None = None

    @model_validator(mode="after")
    def _check_items(self) -> Self:
        if self.absent_item is None and self.leave_item is None:
            raise ValueError("attendance.rules: give absent_item or leave_item")
        return self


class AttendanceRules(SchemeModel):
    """组织生活: the scheme's own meeting kinds, the items attendance records, who decides leave,
    and how long before a meeting its attendees are reminded.

    Without rules a meeting records attendance only.
    """

    meeting_kinds: tuple[MeetingKindSpec, ...] = ()
    rules: tuple[AttendanceRule, ...] = ()
    leave_approvers: tuple[LeaveApprover, ...] = Field(
        default=(LeaveApprover.BRANCH_SECRETARY,), min_length=1
    )
    reminder_minutes: int = Field(default=60, ge=5, le=1440, description="会前多久提醒参会人员")

    @model_validator(mode="after")
    def _check_kinds(self) -> Self:
        own = [kind.code for kind in self.meeting_kinds]
        _require_unique("attendance.meeting_kinds", own)
        for code in own:
            if code in MEETING_KIND_NAMES:
                raise ValueError(f"attendance.meeting_kinds: '{code}' is a built-in kind")
        known = [*MEETING_KIND_NAMES, *own]
        covered = [kind for rule in self.rules for kind in rule.meeting_kinds]
        for kind in covered:
            _require_known("attendance.rules.meeting_kinds", kind, known)
        _require_unique("attendance.rules.meeting_kinds", covered)
        _require_unique("attendance.leave_approvers", self.leave_approvers)
        return self

    @cached_property
    def kind_names(self) -> dict[str, str]:
        """Every meeting kind a branch under this scheme may hold: code → name."""
        return {**MEETING_KIND_NAMES, **{kind.code: kind.name for kind in self.meeting_kinds}}

    def rule_for(self, kind: str) -> AttendanceRule | None:
        return next((rule for rule in self.rules if kind in rule.meeting_kinds), None)


class Scheme(SchemeModel):
    """一套积分方案, versioned. See the module docstring for how bands work."""

    slug: Code
    name: Label
    version: int = Field(default=1, ge=1)
    subject_kind: SubjectKind = Field(description="考核对象：member 党员；branch 支部")
    period: PeriodLength
    accumulation: Accumulation = Accumulation.RESET
    scoring: Scoring = Field(default_factory=Scoring)
    categories: tuple[Code, ...] = ()
    groups: tuple[ItemGroup, ...] = ()
    items: tuple[Item, ...] = Field(min_length=1)
    components: tuple[Component, ...] = ()
    evaluation: Evaluation = Field(default_factory=Evaluation)
    schedule: Schedule = Field(default_factory=Schedule)
    tiering: Tiering | None = None
    stars: Stars | None = None
    thresholds: tuple[Threshold, ...] = ()
    streaks: tuple[StreakRule, ...] = ()
    ranking: Ranking | None = None
    attendance: AttendanceRules = Field(default_factory=AttendanceRules)
    award_bar: AwardBar | None = None

    @model_validator(mode="after")
    def _check_items(self) -> Self:
        _require_unique("categories", self.categories)
        _require_unique("groups", [group.code for group in self.groups])
        _require_unique("items", [item.code for item in self.items])
        group_codes = [group.code for group in self.groups]
        for item in self.items:
            if item.group is not None:
                _require_known(f"items.{item.code}.group", item.group, group_codes)
            for category in item.categories:
                _require_known(f"items.{item.code}.categories", category, self.categories)
        return self

    @model_validator(mode="after")
    def _check_components(self) -> Self:
        if not self.components:
            return self
        if self.scoring.mode is ScoringMode.DEMERIT:
            raise ValueError("components: a demerit scheme takes no weighted components")
        _require_unique("components", [component.kind for component in self.components])
        if ComponentKind.DAILY not in {component.kind for component in self.components}:
            raise ValueError("components: the daily component must be weighted")
        total = sum((component.weight for component in self.components), Decimal(0))
        if total != 1:
            raise ValueError(f"components: weights sum to {total}, not 1")
        return self

    @model_validator(mode="after")
    def _check_outcomes(self) -> Self:
        if self.tiering is None and any(item.kind is ItemKind.VETO for item in self.items):
            raise ValueError("tiering: a scheme with veto items needs tiering")
        if self.tiering is not None:
            for category in self.tiering.pay_by_category:
                _require_known("tiering.pay_by_category", category, self.categories)
            for rule in self.tiering.rules:
                self._check_criterion("tiering.rules", rule.when, scores_only=True)
        for index, streak in enumerate(self.streaks):
            self._check_criterion(f"streaks.{index}", streak.when, scores_only=False)
        if self.award_bar is not None:
            self._check_criterion("award_bar", self.award_bar.when, scores_only=False)
        thresholds = [threshold.at for threshold in self.thresholds]
        if thresholds != sorted(set(thresholds)):
            raise ValueError("thresholds: values must be strictly ascending")
        codes = [rule.action.code for rule in self.thresholds]
        codes += [rule.action.code for rule in self.streaks]
        _require_unique("thresholds and streaks action codes", codes)
        for item in self.items:
            if item.action is not None and item.action.code in codes:
                raise ValueError(
                    f"items.{item.code}.action: '{item.action.code}' is a threshold or streak code"
                )
        return self

    @model_validator(mode="after")
    def _check_attendance(self) -> Self:
        """Attendance records fixed-point deductions of this scheme (the close picks no number)."""
        for rule in self.attendance.rules:
            for item_code in (rule.absent_item, rule.leave_item):
                if item_code is None:
                    continue
                item = self.item(item_code)
                if item is None or item.kind is not ItemKind.DEDUCTION or item.points is None:
                    raise ValueError(
                        f"attendance.rules: '{item_code}' is not a fixed-point deduction item"
                    )
        return self

    def _check_criterion(self, where: str, criterion: Criterion, *, scores_only: bool) -> None:
        for condition in criterion.conditions:
            if scores_only and condition.measure not in _SCORE_MEASURES:
                raise ValueError(f"{where}: a tier rule may only test total, group or item")
            match condition:
                case GroupCondition(group=group_code):
                    _require_known(where, group_code, [group.code for group in self.groups])
                case ItemCondition(item=item_code):
                    _require_known(where, item_code, [item.code for item in self.items])
                case TierCondition(value=tier):
                    known = [t.code for t in self.tiering.tiers] if self.tiering else []
                    _require_known(where, tier, known)
                case RankCondition(scope=scope):
                    scopes = self.ranking.scopes if self.ranking else ()
                    _require_known(where, scope, scopes)
                case FlagCondition(flag=flag):
                    known = sorted(self.ranking.flags) if self.ranking else []
                    _require_known(where, flag, known)
                case _:
                    pass

    def item(self, code: str) -> Item | None:
        return self.items_by_code.get(code)

    @cached_property
    def items_by_code(self) -> dict[str, Item]:
        return {item.code: item for item in self.items}

    @cached_property
    def has_vetoes(self) -> bool:
        return any(item.kind is ItemKind.VETO for item in self.items)

    @cached_property
    def items_with_actions(self) -> tuple[Item, ...]:
        return tuple(item for item in self.items if item.action is not None)

    @property
    def ranks_descending(self) -> bool:
        """Whether a higher total ranks higher (false for demerit schemes)."""
        return self.scoring.mode is ScoringMode.ADDITIVE


def _require_unique(where: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{where}: duplicate '{value}'")
        seen.add(value)


def _require_known(where: str, value: str, known: Sequence[str]) -> None:
    if value not in known:
        raise ValueError(f"{where}: unknown '{value}' (known: {', '.join(known) or 'none'})")


def _check_descending_bands(mins: list[Decimal | None]) -> None:
    if mins[-1] is not None:
        raise ValueError("tiering.bands: the last band must have min null (everything below)")
    bounds = [bound for bound in mins[:-1] if bound is not None]
    if len(bounds) != len(mins) - 1:
        raise ValueError("tiering.bands: only the last band may have min null")
    if not _strictly_descending(bounds):
        raise ValueError("tiering.bands: lower bounds must be strictly descending (no overlap)")


def _strictly_descending(values: Sequence[Decimal]) -> bool:
    return all(upper > lower for upper, lower in pairwise(values))
