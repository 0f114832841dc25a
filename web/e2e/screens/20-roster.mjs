// 花名册导入: the template downloaded through the UI, filled with a new member in a new group
// (openpyxl, the service's own Excel library), uploaded, previewed, confirmed — then the member
// is in the members grid and in the API's list.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { WEB } from "../lib.mjs";

const ADMIN = "13800000001";
const NEWCOMER = { name: "陈新民", phone: "13800000099", branch: "东村党支部", group: "东村第三党小组" };
const LOCAL_PYTHON = resolve(WEB, "../.venv/bin/python");
const PYTHON = process.env.PYTHON ?? (existsSync(LOCAL_PYTHON) ? LOCAL_PYTHON : "python3");

// Keeps the template's sheets and header; its data rows are replaced by the given ones, each
// written under the column its header names.
const FILL = `
import json, sys
from openpyxl import load_workbook
book = load_workbook(sys.argv[1])
sheet = book.worksheets[0]
header = [cell.value for cell in sheet[1]]
if sheet.max_row > 1:
    sheet.delete_rows(2, sheet.max_row - 1)
for row in json.loads(sys.argv[3]):
    sheet.append([row.get(name, "") for name in header])
book.save(sys.argv[2])
`;

/** @param {string} template @param {string} filled @param {Record<string, string>[]} rows */
function fill(template, filled, rows) {
  const run = spawnSync(PYTHON, ["-c", FILL, template, filled, JSON.stringify(rows)], { encoding: "utf-8" });
  if (run.status !== 0) throw new Error(`filling the template failed: ${run.stderr}`);
}

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ base, api, browser, consoleAs, check, expect, json, RESULTS }) => {
  const { context, page, bearer, problems } = await consoleAs(browser, base, ADMIN);
  const scratch = mkdtempSync(join(tmpdir(), "pioneer-roster-"));
  const template = join(scratch, "template.xlsx");
  const filled = join(scratch, "filled.xlsx");
  const town = (await json(`${api}/me`, { headers: bearer })).body.roles[0].unit_id;

  await check("roster: the template downloads through the UI", async () => {
    await page.goto(`${base}/admin/roster`);
    await page.locator('[data-testid="roster"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid="roster-template"]').click(),
    ]);
    expect(download.suggestedFilename() === "花名册模板.xlsx", `downloaded ${download.suggestedFilename()}`);
    await download.saveAs(template);
  });

  await check("roster: an uploaded sheet is previewed with its new member and new group", async () => {
    fill(template, filled, [
      {
        姓名: NEWCOMER.name,
        手机号: NEWCOMER.phone,
        支部: NEWCOMER.branch,
        党小组: NEWCOMER.group,
        政治面貌: "预备党员",
        类别: "B",
      },
    ]);
    await page.locator('input[type="file"]').setInputFiles(filled);
    const preview = page.locator('[data-testid="roster-preview"]');
    await preview.waitFor();
    expect(!(await page.locator('[data-testid="roster-refused"]').count()), "the sheet was refused");
    await page.locator('[data-testid="roster-created"]', { hasText: NEWCOMER.name }).waitFor();
    await page.locator('[data-testid="roster-new-groups"]', { hasText: NEWCOMER.group }).waitFor();
    expect(
      await page.locator('[data-testid="roster-commit"]').isDisabled(),
      "the import is offered before the new group is checked",
    );
    await page.screenshot({ path: join(RESULTS, "20-roster.png"), fullPage: true });
  });

  await check("roster: the confirmed import puts the member in the grid and the API", async () => {
    await page.locator('[data-testid="roster-check"]').click();
    await page.locator('[data-testid="roster-commit"]').click();
    await page.locator('[data-testid="roster-imported"]').waitFor();
    const found = await json(`${api}/org/units/${town}/members?q=${NEWCOMER.phone}`, { headers: bearer });
    expect(found.body.total === 1, `the API finds ${found.body.total} members`);
    const [member] = found.body.items;
    expect(member.name === NEWCOMER.name && member.political_status === "probationary", JSON.stringify(member));
    const unit = await json(`${api}/org/units/${member.unit_id}`, { headers: bearer });
    expect(unit.body.name === NEWCOMER.group, `the member is in ${unit.body.name}`);
    await page.getByRole("button", { name: "查看党员名单" }).click();
    await page.locator('[data-testid="org"][data-ready="true"]').waitFor();
    await page.locator('[data-testid="member-search"]').fill(NEWCOMER.name);
    await page.locator('[data-testid="member-table"] .el-table__body tr', { hasText: NEWCOMER.phone }).waitFor();
    expect(
      (await page.locator('[data-testid="org-tree"] .el-tree-node__label', { hasText: NEWCOMER.group }).count()) === 1,
      "the new group is not in the tree",
    );
  });

  await check("roster: a sheet without the required columns is refused with its reason", async () => {
    await page.goto(`${base}/admin/roster`);
    await page.locator('[data-testid="roster"][data-ready="true"]').waitFor();
    const run = spawnSync(
      PYTHON,
      ["-c", "import sys\nfrom openpyxl import Workbook\nb = Workbook()\nb.active.append(['姓名'])\nb.active.append(['某人'])\nb.save(sys.argv[1])", filled],
      { encoding: "utf-8" },
    );
    expect(run.status === 0, run.stderr);
    await page.locator('input[type="file"]').setInputFiles(filled);
    const refused = page.locator('[data-testid="roster-refused"]');
    await refused.waitFor();
    expect((await refused.textContent())?.includes("缺少必需的列"), `refused with: ${await refused.textContent()}`);
  });

  await check("roster: the screen logs no error", async () => {
    // The refused upload is the API's 422, which the browser reports as a failed resource.
    const unexpected = problems.filter((/** @type {string} */ p) => !p.includes("status of 422"));
    expect(unexpected.length === 0, unexpected.join("\n"));
  });
  rmSync(scratch, { recursive: true, force: true });
  await context.close();
};
