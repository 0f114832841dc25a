"""涌溪 流动红旗: prizes by place and band, red flag to first, last-place counts in the year."""

from decimal import Decimal

from api.scoring import Entry, SubjectResult
from api.scoring.presets import PRESETS
from tests.scoring.factories import D, Ledger, Timeline, action_codes, branch, run

SCHEME = PRESETS["yongxi"]
_INDICATORS = [
    ("party_building", 20),
    ("poverty_alleviation", 15),
    ("family_planning", 10),
    ("social_governance", 10),
    ("work_safety", 10),
    ("civil_affairs", 10),
    ("village_stationed", 10),
    ("sanitation", 5),
    ("finance_tax", 5),
    ("clean_governance", 5),
]


def _scored(ledger: Ledger, branch_id: str, total: str) -> list[Entry]:
    """Entries over the ten indicators adding up to ``total``; the first ones absorb the gap."""
    shortfall = 100 - D(total)
    entries: list[Entry] = []
    for code, full in _INDICATORS:
        lost = min(D(full), shortfall)
        shortfall -= lost
        if full - lost > 0:
            entries.append(ledger.add(branch_id, code, full - lost))
    return entries


def _period(totals: dict[str, str], key: str = "2024-B1") -> dict[str, SubjectResult]:
    ledger = Ledger()
    entries = [entry for b, total in totals.items() for entry in _scored(ledger, b, total)]
    return run(SCHEME, key, [branch(b) for b in totals], entries)


def test_top_three_at_95_or_more_get_600_500_and_400_yuan() -> None:
    results = _period({"v1": "99", "v2": "97", "v3": "95", "v4": "96"})
    prizes = {key: r.prize for key, r in results.items()}
    assert prizes == {"v1": D(600), "v2": D(500), "v3": None, "v4": D(400)}


def test_top_three_between_85_and_95_get_half() -> None:
    results = _period({"v1": "94.9", "v2": "90", "v3": "85", "v4": "80"})
    prizes = {key: r.prize for key, r in results.items()}
    assert prizes == {"v1": D(300), "v2": D(250), "v3": D(200), "v4": None}


def test_the_amount_follows_each_branchs_own_band() -> None:
    results = _period({"v1": "96", "v2": "90", "v3": "84.9"})
    assert [results[key].prize for key in ("v1", "v2", "v3")] == [D(600), D(250), None]


def test_below_85_wins_nothing_but_first_place_still_takes_the_red_flag() -> None:
    results = _period({"v1": "84", "v2": "80"})
    assert results["v1"].prize is None
    assert "red_flag" in results["v1"].flags
    assert "red_flag" not in results["v2"].flags


def test_only_first_place_gets_the_red_flag() -> None:
    results = _period({"v1": "99", "v2": "98", "v3": "70"})
    holders = sorted(key for key, r in results.items() if "red_flag" in r.flags)
    assert holders == ["v1"]


def test_last_place_below_85_leads_to_statement_then_no_year_end_then_accountability() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("v1"), branch("v2")])
    periods = ["2024-B1", "2024-B2", "2024-B3", "2024-B4", "2024-B5"]
    last_place_below_85 = {"2024-B1", "2024-B3", "2024-B4", "2024-B5"}
    actions = []
    for key in periods:
        total = "80" if key in last_place_below_85 else "99"
        entries = [*_scored(ledger, "v1", "98"), *_scored(ledger, "v2", total)]
        actions.append(action_codes(timeline.run(key, entries)["v2"]))
    assert actions == [
        ["statement"],
        [],
        ["no_year_end_award"],
        ["accountability"],
        ["accountability"],
    ]


def test_the_last_place_count_restarts_each_year() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("v1"), branch("v2")])
    for key in ("2024-B5", "2024-B6", "2025-B1"):
        entries = [*_scored(ledger, "v1", "98"), *_scored(ledger, "v2", "80")]
        last = timeline.run(key, entries)["v2"]
    assert action_codes(last) == ["statement"]


def test_last_place_at_85_or_more_brings_no_statement() -> None:
    results = _period({"v1": "98", "v2": "85"})
    assert "bottom" in results["v2"].flags
    assert action_codes(results["v2"]) == []


def test_consecutive_red_flags_raise_the_branch_funds() -> None:
    ledger = Ledger()
    timeline = Timeline(SCHEME, [branch("v1"), branch("v2")])
    first = timeline.run("2024-B1", [*_scored(ledger, "v1", "98"), *_scored(ledger, "v2", "90")])
    second = timeline.run("2024-B2", [*_scored(ledger, "v1", "97"), *_scored(ledger, "v2", "90")])
    assert action_codes(first["v1"]) == []
    assert action_codes(second["v1"]) == ["more_funds"]
    assert second["v1"].prize == Decimal(600)
