"""Periods: scoring a period, closing (结算), publishing (公示), reopening, reading results.

The engine (`api.scoring`) does the arithmetic; this package feeds it and keeps its outputs.
Each module has one job:

- `scope`: a period's scheme in force and its owner unit, and the engine's view of the period;
- `gateway`: every query the engine's inputs need (the one PostgreSQL/SQLite fork of reading);
- `compute`: the engine run over a whole scope, or over some members alone;
- `stored`: the types of a stored result, decoded once where a row is read;
- `snapshot`: writing a close's rows (COPY or INSERT) and reading them back typed;
- `lifecycle` (with `closing`, what a close decides of what is still waiting): close, publish,
  reopen and their audit;
- `results`: the results pages and a member's result, with derivations rebuilt on read;
- `what_if`: a draft scheme over a closed period;
- `live`: a member's live score, with ranks the worker refreshes each minute.

Other code uses only the names below.
"""

from api.services.periods.closing import Check
from api.services.periods.compute import running_results, standings
from api.services.periods.lifecycle import close, pre_close, publish, reopen
from api.services.periods.live import (
    REFRESH_SECONDS,
    LiveScore,
    live_score,
    refresh_all,
    refresh_scheme,
    schemes_to_rank,
    store_placements,
)
from api.services.periods.results import ShownResult, explained, member_result, results
from api.services.periods.scope import Scope, current_period, engine_period, period_for, scope_of
from api.services.periods.snapshot import (
    MemberResult,
    NamedResult,
    assessed_branches,
    member_results,
    named_results,
)
from api.services.periods.stored import BoardResult, Explanation, StoredResult, plain
from api.services.periods.what_if import Change, what_if

__all__ = [
    "REFRESH_SECONDS",
    "BoardResult",
    "Change",
    "Check",
    "Explanation",
    "LiveScore",
    "MemberResult",
    "NamedResult",
    "Scope",
    "ShownResult",
    "StoredResult",
    "assessed_branches",
    "close",
    "current_period",
    "engine_period",
    "explained",
    "live_score",
    "member_result",
    "member_results",
    "named_results",
    "period_for",
    "plain",
    "pre_close",
    "publish",
    "refresh_all",
    "refresh_scheme",
    "reopen",
    "results",
    "running_results",
    "schemes_to_rank",
    "scope_of",
    "standings",
    "store_placements",
    "what_if",
]
