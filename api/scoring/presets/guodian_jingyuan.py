"""国电靖远公司 党员积分制考核 (seed 004, part 1): members, yearly, 100-point scale.

日常积分, 民主评议, 党组织评定 and 党员自评; the top 20% of a branch get priority for awards,
training and promotion. Choices where the seed leaves numbers open: daily base 60 on 0–100,
the item points, and the weights daily 0.4, 民主评议 0.3, 党组织评定 0.2, 自评 0.1 (a missing
自评 is left out and the other weights scaled up; the others must be given). (The same
seed grades branches A/B/C/D without thresholds; that grading is not part of this scheme.)
"""

from api.scoring.scheme import Scheme

SCHEME = Scheme.model_validate(
    {
        "slug": "guodian_jingyuan",
        "name": "国电靖远公司党员积分制考核",
        "subject_kind": "member",
        "period": "year",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "60", "minimum": "0", "maximum": "100"},
        "items": [
            {
                "code": "activity_day",
                "name": "参加党员活动日",
                "kind": "bonus",
                "points": "1",
                "cap_per_period": "12",
            },
            {
                "code": "theme_activity",
                "name": "完成主题活动",
                "kind": "bonus",
                "points": "2",
                "cap_per_period": "8",
            },
            {
                "code": "pioneer_post",
                "name": "党员责任区、攻关项目、示范工程、突击队中表现突出",
                "kind": "bonus",
                "min_points": "2",
                "max_points": "10",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": ["group_leader", "branch_committee"],
            },
            {
                "code": "online_exam",
                "name": "在线培训考试合格",
                "kind": "bonus",
                "points": "2",
                "cap_per_period": "4",
            },
            {
                "code": "org_life_absent",
                "name": "无故缺席组织生活",
                "kind": "deduction",
                "points": "3",
            },
            {
                "code": "dues_late",
                "name": "未按时交纳党费",
                "kind": "deduction",
                "points": "2",
            },
        ],
        "components": [
            {"kind": "daily", "weight": "0.4"},
            {"kind": "mutual", "weight": "0.3", "when_unrated": "required"},
            {"kind": "committee", "weight": "0.2", "when_unrated": "required"},
            {"kind": "self", "weight": "0.1", "when_unrated": "exclude"},
        ],
        "ranking": {
            "scopes": ["group", "branch"],
            "primary": "branch",
            "top_percent": "0.2",
        },
    }
)
