"""合阳经开区 党员“十二分制” (seed 001): members, demerits accumulate over the year.

Scored monthly (the seed adjusts on the 25th of each month; here periods are calendar months)
and never reset within the year: volunteer service (+2) and outstanding key-task work cancel
demerits of the same year (销分). A member whose demerits are not all offset may not be
nominated for awards (评先评优); each result says so. Choice where the seed leaves a number
open: the committee's reward for key-task work is 1–6 points.
"""

from api.scoring.scheme import Scheme

_VERIFIED_BY_COMMITTEE = ["party_committee"]
_WARNING_MEMBER = {"code": "warning_member", "label": "列为警示党员"}

SCHEME = Scheme.model_validate(
    {
        "slug": "heyang",
        "name": "合阳经开区机关党员“十二分制”",
        "subject_kind": "member",
        "period": "month",
        "accumulation": "carry_over",
        "scoring": {"mode": "demerit", "maximum": "12"},
        "schedule": {"monthly_notice_day": 25},
        "groups": [
            {"code": "political_life", "name": "严肃党内政治生活"},
            {"code": "political_rules", "name": "政治意识和规矩意识"},
            {"code": "micro_wishes", "name": "认领“微心愿”"},
            {"code": "work_style", "name": "作风建设"},
            {"code": "public_conduct", "name": "勤政为民、社会公德"},
            {"code": "rewards", "name": "年度奖励积分(销分)"},
        ],
        "items": [
            {
                "code": "meeting_absent",
                "name": "“三会一课”无故缺席",
                "kind": "deduction",
                "points": "6",
                "group": "political_life",
            },
            {
                "code": "meeting_leave",
                "name": "“三会一课”请假",
                "kind": "deduction",
                "points": "2",
                "group": "political_life",
            },
            {
                "code": "activity_day_absent",
                "name": "“党员固定活动日”无故缺席",
                "kind": "deduction",
                "points": "3",
                "group": "political_life",
            },
            {
                "code": "activity_day_leave",
                "name": "“党员固定活动日”请假",
                "kind": "deduction",
                "points": "1",
                "group": "political_life",
            },
            {
                "code": "disobey_decision",
                "name": "对组织决议决定不服从不执行",
                "kind": "deduction",
                "points": "12",
                "group": "political_rules",
            },
            {
                "code": "improper_remarks",
                "name": "妄议大政方针、听信传播政治谣言",
                "kind": "deduction",
                "points": "12",
                "group": "political_rules",
            },
            {
                "code": "irregular_petition",
                "name": "参与违规上访",
                "kind": "deduction",
                "points": "12",
                "group": "political_rules",
            },
            {
                "code": "wish_unfinished",
                "name": "年度“微心愿”少完成1个",
                "kind": "deduction",
                "points": "3",
                "group": "micro_wishes",
            },
            {
                "code": "style_integrity_talk",
                "name": "作风问题被廉政约谈",
                "kind": "deduction",
                "points": "3",
                "group": "work_style",
            },
            {
                "code": "style_notice",
                "name": "作风问题被通报",
                "kind": "deduction",
                "points": "6",
                "group": "work_style",
            },
            {
                "code": "style_admonition",
                "name": "作风问题被诫勉谈话",
                "kind": "deduction",
                "points": "9",
                "group": "work_style",
                "action": _WARNING_MEMBER,
            },
            {
                "code": "complaint_integrity_talk",
                "name": "群众举报投诉查实,被廉政约谈",
                "kind": "deduction",
                "points": "3",
                "group": "public_conduct",
            },
            {
                "code": "complaint_notice",
                "name": "群众举报投诉查实,被通报",
                "kind": "deduction",
                "points": "6",
                "group": "public_conduct",
            },
            {
                "code": "complaint_admonition",
                "name": "群众举报投诉查实,被诫勉谈话",
                "kind": "deduction",
                "points": "9",
                "group": "public_conduct",
                "action": _WARNING_MEMBER,
            },
            {
                "code": "volunteer_service",
                "name": "参加志愿服务活动",
                "kind": "bonus",
                "points": "2",
                "group": "rewards",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _VERIFIED_BY_COMMITTEE,
            },
            {
                "code": "key_task_merit",
                "name": "招商引资、企业服务、重点工程建设中表现突出",
                "kind": "bonus",
                "min_points": "1",
                "max_points": "6",
                "group": "rewards",
                "declarable": True,
                "evidence_required": True,
                "approval_steps": _VERIFIED_BY_COMMITTEE,
            },
        ],
        "thresholds": [
            {"at": "6", "action": {"code": "reminder", "label": "党工委约谈提醒"}},
            {
                "at": "9",
                "action": {"code": "warning_talk", "label": "警示谈话,列为警示党员"},
            },
            {
                "at": "12",
                "action": {
                    "code": "unqualified",
                    "label": "作为不合格党员处置(转化、劝退、除名)",
                },
            },
        ],
        "streaks": [
            {
                "when": {"all_of": [{"measure": "flag", "flag": "bottom"}]},
                "count": 1,
                "action": {"code": "bottom_talk", "label": "月度末位,党工委约谈教育"},
            },
        ],
        "ranking": {"scopes": ["branch"], "primary": "branch", "flag_bottom": True},
        # 三会一课 and the monthly 党员固定活动日, scored when the secretary closes the meeting.
        "attendance": {
            "rules": [
                {
                    "meeting_kinds": [
                        "branch_assembly",
                        "branch_committee",
                        "group_meeting",
                        "party_lecture",
                    ],
                    "absent_item": "meeting_absent",
                    "leave_item": "meeting_leave",
                },
                {
                    "meeting_kinds": ["activity_day"],
                    "absent_item": "activity_day_absent",
                    "leave_item": "activity_day_leave",
                },
            ]
        },
        "award_bar": {
            "when": {"any_of": [{"measure": "total", "op": "gt", "value": "0"}]},
            "reason": "记分未被奖励积分全部抵消,不得推荐评先评优",
        },
    }
)
