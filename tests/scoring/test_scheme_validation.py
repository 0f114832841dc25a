"""Invalid schemes are refused with a validation error that names the offending field."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from api.scoring.presets import PRESETS
from api.scoring.scheme import Scheme

VALID: dict[str, Any] = {
    "slug": "sample",
    "name": "示例方案",
    "subject_kind": "member",
    "period": "quarter",
    "groups": [{"code": "key", "name": "重点项", "max_points": "40"}],
    "items": [
        {"code": "help", "name": "帮扶群众", "kind": "bonus", "points": "2", "group": "key"},
        {"code": "absent", "name": "无故缺席", "kind": "deduction", "points": "3"},
        {"code": "veto", "name": "一票否决", "kind": "veto"},
    ],
    "components": [{"kind": "daily", "weight": "0.7"}, {"kind": "mutual", "weight": "0.3"}],
    "tiering": {
        "tiers": [{"code": "good", "label": "好"}, {"code": "poor", "label": "差"}],
        "bands": [{"min": "60", "tier": "good"}, {"min": None, "tier": "poor"}],
        "rules": [
            {
                "when": {
                    "any_of": [{"measure": "group", "group": "key", "op": "lt", "value": "5"}]
                },
                "tier": "poor",
            }
        ],
    },
    "ranking": {"scopes": ["branch"], "primary": "branch", "flag_bottom": True},
    "streaks": [
        {
            "when": {"all_of": [{"measure": "flag", "flag": "bottom"}]},
            "count": 2,
            "action": {"code": "talk", "label": "谈话"},
        }
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def test_the_sample_scheme_is_valid() -> None:
    assert Scheme.model_validate(VALID).slug == "sample"


@pytest.mark.parametrize("scheme", PRESETS.values(), ids=lambda s: s.slug)
def test_every_preset_survives_a_json_round_trip(scheme: Scheme) -> None:
    assert Scheme.model_validate(scheme.model_dump(mode="json")) == scheme


def test_the_registry_holds_every_scheme_of_the_eight_seed_systems() -> None:
    assert sorted(PRESETS) == [
        "chengzhuang",
        "guodian_jingyuan",
        "heyang",
        "lutou",
        "nitun",
        "nitun_villages",
        "university",
        "xuanhua",
        "yongxi",
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("items.1.code", "help", "items: duplicate 'help'"),
        ("components.1.weight", "0.2", "components: weights sum to 0.9, not 1"),
        ("components.0.kind", "self", "the daily component must be weighted"),
        (
            "tiering.bands",
            [
                {"min": "50", "tier": "good"},
                {"min": "60", "tier": "good"},
                {"min": None, "tier": "poor"},
            ],
            "lower bounds must be strictly descending",
        ),
        (
            "tiering.bands",
            [
                {"min": "60", "tier": "good"},
                {"min": "60", "tier": "poor"},
                {"min": None, "tier": "poor"},
            ],
            "lower bounds must be strictly descending",
        ),
        ("tiering.bands.1", {"min": "40", "tier": "poor"}, "the last band must have min null"),
        (
            "tiering.bands",
            [{"min": "60", "tier": "poor"}, {"min": None, "tier": "good"}],
            "a higher band must not give a lower tier",
        ),
        ("tiering.bands.0.tier", "great", "tiering.bands: unknown 'great'"),
        (
            "items.0",
            {"code": "help", "name": "帮扶", "kind": "bonus", "min_points": "5", "max_points": "2"},
            "item 'help': min_points 5 > max_points 2",
        ),
        (
            "items.0",
            {"code": "help", "name": "帮扶", "kind": "bonus", "points": "2", "max_points": "4"},
            "give either points or min_points/max_points",
        ),
        ("items.0.group", "other", "items.help.group: unknown 'other'"),
        (
            "tiering.rules.0.when.any_of.0.group",
            "innovation",
            "tiering.rules: unknown 'innovation'",
        ),
        (
            "tiering.rules.0.when.any_of.0",
            {"measure": "flag", "flag": "bottom"},
            "a tier rule may only test total, group or item",
        ),
        (
            "streaks.0.when.all_of.0",
            {"measure": "item", "item": "nothing", "op": "gt", "value": "0"},
            "streaks.0: unknown 'nothing'",
        ),
        ("streaks.0.when.all_of.0.flag", "top_percent", "streaks.0: unknown 'top_percent'"),
        ("streaks.0.when.all_of.0", {"measure": "tier", "value": "fine"}, "unknown 'fine'"),
        ("streaks.0.when", {}, "criterion: give any_of or all_of"),
        ("ranking.primary", "town", "ranking.primary: unknown 'town'"),
        ("tiering", None, "a scheme with veto items needs tiering"),
        ("items.1.declarable", True, "a declarable item needs approval_steps"),
        ("items.0.points", "-2", "items.0.points"),
        ("period", "week", "period"),
        ("colour", "red", "colour"),
        (
            "thresholds",
            [
                {"at": "9", "action": {"code": "b", "label": "b"}},
                {"at": "6", "action": {"code": "a", "label": "a"}},
            ],
            "thresholds: values must be strictly ascending",
        ),
        (
            "scoring",
            {"mode": "additive", "minimum": "10", "maximum": "5"},
            "minimum 10 > maximum 5",
        ),
        ("scoring", {"mode": "demerit"}, "a demerit scheme takes no weighted components"),
    ],
)
def test_an_invalid_scheme_is_refused_naming_the_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Scheme.model_validate(_with(path, value))
    assert message in str(raised.value)


def test_a_scheme_is_frozen() -> None:
    scheme = Scheme.model_validate(VALID)
    with pytest.raises(ValidationError):
        scheme.name = "改名"  # type: ignore[misc]


def test_a_rank_condition_must_use_a_ranked_scope() -> None:
    rank = {"measure": "rank", "scope": "town", "op": "le", "value": 3}
    with pytest.raises(ValidationError, match=r"streaks\.0: unknown 'town'"):
        Scheme.model_validate(_with("streaks.0.when.all_of.0", rank))


def test_an_item_action_may_not_reuse_a_streak_code() -> None:
    data = _with("items.1.action", {"code": "talk", "label": "谈话"})
    with pytest.raises(ValidationError, match=r"items\.absent\.action: 'talk'"):
        Scheme.model_validate(data)
