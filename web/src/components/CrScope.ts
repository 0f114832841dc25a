// What the review, meeting, evaluation and delivery screens ask alike: the units where the
// signed-in member holds a role, the names of members and of the scheme's items.
import { api } from "../api/client";
import type { components } from "../api/schema";

type Role = components["schemas"]["RoleOut"];
type Unit = components["schemas"]["UnitOut"];

export const ROLE_LABELS: Record<string, string> = {
  committee_admin: "党委管理员",
  branch_secretary: "支部书记",
  branch_committee: "支委",
  group_leader: "党小组长",
};

export const STEP_LABELS: Record<string, string> = {
  group_leader: "党小组长审核",
  branch_committee: "支委会审核",
  branch_assembly: "党员大会评定",
  party_committee: "党（工）委审核",
};

export interface SchemeItem {
  code: string;
  name: string;
  kind: string;
  points: string | null;
  min_points: string | null;
  max_points: string | null;
}

/** My roles, and the units I see (my role units and everything under them), tree order. */
export async function myScope(): Promise<{ roles: Role[]; units: Unit[] }> {
  const [{ data: me }, { data: units }] = await Promise.all([
    api.GET("/api/v1/me"),
    api.GET("/api/v1/org/units", { params: { query: { size: 100 } } }),
  ]);
  return { roles: me?.roles ?? [], units: units?.items ?? [] };
}

/** The branches among the units I see: where meetings, rounds and robots live. */
export function branchesOf(units: Unit[]): Unit[] {
  return units.filter((unit) => unit.kind === "branch");
}

function text(value: unknown): string | null {
  return typeof value === "string" || typeof value === "number" ? String(value) : null;
}

/** The items of the member scheme that applies to a unit (the definition is the scheme's JSON). */
export async function schemeItems(unit_id: number): Promise<Map<string, SchemeItem>> {
  const { data } = await api.GET("/api/v1/org/units/{unit_id}/schemes/{subject_kind}", {
    params: { path: { unit_id, subject_kind: "member" } },
  });
  const items = (data?.definition as { items?: unknown } | undefined)?.items;
  const found = new Map<string, SchemeItem>();
  if (!Array.isArray(items)) return found;
  for (const raw of items as Record<string, unknown>[]) {
    const code = text(raw["code"]);
    if (!code) continue;
    found.set(code, {
      code,
      name: text(raw["name"]) ?? code,
      kind: text(raw["kind"]) ?? "",
      points: text(raw["points"]),
      min_points: text(raw["min_points"]),
      max_points: text(raw["max_points"]),
    });
  }
  return found;
}

const names = new Map<number, string>();

/** Members' names by id, each asked once per page load. */
export async function memberNames(ids: number[]): Promise<Map<number, string>> {
  const missing = [...new Set(ids)].filter((id) => !names.has(id));
  await Promise.all(
    missing.map(async (member_id) => {
      const { data } = await api.GET("/api/v1/members/{member_id}", {
        params: { path: { member_id } },
      });
      if (data) names.set(member_id, data.name);
    }),
  );
  return names;
}

export function when(text: string | null | undefined): string {
  return text ? new Date(text).toLocaleString("zh-CN", { hour12: false }) : "—";
}
