"""Words the mini-program shows: request fields and enum values by their Chinese names.

Messages name a field by its label here, and an enum value by its label, never by the English
name the API uses (`tests/test_messages.py` checks that every request field has a label).
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Final, TypeVar

from api.access import Action
from api.models.auth import LoginKind
from api.models.delivery import AttemptResult, Channel, DeliveryStatus
from api.models.evaluation import RoundStatus
from api.models.meetings import LeaveStatus, MeetingStatus
from api.models.org import MemberStatus, PoliticalStatus, Role, UnitKind
from api.models.publication import PostKind, PostStatus, RobotStatus
from api.models.scoring import AuditAction, PeriodStatus
from api.models.workflow import (
    AppealStatus,
    ClaimStatus,
    CommitmentStatus,
    FollowUpStatus,
    NoticeKind,
    WishStatus,
)
from api.scoring.engine import COMPONENT_NAMES
from api.scoring.results import StepKind
from api.scoring.scheme import ApprovalStep, ComponentKind, ItemKind, SubjectKind

# The fields of a scheme definition (api/scoring/scheme.py), as the console's scheme editor
# names them: a problem of a definition is said with these (`api.validation.describe_scheme`).
SCHEME_FIELD_LABELS: Final[dict[str, str]] = {
    "absent_item": "缺席扣分事项",
    "accumulation": "累计方式",
    "action": "处理",
    "aggregate": "汇总方式",
    "all_of": "全部条件",
    "amounts": "奖金",
    "any_of": "任一条件",
    "approval_steps": "审批步骤",
    "at": "阈值",
    "attendance": "会议考勤",
    "award_bar": "评优门槛",
    "bands": "分数段",
    "base": "基础分",
    "cap_per_period": "每期上限",
    "categories": "适用类别",
    "code": "代码",
    "coefficient": "系数",
    "components": "构成",
    "count": "次数",
    "counting": "计数方式",
    "declarable": "可申报",
    "evaluation": "评议",
    "evidence_required": "须附证据",
    "first_place_flag": "第一名标记",
    "flag": "标记",
    "flag_below_average": "低于平均分标记",
    "flag_bottom": "末位标记",
    "group": "分组",
    "groups": "分组",
    "item": "事项",
    "items": "事项",
    "kind": "类型",
    "label": "名称",
    "leave_approvers": "请假审批人",
    "leave_item": "请假扣分事项",
    "list_color": "名单颜色",
    "match": "匹配方式",
    "max_points": "最高分",
    "maximum": "最高分",
    "measure": "指标",
    "meeting_kinds": "会议类型",
    "member_money": "个人奖金",
    "min": "下限",
    "min_points": "最低分",
    "minimum": "最低分",
    "mode": "计分方式",
    "money": "奖金",
    "monthly_notice_day": "月度通知日",
    "mutual_scope": "互评范围",
    "name": "名称",
    "op": "比较方式",
    "pay_by_category": "按类别发放",
    "period": "考核周期",
    "points": "分值",
    "present": "是否具有",
    "primary": "主排名范围",
    "prizes": "奖项",
    "rank": "名次",
    "ranking": "排名",
    "rate_commitments": "评议承诺",
    "reason": "原因",
    "reminder_hours": "提醒时间（小时）",
    "reminder_minutes": "提醒时间（分钟）",
    "reveal_raters": "公开评议人",
    "rules": "规则",
    "scale_max": "满分",
    "schedule": "日程",
    "scope": "范围",
    "scopes": "排名范围",
    "scoring": "计分",
    "slug": "方案代码",
    "stars": "星级",
    "stars_per_flag": "每个标记的星数",
    "statuses": "适用政治面貌",
    "streaks": "连续规则",
    "subject_kind": "考核对象",
    "thresholds": "阈值",
    "tier": "等次",
    "tiering": "等次评定",
    "tiers": "等次",
    "ties": "并列处理",
    "top_n": "前几名",
    "top_percent": "前百分之几",
    "trim_from": "去掉最高最低分的人数下限",
    "value": "值",
    "version": "版本",
    "veto_tier": "一票否决等次",
    "weight": "权重",
    "when": "条件",
    "when_unrated": "未评时",
}

# Every field, parameter and header a request can carry, by its name in the API.
FIELD_LABELS: Final[dict[str, str]] = {
    "Idempotency-Key": "请求编号",
    "X-Ticket-Secret": "二维码密钥",
    "achievements": "成绩",
    "action": "操作",
    "action_id": "待办",
    "actor_id": "操作人",
    "admin_name": "管理员姓名",
    "admin_phone": "管理员手机号",
    "appeal_id": "申诉",
    "assignment_id": "职务记录",
    "attendance": "出席情况",
    "before": "翻页位置",
    "binding_ticket": "绑定凭证",
    "body": "请求内容",
    "branch_id": "支部",
    "category": "类别",
    "channel": "推送渠道",
    "checkin_radius_m": "签到距离",
    "claim_id": "申报",
    "claim_ids": "申报",
    "code": "登录凭证",
    "comment": "评语",
    "commitment_id": "承诺",
    "console": "电脑控制台登录",
    "confirm_new_groups": "确认新建的党小组",
    "cursor": "分页位置",
    "confirm_renames": "确认改名的党员",
    "contact": "联系方式",
    "deadline": "截止时间",
    "decision": "审核结果",
    "definition": "方案定义",
    "delivery_id": "投递记录",
    "description": "说明",
    "device": "设备标识",
    "echostr": "校验字符串",
    "entry_id": "积分记录",
    "everywhere": "全部设备",
    "evidence": "证明材料",
    "exempt": "免于考核",
    "expires": "链接到期时间",
    "fields": "模板字段",
    "file": "文件",
    "force": "确认结算",
    "held_on": "会议日期",
    "invite_code": "邀请码",
    "item_code": "积分事项",
    "key": "群机器人地址",
    "kind": "类型",
    "latitude": "纬度",
    "location": "地点",
    "longitude": "经度",
    "meeting_id": "会议",
    "member_id": "党员",
    "member_ids": "参会党员",
    "name": "名称",
    "nonce": "随机串",
    "note": "完成说明",
    "notice_id": "通知",
    "occurred_on": "发生日期",
    "open": "只看未办结",
    "outcome": "处理结果",
    "page": "页码",
    "parent_id": "上级组织",
    "period": "考核期",
    "period_id": "考核期",
    "period_key": "考核期",
    "phone": "手机号",
    "phone_code": "手机号授权凭证",
    "photo_id": "照片",
    "photo_ids": "照片",
    "place": "会议地点",
    "points": "分值",
    "political_status": "政治面貌",
    "preset": "方案预设",
    "preview_id": "导入预览",
    "publication_id": "公示榜",
    "quarter": "季度",
    "rating": "评分",
    "reason": "原因",
    "refresh_token": "登录凭证",
    "report": "履诺报告",
    "request_id": "请假申请",
    "q": "查找内容",
    "required": "应完成数量",
    "results": "订阅结果",
    "role": "职务",
    "round_id": "评议",
    "scene": "二维码内容",
    "scheme_id": "积分方案",
    "score": "分数",
    "session_id": "登录",
    "sharer_ids": "提醒分享的党员",
    "shortcomings": "不足",
    "signature": "签名",
    "since": "起始时间",
    "size": "每页条数",
    "starts_at": "开始时间",
    "status": "状态",
    "subject_id": "被评党员",
    "subject_kind": "考核对象",
    "template_id": "模板编号",
    "text": "内容",
    "ticket_id": "登录二维码",
    "timestamp": "时间戳",
    "title": "标题",
    "to": "目标阶段",
    "top": "人数",
    "top_n": "推送人数",
    "transferred_out_on": "转出日期",
    "unit_id": "组织",
    "unit_name": "组织名称",
    "unread": "只看未读",
    "until": "结束时间",
    "wish_id": "微心愿",
    "year": "年份",
}

LOGIN_KIND_LABELS: Final[dict[LoginKind, str]] = {
    LoginKind.miniprogram: "小程序",
    LoginKind.console: "PC 控制台",
}

ROLE_LABELS: Final[dict[Role, str]] = {
    Role.member: "党员",
    Role.group_leader: "党小组长",
    Role.branch_committee: "支委",
    Role.branch_secretary: "支部书记",
    Role.committee_admin: "党委管理员",
}

POLITICAL_STATUS_LABELS: Final[dict[PoliticalStatus, str]] = {
    PoliticalStatus.FULL: "正式党员",
    PoliticalStatus.PROBATIONARY: "预备党员",
    PoliticalStatus.ACTIVIST: "入党积极分子",
}

ROUND_STAGE_LABELS: Final[dict[RoundStatus, str]] = {
    RoundStatus.open: "已创建",
    RoundStatus.collecting: "自评互评",
    RoundStatus.committee: "支委评议",
    RoundStatus.final: "总评",
    RoundStatus.closed: "已结束",
}

AUDIT_ACTION_LABELS: Final[dict[AuditAction, str]] = {
    AuditAction.organisation_founded: "初始化组织",
    AuditAction.role_grant: "任命职务",
    AuditAction.role_revoke: "免去职务",
    AuditAction.role_handover: "职务交接",
    AuditAction.member_update: "修改党员信息",
    AuditAction.roster_import: "导入花名册",
    AuditAction.points_adjust: "手工调整积分",
    AuditAction.branch_assess: "支部考核打分",
    AuditAction.entry_reverse: "冲正积分",
    AuditAction.period_close: "结算考核期",
    AuditAction.period_publish: "公示考核结果",
    AuditAction.period_reopen: "重新打开考核期",
    AuditAction.scheme_version: "设置或修改积分方案",
    AuditAction.unit_category: "设置组织类别",
    AuditAction.template_set: "设置通知模板",
    AuditAction.template_remove: "删除通知模板",
    AuditAction.round_advance: "评议进入下一阶段",
    AuditAction.round_deadline: "延长评议截止时间",
    AuditAction.meeting_recorded: "补登会议",
    AuditAction.meeting_leave_recorded: "补记请假",
    AuditAction.meeting_present: "手工签到",
    AuditAction.meeting_reopen: "重新打开会议",
}

PERIOD_STATUS_LABELS: Final[dict[PeriodStatus, str]] = {
    PeriodStatus.open: "进行中",
    PeriodStatus.closed: "已结算",
    PeriodStatus.published: "已公示",
}
CLAIM_STATUS_LABELS: Final[dict[ClaimStatus, str]] = {
    ClaimStatus.pending: "待审核",
    ClaimStatus.approved: "已通过",
    ClaimStatus.rejected: "未通过",
    ClaimStatus.withdrawn: "已撤回",
}

CHANNEL_LABELS: Final[dict[Channel, str]] = {
    Channel.subscribe: "小程序订阅消息",
    Channel.service: "服务号模板消息",
    Channel.inbox: "仅站内信",
}

DELIVERY_STATUS_LABELS: Final[dict[DeliveryStatus, str]] = {
    DeliveryStatus.pending: "待发送",
    DeliveryStatus.sending: "发送中",
    DeliveryStatus.sent: "已送达",
    DeliveryStatus.inbox_only: "仅站内信（微信渠道均不可用）",
    DeliveryStatus.dead: "多次重试失败",
    DeliveryStatus.uncertain: "结果未知（发送中断、微信可能已送达，不再重发）",
}

ATTEMPT_RESULT_LABELS: Final[dict[AttemptResult, str]] = {
    AttemptResult.started: "发送中",
    AttemptResult.sent: "已送达",
    AttemptResult.failed: "失败",
    AttemptResult.skipped: "不可用",
    AttemptResult.unknown: "结果未知（发送中断）",
    AttemptResult.error: "内部错误",
}

APPEAL_STATUS_LABELS: Final[dict[AppealStatus, str]] = {
    AppealStatus.open: "待处理",
    AppealStatus.upheld: "维持记分",
    AppealStatus.revoked: "撤销记分",
}

APPROVAL_STEP_LABELS: Final[dict[ApprovalStep, str]] = {
    ApprovalStep.GROUP_LEADER: "党小组长审核",
    ApprovalStep.BRANCH_COMMITTEE: "支委会审核",
    ApprovalStep.BRANCH_ASSEMBLY: "党员大会审核",
    ApprovalStep.PARTY_COMMITTEE: "党(工)委审核",
}

COMMITMENT_STATUS_LABELS: Final[dict[CommitmentStatus, str]] = {
    CommitmentStatus.pending: "待审核",
    CommitmentStatus.approved: "已通过",
    CommitmentStatus.rejected: "未通过",
}

COMPONENT_LABELS: Final[dict[ComponentKind, str]] = dict(COMPONENT_NAMES)

FOLLOW_UP_STATUS_LABELS: Final[dict[FollowUpStatus, str]] = {
    FollowUpStatus.open: "待办",
    FollowUpStatus.done: "已办结",
    FollowUpStatus.withdrawn: "重新结算后已撤回",
}

ITEM_KIND_LABELS: Final[dict[ItemKind, str]] = {
    ItemKind.BONUS: "加分（记分制：销分）",
    ItemKind.DEDUCTION: "扣分（记分）",
    ItemKind.VETO: "一票否决",
}

NOTICE_KIND_LABELS: Final[dict[NoticeKind, str]] = {
    NoticeKind.deduction_card: "记分告知卡",
    NoticeKind.threshold: "累计记分达到阈值",
    NoticeKind.claim_result: "审核结果",
    NoticeKind.appeal_filed: "收到申诉",
    NoticeKind.appeal_result: "申诉结果",
    NoticeKind.evaluation_reminder: "评议提醒",
    NoticeKind.monthly_score: "月度积分情况",
    NoticeKind.period_result: "考核结果已公示",
    NoticeKind.period_reminder: "考核期已结束，请结算",
    NoticeKind.quarterly_summary: "积分汇总",
    NoticeKind.robot_failed: "群机器人推送失败",
    NoticeKind.publication_withdrawn: "公示已撤回",
    NoticeKind.share_board: "公示已生成，请分享",
    NoticeKind.meeting_scheduled: "会议通知",
    NoticeKind.meeting_changed: "会议变更",
    NoticeKind.meeting_cancelled: "会议取消",
    NoticeKind.meeting_reminder: "会前提醒",
    NoticeKind.leave_requested: "请假申请",
    NoticeKind.leave_result: "请假审批结果",
    NoticeKind.follow_up: "结算决定的处理",
    NoticeKind.follow_up_withdrawn: "处理已撤回",
}

POST_KIND_LABELS: Final[dict[PostKind, str]] = {
    PostKind.markdown: "文字",
    PostKind.image: "图片",
}

POST_STATUS_LABELS: Final[dict[PostStatus, str]] = {
    PostStatus.pending: "待发送",
    PostStatus.sending: "发送中",
    PostStatus.sent: "已发送",
    PostStatus.failed: "失败（key 无效或被拒绝，不再重试）",
    PostStatus.dead: "多次重试失败",
    PostStatus.uncertain: "结果未知（发送中断、可能已显示）",
}

ROBOT_STATUS_LABELS: Final[dict[RobotStatus, str]] = {
    RobotStatus.active: "正常",
    RobotStatus.invalid_key: "key 已失效（93000）",
}

SUBJECT_KIND_LABELS: Final[dict[SubjectKind, str]] = {
    SubjectKind.MEMBER: "党员",
    SubjectKind.BRANCH: "支部",
}

WISH_STATUS_LABELS: Final[dict[WishStatus, str]] = {
    WishStatus.open: "待认领",
    WishStatus.claimed: "已认领",
    WishStatus.completed: "已完成，待确认",
    WishStatus.confirmed: "已确认",
    WishStatus.cancelled: "已取消",
}

UNIT_KIND_LABELS: Final[dict[UnitKind, str]] = {
    UnitKind.committee: "党委/党工委/党总支",
    UnitKind.branch: "支部",
    UnitKind.group: "党小组",
}

MEMBER_STATUS_LABELS: Final[dict[MemberStatus, str]] = {
    MemberStatus.active: "在册",
    MemberStatus.transferred_out: "已转出",
}

MEETING_STATUS_LABELS: Final[dict[MeetingStatus, str]] = {
    MeetingStatus.scheduled: "已通知（进行中或重新打开）",
    MeetingStatus.cancelled: "已取消",
    MeetingStatus.closed: "已结束",
}

LEAVE_STATUS_LABELS: Final[dict[LeaveStatus, str]] = {
    LeaveStatus.pending: "待审批",
    LeaveStatus.approved: "已批准",
    LeaveStatus.refused: "未批准",
}

STEP_KIND_LABELS: Final[dict[StepKind, str]] = {
    StepKind.EXEMPT: "免于考核",
    StepKind.START: "基础分",
    StepKind.ENTRY: "积分记录",
    StepKind.IGNORED: "不计入的记录",
    StepKind.ITEM_TOTAL: "项目合计",
    StepKind.ITEM_CAP: "项目封顶",
    StepKind.GROUP_TOTAL: "分组合计",
    StepKind.GROUP_CAP: "分组封顶",
    StepKind.POINTS: "日常积分",
    StepKind.CLAMP: "上下限",
    StepKind.VETO: "一票否决",
    StepKind.COMPONENT: "组成部分",
    StepKind.TOTAL: "总分",
    StepKind.TIER: "档次",
    StepKind.STARS: "红星",
    StepKind.RANK: "排名",
    StepKind.FLAG: "排名标记",
    StepKind.PRIZE: "奖励",
    StepKind.ACTION: "触发的处理",
    StepKind.AWARD: "评先评优资格",
}

ACTION_LABELS: Final[dict[Action, str]] = {
    Action.read_org: "查看组织",
    Action.manage_org: "管理组织",
    Action.read_members: "查看党员",
    Action.manage_members: "管理党员",
    Action.issue_invites: "发放邀请码",
    Action.import_roster: "导入花名册",
    Action.assign_roles: "任免职务",
    Action.read_results: "查看积分结果",
    Action.manage_schemes: "管理积分方案",
    Action.close_periods: "结算考核期",
    Action.reopen_periods: "重新打开考核期",
    Action.adjust_points: "手工调整积分",
    Action.record_deductions: "记分",
    Action.manage_branch_work: "管理支部工作",
    Action.manage_delivery: "管理消息推送",
    Action.read_audit: "查看操作日志",
}

E = TypeVar("E", bound=StrEnum)


def enum_labels(labels: Mapping[E, str]) -> str:
    """An enum field's description in the OpenAPI: each value with its Chinese name."""
    return "；".join(f"{value.value} {label}" for value, label in labels.items())
