"""成庄矿 清单管理·台阶考核 (seed 004, part 3): branches, quarterly, checklist of 110 points.

重点项 45, 基础项 55, 创新项 10 (the 11 自主项 are not scored and not listed). Steps: [70, 80)
coefficient 0.8, [80, 90) 0.9, [90, 110] 1.0 on the secretary's assessed pay; total < 70 or
重点项 < 40 → coefficient 0.7 and self-examination; total < 60 or 重点项 < 35 → 诫勉谈话,
two consecutive quarters → 免职, three → 撤职. Choices where the seed leaves numbers open: a
representative five items per level, each worth an equal share of its level; the assessed pay
of second-line secretaries is 2000 yuan (the seed's figure is garbled, "20xx").
"""

from api.scoring.scheme import Scheme

_FAILING = {
    "any_of": [
        {"measure": "total", "op": "lt", "value": "60"},
        {"measure": "group", "group": "key", "op": "lt", "value": "35"},
    ]
}


def _checklist_item(code: str, name: str, group: str, max_points: str) -> dict[str, object]:
    return {
        "code": code,
        "name": name,
        "kind": "bonus",
        "min_points": "0",
        "max_points": max_points,
        "cap_per_period": max_points,
        "group": group,
    }


SCHEME = Scheme.model_validate(
    {
        "slug": "chengzhuang",
        "name": "成庄矿基层支部工作清单管理台阶考核",
        "subject_kind": "branch",
        "period": "quarter",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "0", "minimum": "0", "maximum": "110"},
        "categories": ["frontline", "second_line", "surface"],
        "groups": [
            {"code": "key", "name": "一级清单·重点项", "max_points": "45"},
            {"code": "basic", "name": "二级清单·基础项", "max_points": "55"},
            {"code": "innovation", "name": "三级清单·创新项", "max_points": "10"},
        ],
        "items": [
            _checklist_item("key_two_duties", "落实党风廉政建设“两个责任”", "key", "9"),
            _checklist_item("key_eight_rules", "贯彻中央八项规定精神", "key", "9"),
            _checklist_item("key_three_meetings", "落实“三会一课”制度", "key", "9"),
            _checklist_item("key_safety", "服务安全生产,落实党政同责", "key", "9"),
            _checklist_item("key_stability", "抓好综治维稳第一责任", "key", "9"),
            _checklist_item("basic_study", "政治学习与形势任务教育", "basic", "11"),
            _checklist_item("basic_org_life", "组织生活会与民主评议党员", "basic", "11"),
            _checklist_item("basic_dues", "党费收缴与管理", "basic", "11"),
            _checklist_item("basic_members", "发展党员与党员教育管理", "basic", "11"),
            _checklist_item("basic_records", "支部工作台账资料", "basic", "11"),
            _checklist_item(
                "innovation_project", "创新项目(支部申报、部门验收、效果评估)", "innovation", "10"
            ),
        ],
        "tiering": {
            "tiers": [
                {"code": "step_3", "label": "第三台阶", "coefficient": "1.0"},
                {"code": "step_2", "label": "第二台阶", "coefficient": "0.9"},
                {"code": "step_1", "label": "第一台阶", "coefficient": "0.8"},
                {"code": "below", "label": "未达台阶", "coefficient": "0.7"},
            ],
            "bands": [
                {"min": "90", "tier": "step_3"},
                {"min": "80", "tier": "step_2"},
                {"min": "70", "tier": "step_1"},
                {"min": None, "tier": "below"},
            ],
            "rules": [
                {
                    "when": {
                        "any_of": [{"measure": "group", "group": "key", "op": "lt", "value": "40"}]
                    },
                    "tier": "below",
                }
            ],
            "pay_by_category": {"frontline": "3000", "second_line": "2000", "surface": "1000"},
        },
        "streaks": [
            {
                "when": {
                    "any_of": [
                        {"measure": "total", "op": "lt", "value": "70"},
                        {"measure": "group", "group": "key", "op": "lt", "value": "40"},
                    ]
                },
                "count": 1,
                "action": {
                    "code": "self_examination",
                    "label": "支部书记在政工例会上做自我反思检查",
                },
            },
            {
                "when": {
                    "any_of": [
                        {"measure": "flag", "flag": "bottom"},
                        {"measure": "total", "op": "lt", "value": "70"},
                    ]
                },
                "count": 1,
                "action": {"code": "mine_notice", "label": "排名末位或低于最低标准分,全矿通报"},
            },
            {
                "when": _FAILING,
                "count": 1,
                "action": {"code": "admonition", "label": "矿党委对支部书记诫勉谈话"},
            },
            {
                "when": _FAILING,
                "count": 2,
                "match": "exactly",
                "action": {"code": "removal", "label": "连续两个季度不达标,支部书记免职"},
            },
            {
                "when": _FAILING,
                "count": 3,
                "action": {"code": "dismissal", "label": "连续三个季度不达标,支部书记撤职"},
            },
        ],
        "ranking": {"scopes": ["town"], "primary": "town", "flag_bottom": True},
    }
)
