"""泥屯镇 党员“红黄榜” (seed 000): members, quarterly, 红线/底线/高线.

Choices where the seed leaves numbers open: base 70 on a 0–100 scale; 底线 deductions 3 or 5
and 高线 additions 3 or 5 per occurrence; the score weights the branch's points 0.6 and the
mutual evaluation (党员互评) 0.4, which every member must be given; the 共产党员户 plaque
after 4 consecutive 一类 quarters.
``VILLAGE_SCHEME`` classes villages the same way, with the year-end money per class.
"""

from api.scoring.scheme import Scheme

_DECIDED_BY_BRANCH = ["group_leader", "branch_committee"]

_TIERS = [
    {"code": "first", "label": "一类", "list_color": "red"},
    {"code": "second", "label": "二类", "list_color": "red"},
    {"code": "third", "label": "三类"},
    {"code": "fourth", "label": "四类", "list_color": "yellow"},
]
_BANDS = [
    {"min": "80", "tier": "first"},
    {"min": "60", "tier": "second"},
    {"min": None, "tier": "third"},
]

SCHEME = Scheme.model_validate(
    {
        "slug": "nitun",
        "name": "泥屯镇党员“红黄榜”",
        "subject_kind": "member",
        "period": "quarter",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "70", "minimum": "0", "maximum": "100"},
        "groups": [
            {"code": "red_line", "name": "红线(一票否决)"},
            {"code": "bottom_line", "name": "底线(六个不准)"},
            {"code": "high_line", "name": "高线(正向加分)"},
        ],
        "items": [
            {
                "code": "red_interests",
                "name": "违背党和人民利益高于一切、个人利益服从集体利益",
                "kind": "veto",
                "group": "red_line",
            },
            {
                "code": "red_masses",
                "name": "脱离群众,不维护群众正当利益",
                "kind": "veto",
                "group": "red_line",
            },
            {
                "code": "red_formalism",
                "name": "搞形式主义、官僚主义、享乐主义和奢靡之风",
                "kind": "veto",
                "group": "red_line",
            },
            {
                "code": "no_discipline_breach",
                "name": "违反组织纪律",
                "kind": "deduction",
                "points": "5",
                "group": "bottom_line",
            },
            {
                "code": "no_image_damage",
                "name": "损害党员形象",
                "kind": "deduction",
                "points": "5",
                "group": "bottom_line",
            },
            {
                "code": "no_harm_to_masses",
                "name": "侵害群众利益",
                "kind": "deduction",
                "points": "5",
                "group": "bottom_line",
            },
            {
                "code": "no_littering",
                "name": "破坏环境卫生",
                "kind": "deduction",
                "points": "3",
                "group": "bottom_line",
            },
            {
                "code": "no_instability",
                "name": "影响社会稳定",
                "kind": "deduction",
                "points": "5",
                "group": "bottom_line",
            },
            {
                "code": "no_bad_customs",
                "name": "破坏公序良俗",
                "kind": "deduction",
                "points": "3",
                "group": "bottom_line",
            },
            {
                "code": "suggestion_adopted",
                "name": "主动提出建议并被采纳后取得实效",
                "kind": "bonus",
                "points": "3",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
            {
                "code": "outstanding_work",
                "name": "岗位业绩突出",
                "kind": "bonus",
                "points": "3",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
            {
                "code": "town_honour",
                "name": "个人或单项工作获得镇及以上先进荣誉称号",
                "kind": "bonus",
                "points": "5",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
            {
                "code": "poverty_relief",
                "name": "主动参与脱贫攻坚",
                "kind": "bonus",
                "points": "3",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
            {
                "code": "bravery",
                "name": "见义勇为",
                "kind": "bonus",
                "points": "5",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
            {
                "code": "disaster_relief",
                "name": "救火救灾等急难险重任务",
                "kind": "bonus",
                "points": "5",
                "group": "high_line",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _DECIDED_BY_BRANCH,
            },
        ],
        "components": [
            {"kind": "daily", "weight": "0.6"},
            {"kind": "mutual", "weight": "0.4", "when_unrated": "required"},
        ],
        "tiering": {"tiers": _TIERS, "bands": _BANDS, "veto_tier": "fourth"},
        "streaks": [
            {
                "when": {"all_of": [{"measure": "tier", "value": "first"}]},
                "count": 4,
                "match": "exactly",
                "action": {"code": "honour_household", "label": "颁发“共产党员户”光荣牌"},
            },
            {
                "when": {"all_of": [{"measure": "tier", "value": "fourth"}]},
                "count": 2,
                "action": {
                    "code": "education_branch",
                    "label": "转入镇党性教育支部,由镇班子成员结对帮扶",
                },
            },
        ],
        "ranking": {"scopes": ["group", "branch"], "primary": "branch"},
    }
)

VILLAGE_SCHEME = Scheme.model_validate(
    {
        "slug": "nitun_villages",
        "name": "泥屯镇行政村重点工作分类评价",
        "subject_kind": "branch",
        "period": "quarter",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "0", "minimum": "0", "maximum": "100"},
        "items": [
            {
                "code": "key_task",
                "name": "重点工作季度评价得分",
                "kind": "bonus",
                "min_points": "0",
                "max_points": "100",
                "cap_per_period": "100",
            },
            {"code": "key_task_veto", "name": "重点工作出现一票否决情形", "kind": "veto"},
        ],
        "tiering": {
            "tiers": [
                {**_TIERS[0], "money": "3000", "member_money": "300"},
                {**_TIERS[1], "money": "2000", "member_money": "200"},
                {**_TIERS[2], "money": "1000", "member_money": "-100"},
                {**_TIERS[3], "money": "0", "member_money": "0"},
            ],
            "bands": _BANDS,
            "veto_tier": "fourth",
        },
        "ranking": {"scopes": ["town"], "primary": "town"},
    }
)
