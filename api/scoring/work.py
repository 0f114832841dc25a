"""The mutable result of one subject while the engine works on it; frozen at the end."""

from dataclasses import dataclass, field
from decimal import Decimal

from api.scoring.inputs import Subject
from api.scoring.results import (
    PLACEMENT_STEPS,
    DerivationStep,
    IgnoredEntry,
    StepKind,
    SubjectResult,
    TriggeredAction,
)
from api.scoring.scheme import ComponentKind, ListColor, RankScope


@dataclass(slots=True)
class Work:
    subject: Subject
    period_key: str
    # False: only the numbers and the placement steps (a period close of 100 000 members);
    # the rest of the derivation is rebuilt on demand by `explain_subject`.
    explain: bool = True
    points: Decimal = Decimal(0)
    item_totals: dict[str, Decimal] = field(default_factory=dict)
    group_totals: dict[str, Decimal] = field(default_factory=dict)
    components: dict[ComponentKind, Decimal] = field(default_factory=dict)
    missing_evaluations: list[ComponentKind] = field(default_factory=list)
    total: Decimal | None = None
    veto_entry_ids: tuple[str, ...] = ()
    veto_items: frozenset[str] = frozenset()
    tier: str | None = None
    tier_label: str | None = None
    list_color: ListColor | None = None
    money: Decimal | None = None
    member_money: Decimal | None = None
    coefficient: Decimal | None = None
    coefficient_pay: Decimal | None = None
    stars: int | None = None
    cycle_stars: int | None = None
    cycle_flags: int | None = None
    ranks: dict[RankScope, int] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    prize: Decimal | None = None
    actions: list[TriggeredAction] = field(default_factory=list)
    award_eligible: bool | None = None
    award_reason: str | None = None
    ignored: list[IgnoredEntry] = field(default_factory=list)
    steps: list[DerivationStep] = field(default_factory=list)

    def step(
        self,
        kind: StepKind,
        detail: str,
        value: Decimal | None = None,
        *,
        entry_ids: tuple[str, ...] = (),
        item_code: str | None = None,
        rule: str | None = None,
    ) -> None:
        # Steps that need the whole population are kept even when not explaining, so that a
        # stored result can be explained later for its subject alone.
        if self.explain or kind in PLACEMENT_STEPS:
            self.steps.append(DerivationStep(kind, detail, value, entry_ids, item_code, rule))

    @property
    def vetoed(self) -> bool:
        return bool(self.veto_entry_ids)

    def add_flag(self, flag: str) -> None:
        self.flags = tuple(sorted({*self.flags, flag}))

    def freeze(self) -> SubjectResult:
        return SubjectResult(
            subject_id=self.subject.id,
            period_key=self.period_key,
            points=self.points,
            item_totals=self.item_totals,
            group_totals=self.group_totals,
            components=self.components,
            missing_evaluations=tuple(self.missing_evaluations),
            total=self.total,
            vetoed=self.vetoed,
            tier=self.tier,
            tier_label=self.tier_label,
            list_color=self.list_color,
            money=self.money,
            member_money=self.member_money,
            coefficient=self.coefficient,
            coefficient_pay=self.coefficient_pay,
            stars=self.stars,
            cycle_stars=self.cycle_stars,
            cycle_flags=self.cycle_flags,
            ranks=self.ranks,
            flags=self.flags,
            prize=self.prize,
            actions=tuple(self.actions),
            award_eligible=self.award_eligible,
            award_reason=self.award_reason,
            ignored_entries=tuple(self.ignored),
            derivation=tuple(self.steps),
        )


def fmt(value: Decimal) -> str:
    """A number as a member reads it: no exponent, no trailing zeros (87.0 → 87)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
