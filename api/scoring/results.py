"""What the engine returns per subject, with the derivation of every number (积分明细)."""

from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec

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
    AWARD = "award"


# Steps that need the whole population: kept even when the engine does not explain.
PLACEMENT_STEPS = frozenset({StepKind.RANK, StepKind.FLAG, StepKind.PRIZE})


class ActionSource(StrEnum):
    THRESHOLD = "threshold"
    STREAK = "streak"
    ITEM = "item"


# Results are frozen msgspec structs rather than validated models: the engine builds them from
# values it has already checked, and a period of 100 000 subjects must not pay for validating
# them again (nor for a frozen dataclass's per-field setattr). `to_json` is their one
# serialised form (Decimals as strings).


class DerivationStep(msgspec.Struct, frozen=True):
    """One line of a score's explanation: what rule, which entries, and the resulting number."""

    kind: StepKind
    detail: str
    value: Decimal | None = None
    entry_ids: tuple[str, ...] = ()
    item_code: str | None = None
    rule: str | None = None


class TriggeredAction(msgspec.Struct, frozen=True):
    code: str
    label: str
    source: ActionSource


class IgnoredEntry(msgspec.Struct, frozen=True):
    entry_id: str
    reason: str


class SubjectResult(msgspec.Struct, frozen=True):
    """A subject's result for one period.

    ``points`` is the 日常积分 (or accumulated 记分 in a demerit scheme) and is what carries
    over; ``total`` is the final score after weighting. ``cycle_stars`` / ``cycle_flags`` add
    this period's stars to the earlier ones of the same year.
    """

    subject_id: str
    period_key: str
    exempt: bool = False
    points: Decimal | None = None
    item_totals: dict[str, Decimal] = msgspec.field(default_factory=dict)
    group_totals: dict[str, Decimal] = msgspec.field(default_factory=dict)
    components: dict[ComponentKind, Decimal] = msgspec.field(default_factory=dict)
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
    ranks: dict[RankScope, int] = msgspec.field(default_factory=dict)
    flags: tuple[str, ...] = ()
    prize: Decimal | None = None
    actions: tuple[TriggeredAction, ...] = ()
    # 评先评优: None where the scheme does not say; the reason when not eligible.
    award_eligible: bool | None = None
    award_reason: str | None = None
    ignored_entries: tuple[IgnoredEntry, ...] = ()
    derivation: tuple[DerivationStep, ...] = ()

    def to_json(self, **extra: Any) -> str:
        """The result as JSON text: numbers as exact decimal strings, enums as their values.

        ``extra`` keys are added beside the result's own (e.g. what explains it later).
        """
        return self.json_bytes(**extra).decode()

    def json_bytes(self, **extra: Any) -> bytes:
        """`to_json` as UTF-8 bytes (what the database is sent)."""
        data = _ENCODER.encode(self)
        return b"%b,%b" % (data[:-1], _ENCODER.encode(extra)[1:]) if extra else data

    def prior_json(self) -> bytes:
        """`to_prior()` as UTF-8 JSON, built without a detour through the model."""
        return _ENCODER.encode(self._prior_fields())

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
            "actions": self.action_codes,
        }

    @property
    def action_codes(self) -> tuple[str, ...]:
        return tuple(action.code for action in self.actions)


class Placement(msgspec.Struct, frozen=True):
    """What the population decided for one subject: ranks, flags, prize and their steps."""

    ranks: dict[RankScope, int] = msgspec.field(default_factory=dict)
    flags: tuple[str, ...] = ()
    prize: Decimal | None = None
    steps: tuple[DerivationStep, ...] = ()

    @classmethod
    def of(cls, result: SubjectResult) -> "Placement":
        steps = tuple(step for step in result.derivation if step.kind in PLACEMENT_STEPS)
        return cls(dict(result.ranks), result.flags, result.prize, steps)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Placement":
        """From a stored result (`SubjectResult.to_json`), or a stored placement in its shape."""
        stored = msgspec.convert(data, _StoredPlacement)
        steps = tuple(step for step in stored.derivation if step.kind in PLACEMENT_STEPS)
        return cls(stored.ranks, stored.flags, stored.prize, steps)


class _StoredPlacement(msgspec.Struct, frozen=True):
    """What `Placement.from_json` reads of a stored result (the rest of it is ignored)."""

    ranks: dict[RankScope, int] = msgspec.field(default_factory=dict)
    flags: tuple[str, ...] = ()
    prize: Decimal | None = None
    derivation: tuple[DerivationStep, ...] = ()


def to_plain(data: object) -> Any:
    """Results, steps and placements as the JSON values they read back as (objects, arrays,
    Decimals as exact strings)."""
    return msgspec.json.decode(_ENCODER.encode(data))


# msgspec writes dataclasses, enums (by value), enum-keyed dicts and Decimals (as exact
# strings) natively, with no Python call per value: a close serialises 100 000 results.
_ENCODER = msgspec.json.Encoder()
