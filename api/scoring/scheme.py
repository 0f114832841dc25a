"""积分方案 Scheme: the versioned, validated description of one points system.

Every seed system is a preset of this one model (see ``api.scoring.presets``): a scheme is data,
never code. The way in is ``Scheme.model_validate(data)``; the way out is
``scheme.model_dump(mode="json")``, which validates back to an equal scheme. A refused
definition's own problems are ``SchemeProblem``s: words for the admin who wrote it, at the
field they concern (``problem_location``).

Score bands (档次 and 红星) are written best first, each with an *inclusive lower bound*
(``min``). A band covers ``[min, min of the band above)``: its upper bound is the next
higher band's lower bound, *excluded*; the top band has no upper bound. "≥80 一类, 60–80 二类,
<60 三类" is therefore ``80 → 一类, 60 → 二类, None → 三类``: exactly 80 is 一类, 79.9 is 二类.
"""

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal, Self

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

Location = tuple[str | int, ...]


class SchemeProblem(ValueError):
    """A problem of a definition, said for the committee admin who wrote it, and where it lies
    below the model whose check found it: pydantic files a model's check at the model, the
    editor shows the problem at the field ``at`` names."""

    def __init__(self, message: str, *at: str | int) -> None:
        super().__init__(message)
        self.at: Location = at


def problem_location(error: Mapping[str, Any]) -> Location:
    """Where one of a scheme's validation errors lies: pydantic's location, down to the field
    a check names."""
    found = (error.get("ctx") or {}).get("error")
    below = found.at if isinstance(found, SchemeProblem) else ()
    return (*error.get("loc", ()), *below)


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
        low, high = self.min_points, self.max_points
        if self.kind is ItemKind.VETO:
            given = {
                "points": self.points,
                "min_points": low,
                "max_points": high,
                "cap_per_period": self.cap_per_period,
            }
            for field, value in given.items():
                if value is not None:
                    raise SchemeProblem(
                        f"一票否决事项 '{self.code}' 不设「分值」「最低分」「最高分」「每期上限」",
                        field,
                    )
            return self
        if self.points is not None and (low is not None or high is not None):
            raise SchemeProblem(
                f"事项 '{self.code}' 的「分值」与「最低分」「最高分」只能填一种", "points"
            )
        if self.points is None and (low is None or high is None):
            blank = "min_points" if low is None else "max_points"
            raise SchemeProblem(
                f"事项 '{self.code}' 须填「分值」，或同时填「最低分」「最高分」",
                "points" if low is None and high is None else blank,
            )
        if low is not None and high is not None and low > high:
            raise SchemeProblem(
                f"事项 '{self.code}' 的「最低分」{low} 高于「最高分」{high}", "min_points"
            )
        return self

    @model_validator(mode="after")
    def _check_declaration(self) -> Self:
        steps = _entries("approval_steps", self.approval_steps)
        _require_unique(f"事项 '{self.code}' 的审批步骤", steps)
        if self.declarable and not self.approval_steps:
            raise SchemeProblem(f"可申报的事项 '{self.code}' 须设「审批步骤」", "approval_steps")
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
        low, high = self.minimum, self.maximum
        if self.mode is ScoringMode.DEMERIT:
            if self.base != 0:
                raise SchemeProblem(f"累计记分从 0 分记起，「基础分」不能是 {self.base}", "base")
            if low is not None:
                raise SchemeProblem("累计记分不设「最低分」", "minimum")
        if low is not None and high is not None and low > high:
            raise SchemeProblem(f"「最低分」{low} 高于「最高分」{high}", "minimum")
        if low is not None and self.base < low:
            raise SchemeProblem(f"「基础分」{self.base} 低于「最低分」{low}", "base")
        if high is not None and self.base > high:
            raise SchemeProblem(f"「基础分」{self.base} 高于「最高分」{high}", "base")
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
            raise SchemeProblem(
                "日常积分人人都有，「未评时」不能选 'exclude'（不计入）", "when_unrated"
            )
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
            raise SchemeProblem("「任一条件」「全部条件」至少填一项")
        return self


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
        _require_unique("等次代码", _entries("tiers", codes, "code"))
        for index, band in enumerate(self.bands):
            _require_known("等次", band.tier, codes, "bands", index, "tier")
        for index, rule in enumerate(self.rules):
            _require_known("等次", rule.tier, codes, "rules", index, "tier")
        if self.veto_tier is not None:
            _require_known("等次", self.veto_tier, codes, "veto_tier")
        _check_bands_open_below([band.min for band in self.bands])
        for index, (upper, lower) in enumerate(pairwise(self.bands), start=1):
            if codes.index(lower.tier) < codes.index(upper.tier):
                raise SchemeProblem(
                    f"分数段从高到低、等次应从好到差，本段的 '{lower.tier}' "
                    f"好于上一段的 '{upper.tier}'",
                    "bands",
                    index,
                    "tier",
                )
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
        _require_descending("星级分数段", [band.min for band in self.bands], "bands")
        for index, (upper, lower) in enumerate(pairwise(self.bands), start=1):
            if lower.stars >= upper.stars:
                raise SchemeProblem(
                    f"下限越低、星数应越少，{lower.stars} 颗不少于上一段的 {upper.stars} 颗",
                    "bands",
                    index,
                    "stars",
                )
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
        # The scopes are ticked, not listed: a repeat is the field's, not an entry's.
        _require_unique("排名范围", [(scope, ("scopes",)) for scope in self.scopes])
        _require_known("排名范围", self.primary, self.scopes, "primary")
        _require_descending("奖金段", [band.min for band in self.prizes], "prizes")
        if self.first_place_flag in _BUILT_IN_FLAGS:
            raise SchemeProblem(
                f"'{self.first_place_flag}' 是系统自带的标记，请换一个代码", "first_place_flag"
            )
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
            raise SchemeProblem("「缺席扣分事项」「请假扣分事项」至少填一项")
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
        _require_unique("会议类型代码", _entries("meeting_kinds", own, "code"))
        for index, code in enumerate(own):
            if code in MEETING_KIND_NAMES:
                raise SchemeProblem(
                    f"'{code}' 是系统自带的会议类型（{MEETING_KIND_NAMES[code]}），请换一个代码",
                    "meeting_kinds",
                    index,
                    "code",
                )
        known = [*MEETING_KIND_NAMES, *own]
        covered = [
            (kind, ("rules", index, *at))
            for index, rule in enumerate(self.rules)
            for kind, at in _entries("meeting_kinds", rule.meeting_kinds)
        ]
        for kind, at in covered:
            _require_known("会议类型", kind, known, *at)
        _require_unique("会议类型", covered)
        _require_unique("请假审批人", _entries("leave_approvers", self.leave_approvers))
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
        group_codes = [group.code for group in self.groups]
        _require_unique("类别", _entries("categories", self.categories))
        _require_unique("分组代码", _entries("groups", group_codes, "code"))
        _require_unique("事项代码", _entries("items", [item.code for item in self.items], "code"))
        for index, item in enumerate(self.items):
            if item.group is not None:
                _require_known("分组", item.group, group_codes, "items", index, "group")
            for category, at in _entries("categories", item.categories):
                _require_known("类别", category, self.categories, "items", index, *at)
        return self

    @model_validator(mode="after")
    def _check_components(self) -> Self:
        if not self.components:
            return self
        kinds = [component.kind for component in self.components]
        if self.scoring.mode is ScoringMode.DEMERIT:
            raise SchemeProblem("累计记分的方案不设加权构成", "components")
        _require_unique("构成", _entries("components", kinds, "kind"))
        if ComponentKind.DAILY not in kinds:
            raise SchemeProblem("日常积分 'daily' 须列入构成并设权重", "components")
        total = sum((component.weight for component in self.components), Decimal(0))
        if total != 1:
            raise SchemeProblem(f"「权重」合计为 {total}，应为 1", "components")
        return self

    @model_validator(mode="after")
    def _check_outcomes(self) -> Self:
        self._check_vetoes_have_tiering()
        if self.tiering is not None:
            for category in self.tiering.pay_by_category:
                pay = ("tiering", "pay_by_category", category)
                _require_known("类别", category, self.categories, *pay)
            for index, rule in enumerate(self.tiering.rules):
                when = ("tiering", "rules", index, "when")
                self._check_criterion(when, rule.when, scores_only=True)
        for index, streak in enumerate(self.streaks):
            self._check_criterion(("streaks", index, "when"), streak.when, scores_only=False)
        if self.award_bar is not None:
            self._check_criterion(("award_bar", "when"), self.award_bar.when, scores_only=False)
        for index, (lower, upper) in enumerate(pairwise(self.thresholds), start=1):
            if upper.at <= lower.at:
                raise SchemeProblem(
                    f"阈值应从低到高排列，{upper.at} 不高于上一个的 {lower.at}",
                    "thresholds",
                    index,
                    "at",
                )
        self._check_action_codes()
        return self

    def _check_vetoes_have_tiering(self) -> None:
        """A veto sets the lowest tier: without tiers it would mean nothing."""
        if self.tiering is not None:
            return
        for index, item in enumerate(self.items):
            if item.kind is ItemKind.VETO:
                raise SchemeProblem(
                    f"方案未设「等次评定」，不能有一票否决事项 '{item.code}'",
                    "items",
                    index,
                    "kind",
                )

    def _check_action_codes(self) -> None:
        """A follow-up is kept by its action code and names the rule that decided it."""
        thresholds = [rule.action.code for rule in self.thresholds]
        streaks = [rule.action.code for rule in self.streaks]
        codes = [
            *_entries("thresholds", thresholds, "action", "code"),
            *_entries("streaks", streaks, "action", "code"),
        ]
        _require_unique("处理代码", codes)
        taken = {code for code, _ in codes}
        for index, item in enumerate(self.items):
            if item.action is not None and item.action.code in taken:
                raise SchemeProblem(
                    f"处理代码 '{item.action.code}' 已用于阈值或连续规则",
                    "items",
                    index,
                    "action",
                    "code",
                )

    @model_validator(mode="after")
    def _check_attendance(self) -> Self:
        """Attendance records fixed-point deductions of this scheme (the close picks no number)."""
        for index, rule in enumerate(self.attendance.rules):
            given = {"absent_item": rule.absent_item, "leave_item": rule.leave_item}
            for field, item_code in given.items():
                if item_code is None:
                    continue
                item = self.item(item_code)
                if item is None or item.kind is not ItemKind.DEDUCTION or item.points is None:
                    raise SchemeProblem(
                        f"'{item_code}' 不是固定分值的扣分事项",
                        "attendance",
                        "rules",
                        index,
                        field,
                    )
        return self

    def _check_criterion(self, at: Location, criterion: Criterion, *, scores_only: bool) -> None:
        sides = {"any_of": criterion.any_of, "all_of": criterion.all_of}
        for side, conditions in sides.items():
            for index, condition in enumerate(conditions):
                self._check_condition((*at, side, index), condition, scores_only=scores_only)

    def _check_condition(self, at: Location, condition: Condition, *, scores_only: bool) -> None:
        if scores_only and condition.measure not in _SCORE_MEASURES:
            raise SchemeProblem(
                f"降档规则只能按总分、分组得分或事项得分判断，不能按 '{condition.measure}'",
                *at,
                "measure",
            )
        match condition:
            case GroupCondition(group=group_code):
                groups = [group.code for group in self.groups]
                _require_known("分组", group_code, groups, *at, "group")
            case ItemCondition(item=item_code):
                items = [item.code for item in self.items]
                _require_known("事项", item_code, items, *at, "item")
            case TierCondition(value=tier):
                known = [t.code for t in self.tiering.tiers] if self.tiering else []
                _require_known("等次", tier, known, *at, "value")
            case RankCondition(scope=scope):
                scopes = self.ranking.scopes if self.ranking else ()
                _require_known("排名范围", scope, scopes, *at, "scope")
            case FlagCondition(flag=flag):
                known = sorted(self.ranking.flags) if self.ranking else []
                _require_known("标记", flag, known, *at, "flag")
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


def _entries(field: str, values: Sequence[str], *below: str) -> list[tuple[str, Location]]:
    """Each value of a list with where it stands: ``field``, its index, then ``below``."""
    return [(value, (field, index, *below)) for index, value in enumerate(values)]


def _require_unique(what: str, entries: Iterable[tuple[str, Location]]) -> None:
    """The first value given twice is refused where it is given the second time."""
    seen: set[str] = set()
    for value, at in entries:
        if value in seen:
            raise SchemeProblem(f"{what} '{value}' 重复", *at)
        seen.add(value)


def _require_known(what: str, value: str, known: Sequence[str], *at: str | int) -> None:
    if value in known:
        return
    choices = "、".join(f"'{code}'" for code in known)
    hint = f"（可选：{choices}）" if known else f"（方案中还没有{what}）"
    raise SchemeProblem(f"没有{what} '{value}'{hint}", *at)


def _check_bands_open_below(mins: Sequence[Decimal | None]) -> None:
    """Only the last band is open below; the others descend, so no two bands overlap."""
    last = len(mins) - 1
    if mins[last] is not None:
        raise SchemeProblem("最后一个分数段的「下限」应为空（即以下全部）", "bands", last, "min")
    for index, bound in enumerate(mins[:last]):
        if bound is None:
            raise SchemeProblem("只有最后一个分数段的「下限」可以为空", "bands", index, "min")
    _require_descending("分数段", [bound for bound in mins if bound is not None], "bands")


def _require_descending(what: str, mins: Sequence[Decimal], field: str) -> None:
    """Bands best first: each lower bound below the one before it."""
    for index, (upper, lower) in enumerate(pairwise(mins), start=1):
        if lower >= upper:
            raise SchemeProblem(
                f"{what}应按「下限」从高到低排列，{lower} 不低于上一段的 {upper}",
                field,
                index,
                "min",
            )
