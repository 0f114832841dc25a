"""Domain errors: each carries a stable machine `code`, a Chinese `message` and its HTTP status.

One handler in `api.main` renders every error as `{code, message, detail}`. A code has exactly
one message: a raise site never words it differently (a different case is a different code); it
may only fill the message's `{fields}` (numbers, Chinese labels — never an English enum value)
and add `detail`. `tests/test_messages.py` walks the catalogue and every raise site.
"""

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from api.logs import current_request_id


class ErrorBody(BaseModel):
    """The one error shape of the API. `request_id` is the id of the request being answered
    (also in its `X-Request-ID` header and on every log line it wrote), however the error is
    rendered."""

    code: str = Field(description="稳定的机器可读错误码")
    message: str = Field(description="可直接展示给用户的中文提示")
    detail: Any = Field(default=None, description="补充信息，例如出错的字段或行")
    request_id: str | None = Field(
        default_factory=current_request_id, description="请求编号，反馈问题时请一并提供"
    )


class AppError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    message: ClassVar[str] = "请求有误"
    # The refusal is itself a change that must land (a login revoked because its token was
    # reused): the request's session commits instead of rolling back. Raise such an error
    # right after that change and nothing else.
    keeps_changes: ClassVar[bool] = False

    def __init__(self, *, detail: Any = None, **fields: str | int) -> None:
        self.text = self.message.format(**fields)
        self.detail = detail
        self.headers: dict[str, str] = {}
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


class BodyTooLarge(PayloadTooLarge):
    code, message = "body_too_large", "请求内容过大"


class UploadMalformed(AppError):
    code, status, message = "upload_malformed", 400, "上传内容格式有误，请重新选择文件上传"


class InvalidCursor(AppError):
    code, status, message = "invalid_cursor", 400, "分页位置无效，请从第一页重新加载"


class TooManyItems(AppError):
    code, status, message = "too_many_items", 422, "一次提交的条目过多，请分批提交"


class RateLimited(AppError):
    """Too many attempts in a window; `Retry-After` says when the next one is counted afresh."""

    code, status, message = "rate_limited", 429, "操作太频繁，请稍后再试"

    def __init__(self, retry_after: int, *, limit: str) -> None:
        super().__init__(detail={"limit": limit, "retry_after": retry_after})
        self.headers["Retry-After"] = str(retry_after)


class InternalError(AppError):
    code, status, message = "internal_error", 500, "服务器开小差了，请稍后重试"


class ServiceUnavailable(AppError):
    code, status, message = (
        "service_unavailable",
        503,
        "服务暂时不可用，本次操作未生效，请稍后重试",
    )


class WorkerNotRunning(AppError):
    """Readiness: no worker has looped within `WORKER_STALE_SECONDS`."""

    code, status, message = (
        "worker_not_running",
        503,
        "后台工作进程未在运行，通知、排名与定时任务暂停",
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


class RefreshTokenReused(AppError):
    code, status = "refresh_token_reused", 401
    message = "登录凭证已被使用过，为保护账号安全，本次登录已全部失效，请重新登录"
    keeps_changes = True


class InvalidBindingTicket(AppError):
    code, status, message = "invalid_binding_ticket", 401, "绑定已超时，请重新进入小程序"


class Forbidden(AppError):
    code, status, message = "forbidden", 403, "您没有权限进行此操作"


class OwnRecord(AppError):
    code, status, message = "own_record", 403, "不能办理本人的记录"


class RoleNotBelowYours(AppError):
    code, status, message = "role_not_below_yours", 403, "对方的职务不低于您，不能由您办理"


class MemberInactive(AppError):
    code, status, message = "member_inactive", 403, "您的组织关系已转出，无法登录"


class BindingTicketSpent(RateLimited):
    code, message = "binding_ticket_spent", "绑定尝试次数过多，请重新进入小程序后再试"


class DevLoginDisabled(AppError):
    code, status, message = "dev_login_disabled", 404, "开发登录未启用"


class ConsoleTicketInvalid(AppError):
    """No such ticket, a wrong secret, one already used, or one another member confirmed:
    all look alike to the caller."""

    code, status, message = (
        "console_ticket_invalid",
        404,
        "二维码无效或已使用，请在电脑上刷新二维码",
    )


class ConsoleTicketExpired(AppError):
    code, status, message = "console_ticket_expired", 410, "二维码已过期，请在电脑上刷新二维码"


class ConsoleConfirmNeedsMiniProgram(AppError):
    code, status, message = (
        "console_confirm_needs_miniprogram",
        403,
        "请用小程序扫码确认登录",
    )


class LoginNotFound(AppError):
    code, status, message = "login_not_found", 404, "该登录不存在或已退出"


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


class WeChatPageInvalid(AppError):
    code, status, message = (
        "wechat_page_invalid",
        503,
        "小程序尚未发布该页面，暂时无法生成小程序码或链接",
    )


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


class RosterFileTooLarge(PayloadTooLarge):
    code, message = "roster_file_too_large", "花名册文件不能超过 {size}"


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


class RoleAlreadyHeld(AppError):
    code, status, message = "role_already_held", 409, "对方已担任该组织的这一职务"


class DatabaseNotEmpty(AppError):
    code, status, message = (
        "database_not_empty",
        409,
        "数据库中已有组织，不能再次初始化；请以现有管理员的身份操作",
    )


class RootUnitKindInvalid(AppError):
    code, status, message = (
        "root_unit_kind_invalid",
        422,
        "最上级组织须为党委（党工委、党总支），其管理员才能设置积分方案",
    )


class OperatorNotFound(AppError):
    code, status, message = (
        "operator_not_found",
        404,
        "没有使用该手机号的在册党员，不能以其身份操作",
    )


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


class SchemePeriodLocked(AppError):
    code, status, message = (
        "scheme_period_locked",
        409,
        "该方案还有未结算的考核期，不能修改考核周期；请先结算这些考核期",
    )


class CloseNeedsConfirmation(AppError):
    code, status, message = (
        "close_needs_confirmation",
        409,
        "结算前请确认：考核期尚未结束，或还有待审核的申报、待处理的申诉；确认结算须填写原因",
    )


# --- claims, deductions, appeals, photos ----------------------------------------------------


class ItemNotDeclarable(AppError):
    code, status, message = "item_not_declarable", 400, "该事项不能由党员自行申报"


class ItemNotApplicable(AppError):
    code, status, message = "item_not_applicable", 400, "该事项不适用于您的类别或政治面貌"


class EvidenceRequired(AppError):
    code, status, message = "evidence_required", 400, "该事项须上传照片等证明材料"


class PhotoNotFound(NotFound):
    code, message = "photo_not_found", "照片不存在"


class PhotoFileMissing(NotFound):
    code, message = "photo_file_missing", "照片文件已丢失，请联系管理员重新上传"


class PhotoStoreUnavailable(ServiceUnavailable):
    code, message = "photo_store_unavailable", "照片存储暂时不可用，请稍后重试"


class CapReached(AppError):
    code, status, message = "cap_reached", 409, "本期该事项的积分已达上限"


class ClaimPeriodClosed(AppError):
    code, status, message = (
        "claim_period_closed",
        409,
        "该日期所在的考核期已结算，不能再申报；如有遗漏请联系支部",
    )


class ClaimDateOutsideWindow(AppError):
    code, status, message = (
        "claim_date_outside_window",
        422,
        "只能申报本考核期或刚结束（尚未结算）的上一考核期内发生的事项",
    )


class TooManyPendingClaims(AppError):
    code, status, message = (
        "too_many_pending_claims",
        409,
        "该事项待审核的申报已达上限，请等审核后再申报",
    )


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


class AppealRecusal(AppError):
    code, status, message = (
        "appeal_recusal",
        403,
        "这条记分由您录入，申诉须由其他支委或上级党委决定",
    )


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


class WishNoTakerToApprove(WishStateConflict):
    code, message = "wish_no_taker_to_approve", "该微心愿没有待确认的认领人"


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


class RoundDeadlineFixed(RoundStateConflict):
    code, message = "round_deadline_fixed", "自评互评已结束，不能再延长截止时间"


class RoundAlreadyClosed(AppError):
    code, status, message = "round_closed", 409, "评议已结束"


class RoundStageSkipped(AppError):
    code, status, message = (
        "round_stage_skipped",
        409,
        "评议只能逐阶段推进：当前为「{current}」，下一阶段是「{following}」",
    )


class RoundRatingsMissing(AppError):
    code, status, message = (
        "round_ratings_missing",
        409,
        "本阶段还有评分未完成；如确需结束本阶段，请写明原因",
    )


class RoundComponentUnrated(AppError):
    code, status, message = (
        "round_component_unrated",
        409,
        "有党员的「{names}」无人评分，方案规定必须评出，本阶段不能结束",
    )


class DeadlineInvalid(AppError):
    code, status, message = "deadline_invalid", 422, "新的截止时间须晚于原截止时间和现在"


class RoundPeriodUnknown(AppError):
    code, status, message = (
        "round_period_unknown",
        409,
        "该评议登记的考核期「{key}」无法识别，请联系管理员",
    )


class PeriodKeyInvalid(AppError):
    code, status, message = (
        "period_key_invalid",
        422,
        "考核期格式有误，本方案的考核期写作 {example} 这样的形式",
    )


class SelfEvaluationIncomplete(AppError):
    code, status, message = (
        "self_evaluation_incomplete",
        422,
        "自评须分别写明成绩与不足，每项至少 {min_chars} 个字",
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


# --- 组织生活: meetings, leave requests, scan-in ------------------------------------------------


class MeetingNotFound(NotFound):
    code, message = "meeting_not_found", "会议不存在或不在您的支部"


class MeetingKindUnknown(AppError):
    code, status, message = "meeting_kind_unknown", 422, "没有这种会议类型"


class MeetingStateConflict(AppError):
    code, status, message = "meeting_state_conflict", 409, "会议状态已变化，请刷新后查看"


class MeetingNotClosed(MeetingStateConflict):
    code, message = "meeting_not_closed", "会议尚未结束"


class MeetingStarted(MeetingStateConflict):
    code, message = "meeting_started", "会议已开始，不能再改时间"


class MeetingUnderWay(MeetingStateConflict):
    code, message = (
        "meeting_under_way",
        "会议已开始，参会人员和会议类型不能再改；请逐人补签到或登记请假",
    )


class NoAttendees(AppError):
    code, status, message = "no_attendees", 422, "所选组织没有应参会的党员"


class MeetingNotStarted(AppError):
    code, status, message = "meeting_not_started", 409, "会议尚未开始"


class MeetingInPast(AppError):
    code, status, message = "meeting_in_past", 422, "会议开始时间须晚于现在；已开过的会议请直接登记"


class AttendeeNotInBranch(AppError):
    code, status, message = "attendee_not_in_branch", 403, "名单中有非本支部党员"


class NotExpectedAttendee(AppError):
    code, status, message = "not_expected_attendee", 403, "您不在本次会议的参会名单中"


class MemberNotExpected(NotExpectedAttendee):
    code, message = "member_not_expected", "该党员不在本次会议的参会名单中"


class LeaveRefusalReasonRequired(ReasonRequired):
    code, message = "leave_refusal_reason_required", "不批准请假须填写原因"


class LeaveTooLate(AppError):
    code, status, message = (
        "leave_too_late",
        409,
        "会议已开始，不能再请假；确有原因请联系支部书记补记",
    )


class LeaveExists(AppError):
    code, status, message = "leave_exists", 409, "本次会议已有请假记录"


class LeaveRequestNotFound(NotFound):
    code, message = "leave_request_not_found", "请假申请不存在或不在您的支部"


class LeaveStateConflict(AppError):
    code, status, message = "leave_state_conflict", 409, "该请假申请已处理"


class CheckinCodeInvalid(AppError):
    code, status, message = "checkin_code_invalid", 400, "签到码无效，请扫描会场屏幕上的签到码"


class CheckinCodeExpired(AppError):
    code, status, message = "checkin_code_expired", 409, "签到码已过期，请扫描屏幕上最新的签到码"


class LinkInvalid(AppError):
    code, status, message = "link_invalid", 403, "链接无效，请在小程序中重新打开"


class LinkExpired(AppError):
    code, status, message = "link_expired", 403, "链接已过期，请在小程序中重新打开"


class CheckinClosed(AppError):
    code, status, message = "checkin_closed", 409, "本次会议现在不能签到"


class LocationRequired(AppError):
    code, status, message = (
        "location_required",
        422,
        "本次会议须在会场附近签到，请允许小程序获取位置后重新扫码",
    )


class DeliveryNotFound(NotFound):
    code, message = "delivery_not_found", "没有这条已放弃的投递（只能重试已放弃的投递）"


class TemplateNotFound(NotFound):
    code, message = "template_not_found", "该组织没有自己的这项模板"


class TemplateUnitRequired(AppError):
    code, status, message = (
        "template_unit_required",
        422,
        "您管理多个组织，请用 unit_id 指明模板属于哪个组织",
    )


class TemplateInvalid(AppError):
    code, status, message = "template_invalid", 422, "模板字段配置有误"


class TemplateNotNeeded(AppError):
    code, status, message = "template_not_needed", 422, "站内信不需要模板"


class CallbackRefused(AppError):
    code, status, message = "callback_refused", 403, "推送未通过校验（签名或接收配置有误），已拒绝"


class CallbackPlainModeRefused(CallbackRefused):
    code, message = (
        "callback_plain_mode_refused",
        "已配置消息加解密密钥，只接收安全模式（加密）推送",
    )


class CallbackMalformed(AppError):
    code, status, message = "callback_malformed", 400, "推送内容无法解析或过大"


class CallbackStale(AppError):
    code, status, message = "callback_stale", 403, "推送的时间戳不在前后 5 分钟内，已拒绝"


class CallbackReplayed(AppError):
    code, status, message = "callback_replayed", 403, "该推送已接收过，重放的请求已拒绝"


# --- publication --------------------------------------------------------------------------------


class BoardNotFound(NotFound):
    code, message = "board_not_found", "该组织在本期没有公示榜"


class BoardWithdrawn(AppError):
    code, status, message = "board_withdrawn", 409, "该公示已撤回，不能再生成海报"


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


class ShareWithdrawn(AppError):
    code, status, message = "share_withdrawn", 409, "该公示已撤回，不能再分享"


class SharerNotInBranch(AppError):
    code, status, message = "sharer_not_in_branch", 422, "提醒分享的人须是本支部在册党员"


class SceneInvalid(AppError):
    code, status, message = (
        "scene_invalid",
        400,
        "无法识别该二维码，请扫描先锋积分的小程序码或签到码",
    )


class SceneNotFound(NotFound):
    code, message = "scene_not_found", "该二维码已失效，或其内容不在您的查看范围内"


class AttendancePeriodInvalid(AppError):
    code, status, message = (
        "attendance_period_invalid",
        422,
        "期间格式应为 2026-11、2026-Q4、2026-H2 或 2026",
    )


class ExportPeriodInvalid(AppError):
    code, status, message = (
        "export_period_invalid",
        422,
        "导出的时间范围有误：季度如 2026-Q3，年份在 2000 至 2100 之间",
    )
