"""What the engine is given for one period: subjects, ledger entries, evaluations, history.

Sign convention for entries: ``points`` is the *magnitude* of one occurrence of the item,
never negative (a 扣分 of 2 is ``2``, a 加分 of 3 is ``3``, a veto carries ``0``); the item's
kind gives the direction. A reversal (撤销, e.g. after an upheld appeal) is a new entry with
``reverses`` set to the reversed entry's id and ``points`` equal to minus that entry's points,
so a plain sum over the ledger nets to zero. The caller passes the entries attributed to the
period; a reversal whose original was in an earlier period is checked against the item only.

An entry may also be a *tally* of several ledger rows of one subject and item (``count``
occurrences net of reversals, ``points`` their net sum, ``ledger_ids`` the rows), which is how
a period of millions of rows is scored without an object per row.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Self

import msgspec
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.scoring.scheme import ComponentKind, ListColor, PoliticalStatus, RankScope


class ScoringInputError(ValueError):
    """The inputs are inconsistent (duplicate ids, a broken reversal, an unknown subject)."""


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Subject:
    """A member or a branch being scored. Exempt subjects (不纳入积分) are not ranked or tiered.

    A checked dataclass, like `Entry`: a county's close builds 100 000 of them.
    """

    id: str
    name: str
    category: str | None = None
    political_status: PoliticalStatus | None = None
    group_id: str | None = None
    branch_id: str | None = None
    exempt: bool = False

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("subject id: must not be empty")
        status = self.political_status
        if status is not None and type(status) is not PoliticalStatus:
            # The database's own enum, or a stored value: the scheme's enum of the same values.
            object.__setattr__(self, "political_status", PoliticalStatus(status))


class Entry(msgspec.Struct, frozen=True):
    """One ledger entry; see the module docstring for the sign convention.

    A checked struct rather than a model: a period of 100 000 members has some 700 000 of them,
    and a model's (or a frozen dataclass's) construction costs more than their scoring.
    """

    id: str
    subject_id: str
    item_code: str
    points: Decimal
    reverses: str | None = None
    count: int = 1
    ledger_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("entry id: must not be empty")
        if self.count < 0:
            raise ValueError(f"entry {self.id!r}: count is never negative")
        if self.count != 1 and self.reverses is not None:
            raise ValueError(f"entry {self.id!r}: a tally is already net of its reversals")
        if self.reverses is None and self.points < 0:
            raise ValueError(f"entry {self.id!r}: points are a magnitude, never negative")
        if self.reverses is not None and self.points > 0:
            raise ValueError(f"entry {self.id!r}: a reversal carries minus the reversed points")
        if self.reverses == self.id:
            raise ValueError(f"entry {self.id!r}: an entry cannot reverse itself")

    @classmethod
    def tally(
        cls,
        subject_id: str,
        item_code: str,
        points: Decimal,
        count: int,
        ledger_ids: Iterable[int],
    ) -> Self:
        """The net of a subject's ledger rows of one item, as the database summed them."""
        rows = tuple(map(str, ledger_ids)) if ledger_ids else ()
        return cls(f"{subject_id}:{item_code}", subject_id, item_code, points, None, count, rows)

    @property
    def is_reversal(self) -> bool:
        return self.reverses is not None

    @property
    def rows(self) -> tuple[str, ...]:
        """The ledger rows this entry stands for."""
        return self.ledger_ids or (self.id,)


class EvaluationResult(InputModel):
    """The aggregated score of one evaluation kind (自评/互评/商评/总评) for one subject."""

    subject_id: str
    kind: ComponentKind
    score: Decimal

    @model_validator(mode="after")
    def _check_kind(self) -> Self:
        if self.kind is ComponentKind.DAILY:
            raise ValueError("evaluation kind: daily points come from entries, not evaluations")
        return self


class PriorResult(InputModel):
    """A subject's stored result of an earlier period (see ``SubjectResult.to_prior``)."""

    subject_id: str
    period_key: str
    exempt: bool = False
    total: Decimal | None = None
    cumulative: Decimal | None = None
    item_totals: dict[str, Decimal] = Field(default_factory=dict)
    group_totals: dict[str, Decimal] = Field(default_factory=dict)
    tier: str | None = None
    list_color: ListColor | None = None
    flags: tuple[str, ...] = ()
    ranks: dict[RankScope, int] = Field(default_factory=dict)
    stars: int | None = None
    actions: tuple[str, ...] = ()
