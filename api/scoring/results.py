"""What the engine returns per subject, with the derivation of every number (积分明细)."""

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson

from api.scoring.inputs import PriorResult
from api.scoring.scheme import ComponentKind, ListColor, RankScope


class StepKind(StrEnum):
    EXEMPT = "exempt"
    START = "start"
    ENTRY = "entry"
    IGNORED = "ignored"
    ITEM_TOTAL = "item_total"
    ITEM_CAP = "item_cap"
    GROUP_TOTAL = "group_total"
    GROUP_CAP = "group_cap"
    POINTS = "points"
    CLAMP = "clamp"
    VETO = "veto"
    COMPONENT = "component"
    TOTAL = "total"
    TIER = "tier"
    STARS = "stars"
    RANK = "rank"
    FLAG = "flag"
    PRIZE = "prize"
    ACTION = "action"


# Steps that need the whole population: kept even when the engine does not explain.
PLACEMENT_STEPS = frozenset({StepKind.RANK, StepKind.FLAG, StepKind.PRIZE})


class ActionSource(StrEnum):
    THRESHOLD = "threshold"
    STREAK = "streak"
    ITEM = "item"


# Results are plain frozen dataclasses rather than validated models: the engine builds them
# from values it has already checked, and a period of 100 000 subjects must not pay for
# validating them again. `to_json` is their one serialised form (Decimals as strings).


@dataclass(frozen=True, slots=True)
class DerivationStep:
    """One line of a score's explanation: what rule, which entries, and the resulting number."""

    kind: StepKind
    detail: str
    value: Decimal | None = None
    entry_ids: tuple[str, ...] = ()
    item_code: str | None = None
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class TriggeredAction:
    code: str
    label: str
    source: ActionSource


@dataclass(frozen=True, slots=True)
class IgnoredEntry:
    entry_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class SubjectResult:
    """A subject's result for one period.

    ``points`` is the 日常积分 (or accumulated 记分 in a demerit scheme) and is what carries
    over; ``total`` is the final score after weighting. ``cycle_stars`` / ``cycle_flags`` add
    this period's stars to the earlier ones of the same year.
    """

    subject_id: str
    period_key: str
    exempt: bool = False
    points: Decimal | None = None
    item_totals: dict[str, Decimal] = field(default_factory=dict)
    group_totals: dict[str, Decimal] = field(default_factory=dict)
    components: dict[ComponentKind, Decimal] = field(default_factory=dict)
    missing_evaluations: tuple[ComponentKind, ...] = ()
    total: Decimal | None = None
    vetoed: bool = False
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
    actions: tuple[TriggeredAction, ...] = ()
    ignored_entries: tuple[IgnoredEntry, ...] = ()
    derivation: tuple[DerivationStep, ...] = ()

    def to_json(self, **extra: Any) -> str:
        """The result as JSON text: numbers as exact decimal strings, enums as their values.

        ``extra`` keys are added beside the result's own (e.g. what explains it later).
        """
        text = _dumps(self)
        return f"{text[:-1]},{_dumps(extra)[1:]}" if extra else text

    def prior_json(self) -> str:
        """`to_prior()` as JSON text, built without a detour through the model."""
        return _dumps(self._prior_fields())

    def to_prior(self) -> PriorResult:
        """The part of this result that later periods need (streaks, carry-over, stars)."""
        return PriorResult.model_validate(self._prior_fields())

    def _prior_fields(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "period_key": self.period_key,
            "exempt": self.exempt,
            "total": self.total,
            "cumulative": self.points,
            "item_totals": self.item_totals,
            "group_totals": self.group_totals,
            "tier": self.tier,
            "list_color": self.list_color,
            "flags": self.flags,
            "ranks": self.ranks,
            "stars": self.stars,
            "actions": [action.code for action in self.actions],
        }


@dataclass(frozen=True, slots=True)
class Placement:
    """What the population decided for one subject: ranks, flags, prize and their steps."""

    ranks: dict[RankScope, int] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    prize: Decimal | None = None
    steps: tuple[DerivationStep, ...] = ()

    @classmethod
    def of(cls, result: SubjectResult) -> "Placement":
        steps = tuple(step for step in result.derivation if step.kind in PLACEMENT_STEPS)
        return cls(dict(result.ranks), result.flags, result.prize, steps)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Placement":
        """From a stored result (`SubjectResult.to_json`)."""
        steps = tuple(
            DerivationStep(
                kind=StepKind(step["kind"]),
                detail=step["detail"],
                value=Decimal(step["value"]) if step["value"] is not None else None,
                entry_ids=tuple(step["entry_ids"]),
                item_code=step["item_code"],
                rule=step["rule"],
            )
            for step in data.get("derivation", ())
            if step["kind"] in PLACEMENT_STEPS
        )
        prize = data.get("prize")
        return cls(
            ranks={RankScope(scope): rank for scope, rank in data.get("ranks", {}).items()},
            flags=tuple(data.get("flags", ())),
            prize=Decimal(prize) if prize is not None else None,
            steps=steps,
        )


def _decimal(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(data: object) -> str:
    # orjson writes dataclasses, enums and enum-keyed dicts natively; Decimals go through
    # `_decimal` so they stay exact strings.
    return orjson.dumps(data, default=_decimal, option=orjson.OPT_NON_STR_KEYS).decode()
