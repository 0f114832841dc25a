// Every screen of the console (issue 21), in the order of its navigation. A screen's page is
// `views/<view>.vue`; until that file exists the screen shows the placeholder.
export interface Screen {
  path: string;
  title: string;
  view: string;
}

export const SCREENS: readonly Screen[] = [
  { path: "/", title: "工作台", view: "WorkbenchView" },
  { path: "/org", title: "组织与党员", view: "OrgView" },
  { path: "/roster", title: "花名册导入", view: "RosterView" },
  { path: "/schemes", title: "积分方案", view: "SchemesView" },
  { path: "/review", title: "审核与申诉", view: "ReviewView" },
  { path: "/evaluations", title: "民主评议", view: "EvaluationsView" },
  { path: "/meetings", title: "组织生活", view: "MeetingsView" },
  { path: "/periods", title: "考核与公示", view: "PeriodsView" },
  { path: "/delivery", title: "推送与群机器人", view: "DeliveryView" },
  { path: "/audit", title: "操作日志", view: "AuditView" },
];
