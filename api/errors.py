"""Domain errors: each carries a stable machine `code`, a Chinese `message` and its HTTP status.

One handler in `api.main` renders every error as `{code, message, detail}`. A code has exactly
one message: a raise site never words it differently (a different case is a different code); it
may only fill the message's `{fields}` (numbers, Chinese labels — never an English enum value)
and add `detail`. `tests/test_messages.py` walks the catalogue and every raise site.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    code: str = Field(description="稳定的机器可读错误码")
    message: str = Field(description="可直接展示给用户的中文提示")
    detail: Any = Field(default=None, description="补充信息，例如出错的字段或行")


class AppError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "请求有误"

    def __init__(self, *, detail: Any = None, **fields: str | int) -> None:
        self.text = self.message.format(**fields)
        self.detail = detail
        super().__init__(self.text)

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.text, detail=self.detail)


def error_catalogue() -> list[type[AppError]]:
    """Every concrete error, for the OpenAPI description."""
    found: list[type[AppError]] = []
    pending = list(AppError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.status, c.code))


# --- generic -------------------------------------------------------------------------------


class ValidationFailed(AppError):
    code, status, message = "validation_error", 422, "请求参数有误：{problems}"


class InvalidJson(AppError):
    code, status, message = "invalid_json", 400, "请求内容不是有效的 JSON，请检查后重试"


class NotFound(AppError):
    code, status, message = "not_found", 404, "请求的内容不存在"


class MethodNotAllowed(AppError):
    code, status, message = "method_not_allowed", 405, "不支持该请求方式"


class Conflict(AppError):
    code, status, message = "conflict", 409, "数据已被修改，请刷新后重试"


class PayloadTooLarge(AppError):
    code, status, message = "payload_too_large", 413, "上传的文件过大"


class InternalError(AppError):
    code, status, message = "internal_error", 500, "服务器开小差了，请稍后重试"


class ServiceUnavailable(AppError):
    code, status, message = (
        "service_unavailable",
        503,
        "服务暂时不可用，本次操作未生效，请稍后重试",
    )


# --- authentication and access -------------------------------------------------------------


class NotAuthenticated(AppError):
    code, status, message = "not_authenticated", 401, "请先登录"


class InvalidToken(AppError):
    code, status, message = "invalid_token", 401, "登录状态无效，请重新登录"


class TokenExpired(AppError):
    code, status, message = "token_expired", 401, "登录已过期，请重新登录"


class InvalidRefreshToken(AppError):
    code, status, message = "invalid_refresh_token", 401, "登录凭证已失效，请重新登录"


class InvalidBindingTicket(AppError):
    code, status, message = "invalid_binding_ticket", 401, "绑定已超时，请重新进入小程序"


class Forbidden(AppError):
    code, status, message = "forbidden", 403, "您没有权限进行此操作"


class OwnRecord(AppError):
    code, status, message = "own_record", 403, "不能处理本人的事项"


class MemberInactive(AppError):
    code, status, message = "member_inactive", 403, "您的组织关系已转出，无法登录"


class DevLoginDisabled(AppError):
    code, status, message = "dev_login_disabled", 404, "开发登录未启用"


# --- binding -------------------------------------------------------------------------------


class RosterMemberNotFound(AppError):
    code, status, message = "roster_member_not_found", 404, "花名册中没有该手机号，请联系支部核对"


class InviteCodeInvalid(AppError):
    code, status, message = "invite_code_invalid", 400, "邀请码无效、已使用或已过期"


class WeChatAlreadyBound(AppError):
    code, status, message = "wechat_already_bound", 409, "该微信号已绑定党员，不能重复绑定"


class MemberAlreadyBound(AppError):
    code, status, message = (
        "member_already_bound",
        409,
        "该党员已绑定其他微信号，如需更换请联系支部",
    )


# --- WeChat --------------------------------------------------------------------------------


class WeChatCodeInvalid(AppError):
    code, status, message = "wechat_code_invalid", 400, "微信登录凭证无效或已使用，请重新登录"


class WeChatUserBlocked(AppError):
    code, status, message = "wechat_user_blocked", 403, "微信账号存在风险，暂时无法登录"


class WeChatRateLimited(AppError):
    code, status, message = "wechat_rate_limited", 429, "操作太频繁，请稍后再试"


class WeChatError(AppError):
    code, status, message = "wechat_error", 502, "微信服务返回错误，请稍后重试"


class WeChatBusy(AppError):
    code, status, message = "wechat_busy", 503, "微信服务繁忙，请稍后重试"


# --- organisation and roster -----------------------------------------------------------------


class UnitNotFound(NotFound):
    code, message = "unit_not_found", "组织不存在或不在您的管辖范围内"


class MemberNotFound(NotFound):
    code, message = "member_not_found", "党员不存在或不在您的管辖范围内"


class RoleAssignmentNotFound(NotFound):
    code, message = "role_assignment_not_found", "职务记录不存在或不在您的管辖范围内"


class InvalidParentUnit(AppError):
    code, status, message = "invalid_parent_unit", 400, "上级组织类型不允许添加该类组织"


class PhoneTaken(AppError):
    code, status, message = "phone_taken", 409, "该手机号已登记为其他党员"


class RosterInvalid(AppError):
    code, status, message = "roster_invalid", 422, "花名册有 {rows} 行错误，未导入任何数据"


class RosterColumnsMissing(AppError):
    code, status, message = "roster_columns_missing", 422, "花名册缺少必需的列：{columns}"


class RosterEmpty(AppError):
    code, status, message = "roster_empty", 422, "花名册没有数据行"


class RosterTooLarge(AppError):
    code, status, message = (
        "roster_too_large",
        422,
        "花名册最多 {rows} 行（空行也计入）、{columns} 列、{cells} 个单元格，请分批导入",
    )


class RosterUnreadable(AppError):
    code, status, message = "roster_unreadable", 400, "无法读取该文件，请上传 .xlsx 格式的花名册"


class RosterPreviewNotFound(NotFound):
    code, message = "roster_preview_not_found", "导入预览不存在、已导入，或不是您上传的"


class RosterPreviewExpired(AppError):
    code, status, message = (
        "roster_preview_expired",
        409,
        "导入预览已超过 {minutes} 分钟，请重新上传花名册",
    )


class RosterPreviewStale(AppError):
    code, status, message = (
        "roster_preview_stale",
        409,
        "预览之后，表中党员的信息或职务已有变化，请重新上传花名册",
    )


class RosterConfirmationRequired(AppError):
    code, status, message = (
        "roster_confirmation_required",
        409,
        "请逐一确认预览中改名的党员和新建的党小组后再导入",
    )


class UnitCategoryInvalid(AppError):
    code, status, message = (
        "unit_category_invalid",
        422,
        "该类别不在适用的积分方案中，请从方案列出的类别中选择",
    )


class WeChatUnavailable(AppError):
    code, status, message = "wechat_unavailable", 503, "暂时无法连接微信服务，请稍后重试"


class UnitNameTaken(AppError):
    code, status, message = "unit_name_taken", 409, "同一上级组织下已有同名组织"


class RoleNotAllowedHere(AppError):
    code, status, message = "role_not_allowed_here", 400, "该职务不能设在这一类组织上"


class WeChatNotConfigured(AppError):
    code, status, message = (
        "wechat_not_configured",
        503,
        "未配置微信小程序 AppID，开发环境请使用开发登录",
    )


# --- schemes, periods and the ledger ---------------------------------------------------------


class SchemeInvalid(AppError):
    code, status, message = "scheme_invalid", 422, "积分方案有误，请按提示修改"


class SchemeNotFound(NotFound):
    code, message = "scheme_not_found", "未找到适用的积分方案"


class PresetNotFound(NotFound):
    code, message = "preset_not_found", "没有这个方案预设"


class SchemeOwnerInvalid(AppError):
    code, status, message = "scheme_owner_invalid", 400, "支部考核方案须设在上级党委"


class SchemeExists(AppError):
    code, status, message = "scheme_exists", 409, "该组织已有同类积分方案，请修改现有方案"


class PeriodNotFound(NotFound):
    code, message = "period_not_found", "考核期不存在或不在您的管辖范围内"


class PeriodClosed(AppError):
    code, status, message = "period_closed", 409, "该考核期已结算，不能再记分"


class PeriodStateConflict(AppError):
    code, status, message = "period_state_conflict", 409, "考核期状态已变化，请刷新后重试"


class PeriodNotClosed(AppError):
    code, status, message = "period_not_closed", 409, "该考核期尚未结算"


class PeriodAlreadyClosed(AppError):
    code, status, message = "period_already_closed", 409, "该考核期已结算或已公示"


class PeriodNotPublishable(AppError):
    code, status, message = (
        "period_not_publishable",
        409,
        "只有已结算、未公示的考核期可以公示",
    )


class ResultNotFound(NotFound):
    code, message = "result_not_found", "该党员不在本期考核结果中"


class ResultsNotPublished(AppError):
    code, status, message = "results_not_published", 403, "该期结果尚未公示"


class ItemNotInScheme(AppError):
    code, status, message = "item_not_in_scheme", 400, "该积分事项不在适用的方案中"


class PointsOutOfRange(AppError):
    code, status, message = "points_out_of_range", 400, "分值超出该事项允许的范围"


class SubjectKindMismatch(AppError):
    code, status, message = "subject_kind_mismatch", 400, "该方案的考核对象不是这一类"


class EntryNotFound(NotFound):
    code, message = "entry_not_found", "积分记录不存在或不在您的管辖范围内"


class EntryAlreadyReversed(AppError):
    code, status, message = "entry_already_reversed", 409, "该积分记录已被冲正"


class ReversalNotReversible(AppError):
    code, status, message = "reversal_not_reversible", 409, "冲正记录不能再被冲正"


class PeriodMismatch(AppError):
    code, status, message = "period_mismatch", 400, "方案的考核周期与该考核期不一致"


class ScoringFailed(AppError):
    code, status, message = "scoring_failed", 409, "积分数据不一致，无法计算，请联系管理员"


class FutureDate(AppError):
    code, status, message = "future_date", 400, "发生日期不能晚于今天"


# --- claims, deductions, appeals, photos ----------------------------------------------------


class ItemNotDeclarable(AppError):
    code, status, message = "item_not_declarable", 400, "该事项不能由党员自行申报"


class ItemNotApplicable(AppError):
    code, status, message = "item_not_applicable", 400, "该事项不适用于您的类别或政治面貌"


class EvidenceRequired(AppError):
    code, status, message = "evidence_required", 400, "该事项须上传照片等证明材料"


class PhotoNotFound(NotFound):
    code, message = "photo_not_found", "照片不存在"


class CapReached(AppError):
    code, status, message = "cap_reached", 409, "本期该事项的积分已达上限"


class IdempotencyConflict(AppError):
    code, status, message = "idempotency_conflict", 409, "该请求编号已用于另一条申报"


class ClaimNotFound(NotFound):
    code, message = "claim_not_found", "申报不存在或不在您的管辖范围内"


class ClaimStateConflict(AppError):
    code, status, message = "claim_state_conflict", 409, "该申报已被处理，请刷新后查看"


class NotYourTurn(AppError):
    code, status, message = "not_your_turn", 403, "该申报当前不由您审核"


class ReasonRequired(AppError):
    code, status, message = "reason_required", 422, "驳回须填写原因"


class NotADeduction(AppError):
    code, status, message = "not_a_deduction", 400, "只能选择扣分或否决事项"


class AppealNotAllowed(AppError):
    code, status, message = "appeal_not_allowed", 400, "只能对本人的扣分记录提出申诉"


class AppealWindowClosed(AppError):
    code, status, message = "appeal_window_closed", 409, "已超过申诉期限"


class AppealExists(AppError):
    code, status, message = "appeal_exists", 409, "该记录已有待处理的申诉"


class AppealDecided(AppError):
    code, status, message = "appeal_decided", 409, "该申诉已处理"


class AppealNotFound(NotFound):
    code, message = "appeal_not_found", "申诉不存在或不在您的管辖范围内"


class NoticeNotFound(NotFound):
    code, message = "notice_not_found", "通知不存在"


class WishNotFound(NotFound):
    code, message = "wish_not_found", "微心愿不存在或不在您的支部"


class WishStateConflict(AppError):
    code, status, message = "wish_state_conflict", 409, "该微心愿状态已变化，请刷新后查看"


class WishNotAllowed(AppError):
    code, status, message = (
        "wish_not_allowed",
        403,
        "只有本支部党员可以认领微心愿，只有认领人可以报告完成",
    )


class WishCompleted(AppError):
    code, status, message = "wish_completed", 409, "已完成的微心愿不能取消"


class NotABranch(AppError):
    code, status, message = "not_a_branch", 400, "该操作只能在党支部中进行"


class AlreadySettled(AppError):
    code, status, message = "already_settled", 409, "该支部本年度的微心愿已结算"


class CommitmentNotFound(NotFound):
    code, message = "commitment_not_found", "承诺不存在或不在您的支部"


class CommitmentStateConflict(AppError):
    code, status, message = "commitment_state_conflict", 409, "该承诺状态已变化，请刷新后查看"


class CommitmentNotReported(AppError):
    code, status, message = "commitment_not_reported", 409, "党员尚未报告履诺情况"


class ActionNotFound(NotFound):
    code, message = "action_not_found", "待办不存在或不在您的管辖范围内"


# --- evaluation rounds -------------------------------------------------------------------------


class EvaluationNotInScheme(AppError):
    code, status, message = "evaluation_not_in_scheme", 400, "该方案没有设置评议"


class RoundExists(AppError):
    code, status, message = "round_exists", 409, "该支部本期已有评议"


class RoundNotFound(NotFound):
    code, message = "round_not_found", "评议不存在或不在您的支部"


class RoundStateConflict(AppError):
    code, status, message = "round_state_conflict", 409, "评议当前阶段不接受该操作"


class RoundStageBackwards(AppError):
    code, status, message = (
        "round_stage_backwards",
        409,
        "评议已处于「{stage}」阶段，只能向后推进",
    )


class RoundNotClosed(AppError):
    code, status, message = "round_not_closed", 409, "评议尚未结束"


class ReminderNotDue(RoundStateConflict):
    code, message = "reminder_not_due", "现在不能提醒：尚未到提醒时间、不在互评阶段，或已经提醒过"


class RoundDeadlinePassed(AppError):
    code, status, message = "round_deadline_passed", 409, "评议已截止，不能再提交"


class RatingNotAllowed(AppError):
    code, status, message = "rating_not_allowed", 403, "您不能对该党员进行这项评分"


class RatingNotInRound(AppError):
    code, status, message = "rating_not_in_round", 400, "本次评议没有这一项评分"


class AttendeeOutsideBranch(AppError):
    code, status, message = "attendee_outside_branch", 403, "出席名单中有非本支部党员"


class ScoreOutOfScale(AppError):
    code, status, message = "score_out_of_scale", 400, "分数超出评分范围"


class TextRequired(AppError):
    code, status, message = (
        "text_required",
        422,
        "请填写说明（自评须写成绩与不足，调整总评须写原因）",
    )


class DeliveryNotFound(NotFound):
    code, message = "delivery_not_found", "没有这条已放弃的投递（只能重试已放弃的投递）"


class TemplateInvalid(AppError):
    code, status, message = "template_invalid", 422, "模板字段配置有误"


class TemplateNotNeeded(AppError):
    code, status, message = "template_not_needed", 422, "站内信不需要模板"


class CallbackRefused(AppError):
    code, status, message = "callback_refused", 403, "推送未通过校验（签名或接收配置有误），已拒绝"


class CallbackMalformed(AppError):
    code, status, message = "callback_malformed", 400, "推送内容无法解析或过大"


# --- publication --------------------------------------------------------------------------------


class BoardNotFound(NotFound):
    code, message = "board_not_found", "该组织在本期没有公示榜"


class RobotNotConfigured(NotFound):
    code, message = "robot_not_configured", "本支部尚未配置群机器人"


class RobotKeyInvalid(AppError):
    code, status, message = "robot_key_invalid", 422, "群机器人 Webhook 地址或 key 格式不正确"


class RobotDisabled(AppError):
    code, status, message = "robot_disabled", 409, "群机器人 key 已失效，请先重新配置"


class PosterPageOutOfRange(AppError):
    code, status, message = "poster_page_out_of_range", 422, "海报页码超出范围"


class PosterUnavailable(AppError):
    code, status, message = "poster_unavailable", 503, "服务器未安装中文字体，暂时无法生成海报"


class ExportPeriodInvalid(AppError):
    code, status, message = (
        "export_period_invalid",
        422,
        "导出的时间范围有误：季度如 2026-Q3，年份在 2000 至 2100 之间",
    )
