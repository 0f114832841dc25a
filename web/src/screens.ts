// Every screen of the console (issue 21), in the order of its navigation. `built: false` marks a
// screen whose page comes next, on the typed contract (issue 18).
export interface Screen {
  path: string;
  title: string;
  built: boolean;
}

export const SCREENS: readonly Screen[] = [
  { path: "/", title: "工作台", built: true },
  { path: "/org", title: "组织与党员", built: false },
  { path: "/roster", title: "花名册导入", built: false },
  { path: "/schemes", title: "积分方案", built: false },
  { path: "/review", title: "审核与申诉", built: false },
  { path: "/evaluations", title: "民主评议", built: false },
  { path: "/meetings", title: "组织生活", built: false },
  { path: "/periods", title: "考核与公示", built: false },
  { path: "/delivery", title: "推送与群机器人", built: false },
  { path: "/audit", title: "操作日志", built: false },
];
