"""积分规则引擎 The rule engine: pure functions and Pydantic models, no database or HTTP.

``Scheme`` describes a points system (presets in ``api.scoring.presets``); ``compute_period``
scores one period; ``period_containing`` finds the period of a moment in Asia/Shanghai.
"""

from api.scoring.engine import (
    RankedPeriod,
    compute_period,
    explain_subject,
    rank_period,
)
from api.scoring.inputs import Entry, EvaluationResult, PriorResult, ScoringInputError, Subject
from api.scoring.periods import Period, period_containing, period_from_key, period_of_key
from api.scoring.results import (
    DerivationStep,
    Placement,
    StepKind,
    SubjectResult,
    TriggeredAction,
)
from api.scoring.scheme import Scheme

__all__ = [
    "DerivationStep",
    "Entry",
    "EvaluationResult",
    "Period",
    "Placement",
    "PriorResult",
    "RankedPeriod",
    "Scheme",
    "ScoringInputError",
    "StepKind",
    "Subject",
    "SubjectResult",
    "TriggeredAction",
    "compute_period",
    "explain_subject",
    "period_containing",
    "period_from_key",
    "period_of_key",
    "rank_period",
]
