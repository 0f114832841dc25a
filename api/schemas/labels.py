"""Words the mini-program shows: request fields and enum values by their Chinese names.

Messages name a field by its label here, and an enum value by its label, never by the English
name the API uses (`tests/test_messages.py` checks that every request field has a label).
"""

from typing import Final

from api.models.evaluation import RoundStatus
from api.models.org import PoliticalStatus, Role

# Every field, parameter and header a request can carry, by its name in the API.
FIELD_LABELS: Final[dict[str, str]] = {
    "Idempotency-Key": "请求编号",
    "action_id": "待办",
    "appeal_id": "申诉",
    "assignment_id": "职务记录",
    "attendance": "出席情况",
    "binding_ticket": "绑定凭证",
    "body": "请求内容",
    "branch_id": "支部",
    "category": "类别",
    "channel": "推送渠道",
    "claim_id": "申报",
    "claim_ids": "申报",
    "code": "登录凭证",
    "comment": "评语",
    "commitment_id": "承诺",
    "contact": "联系方式",
    "deadline": "截止时间",
    "decision": "审核结果",
    "definition": "方案定义",
    "delivery_id": "投递记录",
    "description": "说明",
    "echostr": "校验字符串",
    "entry_id": "积分记录",
    "evidence": "证明材料",
    "exempt": "免于考核",
    "fields": "模板字段",
    "file": "文件",
    "held_on": "会议日期",
    "invite_code": "邀请码",
    "item_code": "积分事项",
    "key": "群机器人地址",
    "kind": "类型",
    "location": "地点",
    "member_id": "党员",
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
    "points": "分值",
    "political_status": "政治面貌",
    "preset": "方案预设",
    "quarter": "季度",
    "rating": "评分",
    "reason": "原因",
    "refresh_token": "登录凭证",
    "report": "履诺报告",
    "required": "应完成数量",
    "results": "订阅结果",
    "role": "职务",
    "round_id": "评议",
    "scheme_id": "积分方案",
    "score": "分数",
    "signature": "签名",
    "size": "每页条数",
    "status": "状态",
    "subject_id": "被评党员",
    "subject_kind": "考核对象",
    "template_id": "模板编号",
    "text": "内容",
    "timestamp": "时间戳",
    "title": "标题",
    "to": "目标阶段",
    "top": "人数",
    "top_n": "推送人数",
    "transferred_out_on": "转出日期",
    "unit_id": "组织",
    "unread": "只看未读",
    "wish_id": "微心愿",
    "year": "年份",
}

ROLE_LABELS: Final[dict[Role, str]] = {
    Role.member: "党员",
    Role.group_leader: "党小组长",
    Role.branch_committee: "支委",
    Role.branch_secretary: "支部书记",
    Role.committee_admin: "党委管理员",
}

POLITICAL_STATUS_LABELS: Final[dict[PoliticalStatus, str]] = {
    PoliticalStatus.full: "正式党员",
    PoliticalStatus.probationary: "预备党员",
    PoliticalStatus.activist: "入党积极分子",
}

ROUND_STAGE_LABELS: Final[dict[RoundStatus, str]] = {
    RoundStatus.open: "已创建",
    RoundStatus.collecting: "自评互评",
    RoundStatus.committee: "支委评议",
    RoundStatus.final: "总评",
    RoundStatus.closed: "已结束",
}
