// The units the signed-in member reaches and the roles they hold there: what the org, roster
// and audit screens start from.
import { api, messageOf } from "../api/client";
import type { components } from "../api/schema";

import { MAY, reaches } from "./OrgLabels";

export type Unit = components["schemas"]["UnitOut"];
type Role = components["schemas"]["Role"];

export interface TreeNode {
  id: number;
  label: string;
  unit: Unit;
  children: TreeNode[];
}

export interface Scope {
  units: Unit[];
  tree: TreeNode[];
  held: { role: Role; path: string }[];
  memberId: number;
  may(action: keyof typeof MAY, unit: Unit | undefined): boolean;
}

const PAGE = 100;

async function allUnits(): Promise<Unit[]> {
  const units: Unit[] = [];
  for (let page = 1; ; page += 1) {
    const { data, error } = await api.GET("/api/v1/org/units", { params: { query: { page, size: PAGE } } });
    if (error) throw new Error(messageOf(error));
    units.push(...data.items);
    if (units.length >= data.total || data.items.length === 0) return units;
  }
}

function treeOf(units: Unit[]): TreeNode[] {
  const nodes = new Map(units.map((unit) => [unit.id, { id: unit.id, label: unit.name, unit, children: [] as TreeNode[] }]));
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.unit.parent_id === null ? undefined : nodes.get(node.unit.parent_id);
    (parent ? parent.children : roots).push(node);
  }
  return roots;
}

export async function loadScope(): Promise<Scope> {
  const [{ data: me, error }, units] = await Promise.all([api.GET("/api/v1/me"), allUnits()]);
  if (error) throw new Error(messageOf(error));
  const paths = new Map(units.map((unit) => [unit.id, unit.path]));
  const held = me.roles.flatMap((role) => {
    const path = paths.get(role.unit_id);
    return path === undefined ? [] : [{ role: role.role, path }];
  });
  return {
    units,
    tree: treeOf(units),
    held,
    memberId: me.member.id,
    may: (action, unit) => unit !== undefined && reaches(held, MAY[action], unit.path),
  };
}
