"""Examples of the request bodies and the main responses, shown in the API docs and read by
generated clients, in the words of a branch: 张伟 of 红旗镇党委 / 第一党支部, the items of the
河阳 scheme (docs/SCHEMES.md).

They live in one table rather than on each model so that the schemas stay about shape;
`tests/test_openapi_contract.py` validates each against its model and against the schema in the
document, so an example cannot drift from the shape it illustrates, and asks one of every
operation that takes a JSON body.
"""

from typing import Any, Final

from pydantic import BaseModel

from api.errors import ErrorBody
from api.schemas.appeals import AppealDecisionIn, AppealIn
from api.schemas.auth import (
    DevLoginIn,
    InviteBindIn,
    LogoutIn,
    PhoneBindIn,
    RefreshIn,
    TokensOut,
    WeChatLoginIn,
)
from api.schemas.claims import BatchDecisionIn, ClaimIn, ClaimOut, DecisionIn
from api.schemas.commitments import CommitmentDecisionIn, CommitmentIn, RatingIn, ReportIn
from api.schemas.deductions import DeductionIn, DeductionPreviewIn
from api.schemas.evaluations import AdvanceIn, DeadlineIn, RoundIn, ScoreIn
from api.schemas.ledger import EntryIn, EntryOut, ReverseIn
from api.schemas.meetings import (
    CheckinIn,
    LeaveDecisionIn,
    MeetingChangeIn,
    MeetingIn,
    MeetingPlanIn,
    MemberReasonIn,
    ReasonIn,
)
from api.schemas.members import MemberUpdate, MeOut
from api.schemas.notices import SubscriptionReport
from api.schemas.org import HandOverIn, RoleAssign, UnitCreate, UnitOut, UnitUpdate
from api.schemas.periods import CloseIn, ReopenIn, WhatIfIn
from api.schemas.photos import PhotoOut
from api.schemas.publication import PostIn, RobotIn
from api.schemas.roster import RosterCommitIn
from api.schemas.schemes import SchemeIn
from api.schemas.share import SharersIn
from api.schemas.templates import TemplateIn
from api.schemas.wishes import CompleteIn, WishIn, YearEndIn

Example = dict[str, Any]
_TICKET: Final = "bt_9f2c4e7a1d8b4c3e"
_REFRESH: Final = "rt_5b1e9c0d7a2f4e68b3c1"
_PHOTO_URL: Final = "/api/v1/photos/41/content?expires=1796284800&signature=Qm9ndXMtc2lnbmF0dXJl"
_ZHANG_WEI: Final = {
    "id": 12,
    "unit_id": 3,
    "name": "张伟",
    "phone": "13800000001",
    "political_status": "full",
    "category": "在职党员",
    "exempt": False,
    "status": "active",
    "joined_on": "2008-07-01",
    "left_on": None,
}

EXAMPLES: Final[dict[type[BaseModel], list[Example]]] = {
    # --- 登录 ---
    WeChatLoginIn: [{"code": "0a3Xk1000aBcDe1Fg2000Hij3k4Xk10p"}],
    PhoneBindIn: [{"binding_ticket": _TICKET, "phone_code": "e31968a7f94cc5ee25fafc2aef2773f0"}],
    InviteBindIn: [{"binding_ticket": _TICKET, "invite_code": "HQ7K2M9P"}],
    RefreshIn: [{"refresh_token": _REFRESH}],
    LogoutIn: [{"refresh_token": _REFRESH, "everywhere": False}],
    DevLoginIn: [{"phone": "13800000001", "console": False}],
    # --- 党员与组织 ---
    MemberUpdate: [
        {"name": "张伟", "political_status": "full", "category": "在职党员"},
        {"transferred_out_on": "2026-11-30"},
    ],
    UnitCreate: [{"parent_id": 1, "kind": "branch", "name": "第一党支部"}],
    UnitUpdate: [{"category": "农村党支部"}],
    RoleAssign: [{"member_id": 12, "role": "branch_committee", "reason": "支部换届选举产生"}],
    HandOverIn: [{"member_id": 15, "reason": "原支部书记调任红旗镇党委，经选举由李娜接任"}],
    RosterCommitIn: [
        {"confirm_renames": [23], "confirm_new_groups": [{"branch_id": 3, "name": "第三党小组"}]}
    ],
    # --- 积分方案与考核期 ---
    SchemeIn: [{"preset": "heyang"}],
    WhatIfIn: [{"preset": "heyang"}],
    CloseIn: [{"force": True, "reason": "年底提前结算，待审核的申报已逐条核实"}],
    ReopenIn: [{"reason": "第一党支部11月会议出勤登记有误，重新打开更正"}],
    # --- 积分台账 ---
    EntryIn: [
        {
            "item_code": "key_task_merit",
            "points": "5",
            "occurred_on": "2026-11-18",
            "reason": "在红旗镇污水管网重点工程建设中协调征地，表现突出",
            "evidence": [],
        }
    ],
    ReverseIn: [{"reason": "录入时选错了党员，冲正后重新录入"}],
    # --- 申报审核 ---
    ClaimIn: [
        {
            "item_code": "volunteer_service",
            "occurred_on": "2026-11-22",
            "description": "参加红旗镇敬老院志愿服务，打扫卫生、陪老人聊天两小时",
            "photo_ids": [41, 42],
        }
    ],
    DecisionIn: [
        {"decision": "approve"},
        {"decision": "reject", "reason": "照片看不出是本人参加，请补充活动签到表"},
    ],
    BatchDecisionIn: [{"decision": "approve", "claim_ids": [101, 102, 105]}],
    # --- 记分与申诉 ---
    DeductionIn: [
        {
            "item_code": "meeting_leave",
            "occurred_on": "2026-11-20",
            "reason": "11月支部党员大会请假",
            "photo_ids": [],
        }
    ],
    DeductionPreviewIn: [
        {
            "item_code": "meeting_absent",
            "occurred_on": "2026-11-20",
            "reason": "无故缺席支部党员大会",
        }
    ],
    AppealIn: [{"reason": "当天已向支部书记请假并获同意，有微信聊天记录为证", "photo_ids": [57]}],
    AppealDecisionIn: [{"outcome": "revoke", "reason": "经核实，该党员已按规定提前请假"}],
    # --- 通知 ---
    SubscriptionReport: [{"results": {"xG7pJ2uVw5kQ9aB3cD1eF0hI": "accept"}}],
    # --- 微心愿 ---
    WishIn: [
        {
            "title": "为独居老人修理漏水的水龙头",
            "description": "红旗村三组王大爷家厨房水龙头漏水，需要帮忙更换",
            "location": "红旗村三组",
            "contact": "王大爷 13912345678",
        }
    ],
    CompleteIn: [{"note": "已更换新水龙头，王大爷表示满意", "photo_ids": [63]}],
    YearEndIn: [{"year": 2026, "required": 2, "item_code": "wish_unfinished"}],
    # --- 承诺践诺 ---
    CommitmentIn: [{"text": "本季度帮扶两户困难群众，参加两次志愿服务", "period_key": "2026-Q4"}],
    CommitmentDecisionIn: [{"decision": "approve"}],
    ReportIn: [{"report": "已走访帮扶两户困难群众，参加敬老院志愿服务两次"}],
    RatingIn: [{"rating": "90", "comment": "承诺全部兑现，群众反映好"}],
    # --- 民主评议 ---
    RoundIn: [{"deadline": "2026-12-20T18:00:00+08:00", "period_key": "2026"}],
    AdvanceIn: [{"to": "committee", "reason": "两名党员外出务工，已电话沟通，不再等待互评"}],
    DeadlineIn: [{"deadline": "2026-12-25T18:00:00+08:00", "reason": "部分党员外出务工，延长五天"}],
    ScoreIn: [
        {
            "kind": "self",
            "subject_id": 12,
            "score": "95",
            "achievements": "按时参加组织生活，带头参与村里的防汛和志愿服务",
            "shortcomings": "理论学习不够系统，联系群众的次数还不够多",
        },
        {"kind": "mutual", "subject_id": 15, "score": "90"},
    ],
    # --- 组织生活 ---
    MeetingPlanIn: [
        {
            "unit_id": 3,
            "kind": "branch_assembly",
            "title": "第一党支部12月支部党员大会",
            "starts_at": "2026-12-05T19:30:00+08:00",
            "place": "红旗村党群服务中心二楼会议室",
            "location": {"latitude": 31.2304, "longitude": 121.4737},
            "checkin_radius_m": 300,
        }
    ],
    MeetingIn: [
        {
            "held_on": "2026-11-08",
            "kind": "activity_day",
            "title": "11月主题党日：学习党的二十届四中全会精神",
            "attendance": {"12": "present", "15": "leave", "18": "absent"},
        }
    ],
    MeetingChangeIn: [
        {"starts_at": "2026-12-06T19:30:00+08:00", "place": "红旗村党群服务中心一楼大厅"}
    ],
    ReasonIn: [{"reason": "当天在县医院陪护住院的母亲"}],
    MemberReasonIn: [{"member_id": 18, "reason": "因手机没电未能扫码，支部书记现场确认出席"}],
    LeaveDecisionIn: [
        {"decision": "approve"},
        {"decision": "refuse", "reason": "本次会议选举支委，请尽量安排时间参加"},
    ],
    CheckinIn: [
        {
            "code": "https://example.invalid/checkin?m=31&c=8d3f2a",
            "location": {"latitude": 31.2305, "longitude": 121.4736},
            "device": "d7f3a9c2e1b84f6a",
        }
    ],
    # --- main responses ---
    ErrorBody: [
        {
            "code": "claim_state_conflict",
            "message": "该申报已被处理，请刷新后查看",
            "detail": None,
            "request_id": "5f0c2b9e8a7d4c31",
        }
    ],
    TokensOut: [
        {
            "status": "bound",
            "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMiJ9.c2lnbmF0dXJl",
            "access_token_expires_at": "2026-12-06T08:30:00Z",
            "refresh_token": _REFRESH,
            "refresh_token_expires_at": "2027-01-05T06:30:00Z",
            "token_type": "bearer",
            "member": _ZHANG_WEI,
        }
    ],
    MeOut: [
        {
            "member": _ZHANG_WEI,
            "unit": {"id": 3, "name": "第一党支部", "kind": "branch"},
            "group": None,
            "branch": {"id": 3, "name": "第一党支部", "kind": "branch"},
            "roles": [
                {
                    "id": 4,
                    "member_id": 12,
                    "unit_id": 3,
                    "role": "branch_committee",
                    "unit_name": "第一党支部",
                }
            ],
            "can": [
                {"action": action, "unit_ids": [3]}
                for action in (
                    "read_org",
                    "read_members",
                    "issue_invites",
                    "read_results",
                    "record_deductions",
                    "manage_branch_work",
                )
            ],
        }
    ],
    UnitOut: [
        {
            "id": 3,
            "parent_id": 1,
            "kind": "branch",
            "name": "第一党支部",
            "path": "/1/3/",
            "category": "农村党支部",
            "created_at": "2026-03-01T02:00:00Z",
        }
    ],
    PhotoOut: [
        {
            "id": 41,
            "url": _PHOTO_URL,
            "url_expires_at": "2026-12-06T07:30:00Z",
            "sha256": "9b74c9897bac770ffc029102a200c5de4a0b9e7a3c1d2f6e8b5a4c3d2e1f0a9b",
            "content_type": "image/jpeg",
            "width": 1280,
            "height": 960,
            "size": 183204,
            "used_in_claims": 1,
            "used_as_evidence": 1,
        }
    ],
    ClaimOut: [
        {
            "id": 101,
            "member_id": 12,
            "member_name": "张伟",
            "item_code": "volunteer_service",
            "item_name": "参加志愿服务活动",
            "points": "2.00",
            "occurred_on": "2026-11-22",
            "description": "参加红旗镇敬老院志愿服务，打扫卫生、陪老人聊天两小时",
            "status": "pending",
            "steps": ["party_committee"],
            "current_step": "party_committee",
            "entry_id": None,
            "last_reason": None,
            "photo_ids": [41],
            "photos": [{"id": 41, "url": _PHOTO_URL, "url_expires_at": "2026-12-06T07:30:00Z"}],
            "evidence_reuse": 0,
            "created_at": "2026-11-22T09:15:00Z",
        }
    ],
    EntryOut: [
        {
            "id": 318,
            "period_id": 7,
            "member_id": 12,
            "member_name": "张伟",
            "branch_id": 3,
            "branch_name": "第一党支部",
            "item_code": "meeting_leave",
            "item_name": "“三会一课”请假",
            "points": "2.00",
            "source": "deduction",
            "reverses_id": None,
            "actor_id": 15,
            "reason": "11月支部党员大会请假",
            "evidence": [],
            "photos": [],
            "occurred_on": "2026-11-20",
            "created_at": "2026-11-21T01:20:00Z",
        }
    ],
    # --- 消息投递、公示与分享 ---
    TemplateIn: [
        {
            "template_id": "xG7pJ2uVw5kQ9aB3cD1eF0hI",
            "page": "pages/notices/detail",
            "fields": {"thing1": "item_name", "number2": "points", "date3": "occurred_on"},
        }
    ],
    RobotIn: [{"key": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa", "top_n": 10}],
    PostIn: [{"period_id": 7}],
    SharersIn: [{"sharer_ids": [12, 15]}],
}
