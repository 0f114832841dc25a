// 操作日志: the role granted on the organisation screen (10-org) is listed when the log is
// filtered by that action through the UI, as the API lists it; a date range of today (a Beijing
// day) keeps it; pages follow the API's cursor.
import { join } from "node:path";

const ADMIN = "13800000001";

/** @param {import("playwright-core").Page} page @param {import("playwright-core").Locator} select @param {string} text */
async function choose(page, select, text) {
  await select.click();
  await page.locator(".el-select-dropdown__item:visible", { hasText: text }).first().click();
}

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ base, api, browser, consoleAs, check, expect, json, RESULTS }) => {
  const { context, page, bearer, problems } = await consoleAs(browser, base, ADMIN);
  const town = (await json(`${api}/me`, { headers: bearer })).body.roles[0].unit_id;
  const rows = page.locator('[data-testid="audit-table"] .el-table__body tr.el-table__row');
  const ready = () => page.locator('[data-testid="audit"][data-ready="true"]').waitFor({ timeout: 15_000 });

  await check("audit: the role granted on the organisation screen is listed under its action", async () => {
    await page.goto(`${base}/admin/audit`);
    await ready();
    await choose(page, page.locator('[data-testid="audit-action"] .el-select'), "任命职务");
    const listed = await json(`${api}/org/units/${town}/audit?action=role_grant&size=20`, { headers: bearer });
    const granted = listed.body.items.filter((/** @type {{member_name: string}} */ e) => e.member_name === "黄海");
    expect(granted.length === 1, `the API lists ${granted.length} grants to 黄海 (10-org grants one)`);
    await page.waitForFunction(
      (/** @type {number} */ n) => {
        const shown = Array.from(document.querySelectorAll('[data-testid="audit-table"] .el-table__body tr.el-table__row'));
        return shown.length === n && shown.every((row) => row.textContent?.includes("任命职务"));
      },
      listed.body.items.length,
    );
    const row = rows.filter({ hasText: "黄海" }).first();
    expect((await row.textContent())?.includes("支委会增补"), "the grant's reason is not shown");
    expect((await row.textContent())?.includes("周建国"), "the grant's actor is not shown");
    await page.screenshot({ path: join(RESULTS, "90-audit.png"), fullPage: true });
  });

  await check("audit: the date range of today is asked of the API in Beijing days and keeps the grant", async () => {
    await page.locator(".el-date-editor--daterange").click();
    const [request] = await Promise.all([
      page.waitForRequest((/** @type {import("playwright-core").Request} */ r) => r.url().includes("/audit?") && r.url().includes("since=")),
      page.locator(".el-picker-panel__shortcut:visible", { hasText: "今天" }).click(),
    ]);
    // "Today" on the PC's calendar (a PC in China keeps Beijing time), asked for as a Beijing day.
    const today = await page.evaluate(() => new Date().toLocaleDateString("sv"));
    const query = new URL(request.url()).searchParams;
    const since = Date.parse(String(query.get("since")));
    const until = Date.parse(String(query.get("until")));
    expect(since === Date.parse(`${today}T00:00:00+08:00`), `since ${query.get("since")} is not today in Beijing`);
    expect(until - since === 86_400_000, `until ${query.get("until")} is not the end of the day`);
    expect(query.get("action") === "role_grant", "the action filter was dropped");
    await ready();
    await rows.filter({ hasText: "黄海" }).first().waitFor();
  });

  await check("audit: pages follow the API's cursor", async () => {
    await page.goto(`${base}/admin/audit`);
    await ready();
    const first = await json(`${api}/org/units/${town}/audit?size=20`, { headers: bearer });
    await page.waitForFunction(
      (/** @type {number} */ n) =>
        document.querySelectorAll('[data-testid="audit-table"] .el-table__body tr.el-table__row').length === n,
      first.body.items.length,
    );
    const older = page.locator('[data-testid="audit-older"]');
    expect((await older.isDisabled()) === (first.body.next_cursor === null), "the next page button is wrong");
    if (first.body.next_cursor !== null) {
      const second = await json(`${api}/org/units/${town}/audit?size=20&before=${first.body.next_cursor}`, { headers: bearer });
      await older.click();
      await page.waitForFunction(
        (/** @type {number} */ n) =>
          document.querySelectorAll('[data-testid="audit-table"] .el-table__body tr.el-table__row').length === n,
        second.body.items.length,
      );
      await page.getByText("第 2 页").waitFor();
    }
  });

  await check("audit: a branch secretary is told the log is the committee's", async () => {
    const secretary = await consoleAs(browser, base, "13800000002");
    await secretary.page.goto(`${base}/admin/audit`);
    await secretary.page.getByText("操作日志由党委管理员查看").waitFor();
    expect(secretary.problems.length === 0, secretary.problems.join("\n"));
    await secretary.context.close();
  });

  await check("audit: the screen logs no error", async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
  await context.close();
};
