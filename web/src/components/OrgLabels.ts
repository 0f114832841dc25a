// The Chinese names of the organisation's enums, as the org, roster and audit screens show them.
import type { components } from "../api/schema";

type Schemas = components["schemas"];

export const ROLE_LABELS: Record<Schemas["Role"], string> = {
  member: "党员",
  group_leader: "党小组长",
  branch_committee: "支委委员",
  branch_secretary: "支部书记",
  committee_admin: "党委管理员",
};

/** The roles a unit of each kind can hold (a plain member holds no role). */
export const ROLES_OF_KIND: Record<Schemas["UnitKind"], Schemas["Role"][]> = {
  committee: ["committee_admin"],
  branch: ["branch_secretary", "branch_committee"],
  group: ["group_leader"],
};

export const KIND_LABELS: Record<Schemas["UnitKind"], string> = {
  committee: "党委",
  branch: "党支部",
  group: "党小组",
};

export const POLITICAL_LABELS: Record<Schemas["PoliticalStatus"], string> = {
  full: "正式党员",
  probationary: "预备党员",
  activist: "入党积极分子",
};

export const STATUS_LABELS: Record<Schemas["MemberStatus"], string> = {
  active: "在册",
  transferred_out: "已转出",
};

/** The notice kinds as the server's labels name them (NOTICE_KIND_LABELS in api/schemas/labels.py). */
export const NOTICE_KIND_LABELS: Record<Schemas["NoticeKind"], string> = {
  deduction_card: "记分告知卡",
  threshold: "累计记分达到阈值",
  claim_result: "审核结果",
  appeal_filed: "收到申诉",
  appeal_result: "申诉结果",
  evaluation_reminder: "评议提醒",
  monthly_score: "月度积分情况",
  period_result: "考核结果已公示",
  period_reminder: "考核提醒",
  quarterly_summary: "季度汇总",
  robot_failed: "群机器人推送失败",
  publication_withdrawn: "公示已撤回",
  share_board: "分享公示提醒",
  meeting_scheduled: "会议通知",
  meeting_changed: "会议变更",
  meeting_cancelled: "会议取消",
  meeting_reminder: "会前提醒",
  leave_requested: "请假申请",
  leave_result: "请假审批结果",
  follow_up: "结算决定的处理",
  follow_up_withdrawn: "处理已撤回",
};

export function when(text: string | null | undefined): string {
  return text ? new Date(text).toLocaleString("zh-CN", { hour12: false }) : "—";
}

type Role = Schemas["Role"];

/** Which roles may do what in the console's screens (the API's rule in api/access.py, shown
 * so that a screen offers only what the signed-in member may do; the API refuses the rest). */
export const MAY = {
  issueInvites: new Set<Role>(["branch_committee", "branch_secretary", "committee_admin"]),
  manageMembers: new Set<Role>(["branch_secretary", "committee_admin"]),
  importRoster: new Set<Role>(["branch_secretary", "committee_admin"]),
  assignRoles: new Set<Role>(["committee_admin"]),
  manageOrg: new Set<Role>(["committee_admin"]),
  readAudit: new Set<Role>(["committee_admin"]),
} satisfies Record<string, ReadonlySet<Role>>;

/** Whether one of `roles` (each at a unit path) reaches `path` with a role in `allowed`. */
export function reaches(
  roles: { role: Role; path: string }[],
  allowed: ReadonlySet<Role>,
  path: string,
): boolean {
  return roles.some((held) => allowed.has(held.role) && path.startsWith(held.path));
}

export const AUDIT_ACTION_LABELS: Record<Schemas["AuditAction"], string> = {
  organisation_founded: "初始化组织",
  role_grant: "任命职务",
  role_revoke: "免去职务",
  role_handover: "职务交接",
  member_update: "修改党员信息",
  roster_import: "导入花名册",
  points_adjust: "手工调整积分",
  branch_assess: "支部考核打分",
  entry_reverse: "冲正积分",
  period_close: "结算考核期",
  period_publish: "公示考核结果",
  period_reopen: "重新打开考核期",
  scheme_version: "设置或修改积分方案",
  unit_category: "设置组织类别",
  template_set: "设置通知模板",
  template_remove: "删除通知模板",
  round_advance: "评议进入下一阶段",
  round_deadline: "延长评议截止时间",
  meeting_recorded: "补登会议",
  meeting_leave_recorded: "补记请假",
  meeting_present: "手工签到",
  meeting_reopen: "重新打开会议",
};
