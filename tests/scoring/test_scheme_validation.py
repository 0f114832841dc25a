"""Invalid schemes are refused with a validation error that names the offending field."""

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from api.scoring.presets import PRESETS
from api.scoring.scheme import Scheme, problem_location

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


def _refusal(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each problem of a refused definition: where it lies, and what its check says (for
    pydantic's own checks, the error's type)."""
    with pytest.raises(ValidationError) as raised:
        Scheme.model_validate(data)
    return [
        (
            ".".join(str(part) for part in problem_location(error)),
            str(error.get("ctx", {}).get("error", error["type"])),
        )
        for error in raised.value.errors()
    ]


@pytest.mark.parametrize(
    ("path", "value", "where", "message"),
    [
        ("items.1.code", "help", "items.1.code", "事项代码 'help' 重复"),
        ("components.1.weight", "0.2", "components", "「权重」合计为 0.9，应为 1"),
        ("components.0.kind", "self", "components", "日常积分 'daily' 须列入构成并设权重"),
        (
            "tiering.bands",
            [
                {"min": "50", "tier": "good"},
                {"min": "60", "tier": "good"},
                {"min": None, "tier": "poor"},
            ],
            "tiering.bands.1.min",
            "分数段应按「下限」从高到低排列，60 不低于上一段的 50",
        ),
        (
            "tiering.bands",
            [
                {"min": "60", "tier": "good"},
                {"min": "60", "tier": "poor"},
                {"min": None, "tier": "poor"},
            ],
            "tiering.bands.1.min",
            "分数段应按「下限」从高到低排列，60 不低于上一段的 60",
        ),
        (
            "tiering.bands.1",
            {"min": "40", "tier": "poor"},
            "tiering.bands.1.min",
            "最后一个分数段的「下限」应为空（即以下全部）",
        ),
        (
            "tiering.bands",
            [{"min": None, "tier": "good"}, {"min": None, "tier": "poor"}],
            "tiering.bands.0.min",
            "只有最后一个分数段的「下限」可以为空",
        ),
        (
            "tiering.bands",
            [{"min": "60", "tier": "poor"}, {"min": None, "tier": "good"}],
            "tiering.bands.1.tier",
            "分数段从高到低、等次应从好到差，本段的 'good' 好于上一段的 'poor'",
        ),
        (
            "tiering.bands.0.tier",
            "great",
            "tiering.bands.0.tier",
            "没有等次 'great'（可选：'good'、'poor'）",
        ),
        (
            "tiering.tiers.1.code",
            "good",
            "tiering.tiers.1.code",
            "等次代码 'good' 重复",
        ),
        (
            "items.0",
            {"code": "help", "name": "帮扶", "kind": "bonus", "min_points": "5", "max_points": "2"},
            "items.0.min_points",
            "事项 'help' 的「最低分」5 高于「最高分」2",
        ),
        (
            "items.0",
            {"code": "help", "name": "帮扶", "kind": "bonus", "points": "2", "max_points": "4"},
            "items.0.points",
            "事项 'help' 的「分值」与「最低分」「最高分」只能填一种",
        ),
        (
            "items.0",
            {"code": "help", "name": "帮扶", "kind": "bonus", "min_points": "1"},
            "items.0.max_points",
            "事项 'help' 须填「分值」，或同时填「最低分」「最高分」",
        ),
        (
            "items.2.cap_per_period",
            "1",
            "items.2.cap_per_period",
            "一票否决事项 'veto' 不设「分值」「最低分」「最高分」「每期上限」",
        ),
        ("items.0.group", "other", "items.0.group", "没有分组 'other'（可选：'key'）"),
        (
            "items.0.categories",
            ["cadre"],
            "items.0.categories.0",
            "没有类别 'cadre'（方案中还没有类别）",
        ),
        (
            "tiering.rules.0.when.any_of.0.group",
            "innovation",
            "tiering.rules.0.when.any_of.0.group",
            "没有分组 'innovation'（可选：'key'）",
        ),
        (
            "tiering.rules.0.when.any_of.0",
            {"measure": "flag", "flag": "bottom"},
            "tiering.rules.0.when.any_of.0.measure",
            "降档规则只能按总分、分组得分或事项得分判断，不能按 'flag'",
        ),
        (
            "streaks.0.when.all_of.0",
            {"measure": "item", "item": "nothing", "op": "gt", "value": "0"},
            "streaks.0.when.all_of.0.item",
            "没有事项 'nothing'（可选：'help'、'absent'、'veto'）",
        ),
        (
            "streaks.0.when.all_of.0.flag",
            "top_percent",
            "streaks.0.when.all_of.0.flag",
            "没有标记 'top_percent'（可选：'bottom'）",
        ),
        (
            "streaks.0.when.all_of.0",
            {"measure": "tier", "value": "fine"},
            "streaks.0.when.all_of.0.value",
            "没有等次 'fine'（可选：'good'、'poor'）",
        ),
        ("streaks.0.when", {}, "streaks.0.when", "「任一条件」「全部条件」至少填一项"),
        (
            "ranking.primary",
            "town",
            "ranking.primary",
            "没有排名范围 'town'（可选：'branch'）",
        ),
        (
            "ranking.first_place_flag",
            "bottom",
            "ranking.first_place_flag",
            "'bottom' 是系统自带的标记，请换一个代码",
        ),
        (
            "tiering",
            None,
            "items.2.kind",
            "方案未设「等次评定」，不能有一票否决事项 'veto'",
        ),
        (
            "items.1.declarable",
            True,
            "items.1.approval_steps",
            "可申报的事项 'absent' 须设「审批步骤」",
        ),
        (
            "items.1.approval_steps",
            ["group_leader", "branch_committee", "group_leader"],
            "items.1.approval_steps.2",
            "事项 'absent' 的审批步骤 'group_leader' 重复",
        ),
        ("items.0.points", "-2", "items.0.points", "greater_than"),
        ("period", "week", "period", "enum"),
        ("colour", "red", "colour", "extra_forbidden"),
        (
            "thresholds",
            [
                {"at": "9", "action": {"code": "b", "label": "b"}},
                {"at": "6", "action": {"code": "a", "label": "a"}},
            ],
            "thresholds.1.at",
            "阈值应从低到高排列，6 不高于上一个的 9",
        ),
        (
            "thresholds",
            [{"at": "6", "action": {"code": "talk", "label": "谈话"}}],
            "streaks.0.action.code",
            "处理代码 'talk' 重复",
        ),
        (
            "scoring",
            {"mode": "additive", "minimum": "10", "maximum": "5"},
            "scoring.minimum",
            "「最低分」10 高于「最高分」5",
        ),
        (
            "scoring",
            {"mode": "additive", "base": "60", "minimum": "70"},
            "scoring.base",
            "「基础分」60 低于「最低分」70",
        ),
        (
            "scoring",
            {"mode": "additive", "base": "60", "maximum": "50"},
            "scoring.base",
            "「基础分」60 高于「最高分」50",
        ),
        (
            "scoring",
            {"mode": "demerit", "base": "12"},
            "scoring.base",
            "累计记分从 0 分记起，「基础分」不能是 12",
        ),
        (
            "scoring",
            {"mode": "demerit", "minimum": "0"},
            "scoring.minimum",
            "累计记分不设「最低分」",
        ),
        ("scoring", {"mode": "demerit"}, "components", "累计记分的方案不设加权构成"),
        (
            "ranking.scopes",
            ["branch", "branch"],
            "ranking.scopes",
            "排名范围 'branch' 重复",
        ),
        (
            "ranking.prizes",
            [{"min": "90", "amounts": ["600"]}, {"min": "95", "amounts": ["500"]}],
            "ranking.prizes.1.min",
            "奖金段应按「下限」从高到低排列，95 不低于上一段的 90",
        ),
        (
            "stars",
            {"bands": [{"min": "90", "stars": 2}, {"min": "80", "stars": 2}]},
            "stars.bands.1.stars",
            "下限越低、星数应越少，2 颗不少于上一段的 2 颗",
        ),
        (
            "stars",
            {"bands": [{"min": "80", "stars": 2}, {"min": "90", "stars": 1}]},
            "stars.bands.1.min",
            "星级分数段应按「下限」从高到低排列，90 不低于上一段的 80",
        ),
    ],
)
def test_an_invalid_scheme_is_refused_in_chinese_at_the_field(
    path: str, value: Any, where: str, message: str
) -> None:
    assert _refusal(_with(path, value)) == [(where, message)]


def test_a_scheme_is_frozen() -> None:
    scheme = Scheme.model_validate(VALID)
    with pytest.raises(ValidationError):
        scheme.name = "改名"  # type: ignore[misc]


def test_a_rank_condition_must_use_a_ranked_scope() -> None:
    rank = {"measure": "rank", "scope": "town", "op": "le", "value": 3}
    assert _refusal(_with("streaks.0.when.all_of.0", rank)) == [
        ("streaks.0.when.all_of.0.scope", "没有排名范围 'town'（可选：'branch'）")
    ]


def test_an_item_action_may_not_reuse_a_streak_code() -> None:
    data = _with("items.1.action", {"code": "talk", "label": "谈话"})
    assert _refusal(data) == [("items.1.action.code", "处理代码 'talk' 已用于阈值或连续规则")]
