"""高校学生党支部 积分考核制 (seed 004, part 2): activists, probationary and full members, yearly.

总分 = 日常行为积分 × 0.7 + 年度民主评议积分 × 0.3 on a 100-point scale. The daily score has
three parts, 底线约束, 民主生活 and 示范引领, with extra items per stage and one-vote-veto items.
Awards: ≥95 推荐校级, ≥90 学院优秀共产党员, ≥80 表扬; penalties: [60, 70) 公开批评,
[50, 60) 延期发展/转正, <50 延期并警告. Choices where the seed leaves numbers open: daily base
70 on 0–100 and the points of the representative items below (the seed's 31 items are not
published).
"""

from api.scoring.scheme import Scheme

_BRANCH_COMMITTEE = ["branch_committee"]

SCHEME = Scheme.model_validate(
    {
        "slug": "university",
        "name": "高校学生党支部积分考核制",
        "subject_kind": "member",
        "period": "year",
        "accumulation": "reset",
        "scoring": {"mode": "additive", "base": "70", "minimum": "0", "maximum": "100"},
        "groups": [
            {"code": "bottom_line", "name": "底线约束"},
            {"code": "democratic_life", "name": "民主生活"},
            {"code": "leading_example", "name": "示范引领"},
        ],
        "items": [
            {
                "code": "course_failed",
                "name": "专业课程考试不及格",
                "kind": "deduction",
                "points": "5",
                "group": "bottom_line",
            },
            {
                "code": "school_rules_breach",
                "name": "违反校纪校规被通报(按情节)",
                "kind": "deduction",
                "min_points": "2",
                "max_points": "10",
                "group": "bottom_line",
            },
            {
                "code": "dorm_unhygienic",
                "name": "宿舍卫生检查不合格",
                "kind": "deduction",
                "points": "2",
                "cap_per_period": "6",
                "group": "bottom_line",
            },
            {
                "code": "theory_study",
                "name": "参加党的基层理论学习",
                "kind": "bonus",
                "points": "1",
                "cap_per_period": "5",
                "group": "democratic_life",
            },
            {
                "code": "branch_life_meeting",
                "name": "参加支部民主生活会和相关活动",
                "kind": "bonus",
                "points": "1",
                "cap_per_period": "5",
                "group": "democratic_life",
            },
            {
                "code": "branch_activity_absent",
                "name": "无故缺席支部活动",
                "kind": "deduction",
                "points": "3",
                "group": "democratic_life",
            },
            {
                "code": "leading_role",
                "name": "在班级、支部发挥带头作用",
                "kind": "bonus",
                "points": "3",
                "group": "leading_example",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _BRANCH_COMMITTEE,
            },
            {
                "code": "public_service",
                "name": "参与公益服务、扶贫帮困、志愿服务",
                "kind": "bonus",
                "points": "2",
                "cap_per_period": "6",
                "group": "leading_example",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _BRANCH_COMMITTEE,
            },
            {
                "code": "award_won",
                "name": "个人或团队获奖",
                "kind": "bonus",
                "min_points": "2",
                "max_points": "10",
                "group": "leading_example",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _BRANCH_COMMITTEE,
            },
            {
                "code": "publication",
                "name": "在公开出版刊物上发表学术论文、科技作品或文学作品",
                "kind": "bonus",
                "min_points": "3",
                "max_points": "10",
                "group": "leading_example",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _BRANCH_COMMITTEE,
            },
            {
                "code": "activist_training",
                "name": "入党积极分子按时参加培训并结业",
                "kind": "bonus",
                "points": "3",
                "statuses": ["activist"],
            },
            {
                "code": "thought_report",
                "name": "预备党员按时提交思想汇报",
                "kind": "bonus",
                "points": "1",
                "cap_per_period": "4",
                "statuses": ["probationary"],
            },
            {
                "code": "mentoring",
                "name": "正式党员结对培养入党积极分子",
                "kind": "bonus",
                "points": "3",
                "statuses": ["full"],
            },
            {"code": "exam_cheating", "name": "考试作弊", "kind": "veto"},
            {"code": "disciplinary_sanction", "name": "受到党纪或校纪处分", "kind": "veto"},
        ],
        "components": [
            {"kind": "daily", "weight": "0.7"},
            {"kind": "final", "weight": "0.3", "when_unrated": "required"},
        ],
        "tiering": {
            "tiers": [
                {"code": "recommend", "label": "优先推荐为校级优秀党员", "list_color": "red"},
                {"code": "excellent", "label": "学院“优秀共产党员”", "list_color": "red"},
                {"code": "praised", "label": "全院党员大会表扬", "list_color": "red"},
                {"code": "qualified", "label": "合格"},
                {"code": "criticised", "label": "支部大会公开批评"},
                {"code": "delayed", "label": "延期发展/延期转正,公开批评"},
                {"code": "warned", "label": "延期发展/转正,正式党员警告处分"},
            ],
            "bands": [
                {"min": "95", "tier": "recommend"},
                {"min": "90", "tier": "excellent"},
                {"min": "80", "tier": "praised"},
                {"min": "70", "tier": "qualified"},
                {"min": "60", "tier": "criticised"},
                {"min": "50", "tier": "delayed"},
                {"min": None, "tier": "warned"},
            ],
        },
        "ranking": {"scopes": ["branch"], "primary": "branch"},
        # 无故缺席支部活动, decided when the branch closes a meeting; leave costs nothing.
        "attendance": {
            "rules": [
                {
                    "meeting_kinds": [
                        "branch_assembly",
                        "group_meeting",
                        "party_lecture",
                        "activity_day",
                    ],
                    "absent_item": "branch_activity_absent",
                }
            ]
        },
    }
)
