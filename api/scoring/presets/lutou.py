"""路头村 党员积分制 (seed 002): members in categories A–D, monthly, reset at month end.

积分 = 基础分 + 加分 − 扣分. Members declare (党员自主申报), the village group collects
(村小组收集汇总) and the party assembly decides (党员大会评定). Members below the branch
average get an organisation talk. Choices where the seed leaves numbers open: base 60 and
the points and monthly caps of each item.
"""

from api.scoring.scheme import Scheme

_DECLARED = {
    "declarable": True,
    "evidence_required": True,
    "approval_steps": ["group_leader", "branch_assembly"],
}

SCHEME = Scheme.model_validate(
    {
        "slug": "lutou",
        "name": "路头村农村党员积分制管理",
        "subject_kind": "member",
        "period": "month",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "60", "minimum": "0"},
        "categories": ["A", "B", "C", "D"],
        "items": [
            {
                "code": "flood_fighting",
                "name": "参加防汛抢险",
                "kind": "bonus",
                "points": "5",
                "cap_per_period": "10",
                **_DECLARED,
            },
            {
                "code": "forest_fire",
                "name": "参加森林防火",
                "kind": "bonus",
                "points": "5",
                "cap_per_period": "10",
                **_DECLARED,
            },
            {
                "code": "village_cleaning",
                "name": "参加村容村貌环境卫生整治",
                "kind": "bonus",
                "points": "2",
                "cap_per_period": "6",
                **_DECLARED,
            },
            {
                "code": "lead_to_prosperity",
                "name": "带领群众致富",
                "kind": "bonus",
                "min_points": "2",
                "max_points": "10",
                **_DECLARED,
            },
            {
                "code": "collective_income",
                "name": "助力村集体经济增收",
                "kind": "bonus",
                "min_points": "2",
                "max_points": "10",
                "categories": ["A", "B"],
                **_DECLARED,
            },
            {
                "code": "civic_virtue",
                "name": "在弘扬新风正气评选中获评",
                "kind": "bonus",
                "points": "5",
                **_DECLARED,
            },
            {
                "code": "cadre_duty",
                "name": "村组干部、驻村工作队党员履职尽责",
                "kind": "bonus",
                "points": "5",
                "categories": ["A"],
                **_DECLARED,
            },
            {
                "code": "mobile_contact",
                "name": "流动党员按月与支部联系、参加线上学习",
                "kind": "bonus",
                "points": "2",
                "categories": ["C"],
                **_DECLARED,
            },
            {
                "code": "elder_participation",
                "name": "年老体弱党员表达意愿、参加力所能及的活动",
                "kind": "bonus",
                "points": "2",
                "categories": ["D"],
                **_DECLARED,
            },
            {
                "code": "theme_day_absent",
                "name": "无故不参加主题党日",
                "kind": "deduction",
                "points": "5",
            },
            {
                "code": "dues_late",
                "name": "未按时交纳党费",
                "kind": "deduction",
                "points": "3",
            },
            {
                "code": "negative_conduct",
                "name": "言行不当造成不良影响",
                "kind": "deduction",
                "min_points": "2",
                "max_points": "10",
            },
        ],
        "streaks": [
            {
                "when": {"all_of": [{"measure": "flag", "flag": "below_average"}]},
                "count": 1,
                "action": {"code": "organisation_talk", "label": "低于平均分,组织谈话"},
            },
        ],
        "ranking": {
            "scopes": ["group", "branch"],
            "primary": "branch",
            "flag_below_average": True,
        },
    }
)
