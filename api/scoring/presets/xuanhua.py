"""宣化镇 “341”工作法 (seed 003): members, every half year, 红星 and 红旗.

三亮 (亮身份、亮承诺、亮风尚) feed the points; 四评 each half year: 自评, 互评, 商评 (village
两委 score each member). Stars: ≥90 three, 70–89 two, 60–69 one, ≤59 none; two stars make one
红旗. The year-end 总评 is a separate yearly assembly and not part of the half-year score.
Choices where the seed leaves numbers open: base 60, the item points, and the weights points
0.3, 自评 0.1, 互评 0.3, 商评 0.3; a member who gave no 自评 is scored on the other parts
(weights scaled up), while 互评 and 商评 must be given before a round closes.
"""

from api.scoring.scheme import Scheme

SCHEME = Scheme.model_validate(
    {
        "slug": "xuanhua",
        "name": "宣化镇“三亮四评一争创”",
        "subject_kind": "member",
        "period": "half_year",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "60", "minimum": "0", "maximum": "100"},
        "items": [
            {
                "code": "commitment_kept",
                "name": "亮承诺:公开承诺事项兑现",
                "kind": "bonus",
                "min_points": "1",
                "max_points": "20",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": ["branch_committee"],
            },
            {
                "code": "good_deed",
                "name": "亮风尚:善行义举、优良家风受到表彰",
                "kind": "bonus",
                "min_points": "2",
                "max_points": "10",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": ["branch_committee"],
            },
            {
                "code": "badge_worn",
                "name": "亮身份:重要会议和活动佩戴党员徽章",
                "kind": "bonus",
                "points": "1",
                "cap_per_period": "3",
            },
            {
                "code": "public_welfare",
                "name": "支持村级公益事业",
                "kind": "bonus",
                "points": "3",
                "cap_per_period": "9",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": ["branch_committee"],
            },
            {
                "code": "poverty_help",
                "name": "脱贫帮扶、帮贫助困",
                "kind": "bonus",
                "points": "5",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": ["branch_committee"],
            },
            {
                "code": "org_life_absent",
                "name": "无故不参加组织生活",
                "kind": "deduction",
                "points": "5",
            },
            {
                "code": "commitment_broken",
                "name": "承诺事项未兑现",
                "kind": "deduction",
                "points": "5",
            },
            {
                "code": "public_order_breach",
                "name": "违反公序良俗、家风不正",
                "kind": "deduction",
                "min_points": "3",
                "max_points": "10",
            },
        ],
        "components": [
            {"kind": "daily", "weight": "0.3"},
            {"kind": "self", "weight": "0.1", "when_unrated": "exclude"},
            {"kind": "mutual", "weight": "0.3", "when_unrated": "required"},
            {"kind": "committee", "weight": "0.3", "when_unrated": "required"},
        ],
        "evaluation": {"rate_commitments": True},
        "stars": {
            "bands": [
                {"min": "90", "stars": 3},
                {"min": "70", "stars": 2},
                {"min": "60", "stars": 1},
            ],
            "stars_per_flag": 2,
        },
        "ranking": {"scopes": ["group", "branch"], "primary": "branch"},
    }
)
