// 组织与党员: the tree, the members grid searched on the server, a member's page with the
// 一人一卡 download, and a role granted, handed over and revoked through the UI — each checked
// against the API's own lists.
import { join } from "node:path";

const ADMIN = "13800000001"; // 周建国, committee admin of the demo township

/** @param {import("playwright-core").Page} page @param {import("playwright-core").Locator} select @param {string} text */
async function choose(page, select, text, typed = "") {
  await select.click();
  if (typed) {
    // A remote select searches as it is typed into: pick from the answer to the whole text, not
    // from a list the next answer is about to replace.
    const searched = page.waitForResponse((response) =>
      decodeURIComponent(response.url()).includes(`q=${typed}&`),
    );
    await page.keyboard.type(typed);
    await searched;
  }
  await page.locator(".el-select-dropdown__item:visible", { hasText: text }).first().click();
  await select.filter({ hasText: text }).waitFor();
}

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ base, api, browser, consoleAs, check, expect, json, RESULTS }) => {
  const { context, page, bearer, problems } = await consoleAs(browser, base, ADMIN);
  const units = (await json(`${api}/org/units?size=100`, { headers: bearer })).body.items;
  const unitNamed = (/** @type {string} */ name) => units.find((/** @type {{name: string}} */ u) => u.name === name);
  const east = unitNamed("东村党支部");

  await check("org: the tree shows every unit of my scope", async () => {
    await page.goto(`${base}/admin/org`);
    await page.locator('[data-testid="org"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const shown = await page.locator('[data-testid="org-tree"] .el-tree-node__label').allTextContents();
    for (const unit of units) expect(shown.includes(unit.name), `${unit.name} missing from the tree`);
  });

  await check("org: searching the members grid by name or phone asks the API", async () => {
    await page.locator('[data-testid="org-tree"] .el-tree-node__label', { hasText: "东村党支部" }).click();
    await page.locator('[data-testid="unit-name"]', { hasText: "东村党支部" }).waitFor();
    const rows = page.locator('[data-testid="member-table"] .el-table__body tr');
    await page.locator('[data-testid="member-search"]').fill("黄海");
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="member-table"] .el-table__body tr').length === 1,
    );
    const listed = await json(`${api}/org/units/${east.id}/members?q=${encodeURIComponent("黄海")}`, { headers: bearer });
    expect(listed.body.total === 1, `the API finds ${listed.body.total}`);
    expect((await rows.first().textContent())?.includes("13800000009"), "黄海's row shows no phone");
    await page.locator('[data-testid="member-search"]').fill("1380000000");
    const byPhone = await json(`${api}/org/units/${east.id}/members?q=1380000000&status=active&size=20`, { headers: bearer });
    await page.waitForFunction(
      (/** @type {number} */ n) => document.querySelectorAll('[data-testid="member-table"] .el-table__body tr').length === n,
      byPhone.body.items.length,
    );
    const total = await page.locator('[data-testid="member-pager"] .el-pagination__total').textContent();
    expect(total?.includes(String(byPhone.body.total)), `the pager says ${total}, the API ${byPhone.body.total}`);
    await choose(page, page.locator('[data-testid="member-category"] .el-select'), "C");
    const ofC = await json(`${api}/org/units/${east.id}/members?q=1380000000&category=C&status=active&size=20`, { headers: bearer });
    expect(ofC.body.total > 0 && ofC.body.total < byPhone.body.total, `category C: ${ofC.body.total}`);
    await page.waitForFunction(
      (/** @type {number} */ n) => document.querySelectorAll('[data-testid="member-table"] .el-table__body tr').length === n,
      ofC.body.items.length,
    );
    await page.locator('[data-testid="member-category"] .el-select').hover();
    await page.locator('[data-testid="member-category"] .el-select__clear').click();
    await page.screenshot({ path: join(RESULTS, "10-org.png"), fullPage: true });
  });

  await check("org: a member's page shows the ledger and downloads the 一人一卡", async () => {
    await page.locator('[data-testid="member-search"]').fill("刘德华");
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="member-table"] .el-table__body tr').length === 1,
    );
    await page.locator('[data-testid="member-table"] .el-table__body tr').first().getByRole("button", { name: "刘德华" }).click();
    await page.locator('[data-testid="member-name"]', { hasText: "刘德华" }).waitFor();
    const memberId = Number(await page.locator('[data-testid="member-page"]').getAttribute("data-member"));
    const entries = await json(`${api}/members/${memberId}/entries?size=20`, { headers: bearer });
    if (entries.body.total > 0) {
      await page.locator('[data-testid="member-ledger"] .el-table__body tr').first().waitFor();
      const text = await page.locator('[data-testid="member-ledger"]').textContent();
      expect(text?.includes(entries.body.items[0].reason), "the ledger shows no reason");
    }
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid="card-download"]').click(),
    ]);
    expect(download.suggestedFilename().endsWith(".xlsx"), `downloaded ${download.suggestedFilename()}`);
    await page.locator('[data-testid="invite-issue"]').click();
    await page.locator('[data-testid="invite-code"]').waitFor();
    await page.screenshot({ path: join(RESULTS, "10-org-member.png"), fullPage: true });
  });

  await check("org: a member's notices tab lists what the API lists, and leaves them unread", async () => {
    const memberId = Number(await page.locator('[data-testid="member-page"]').getAttribute("data-member"));
    const listed = await json(`${api}/members/${memberId}/notices?size=20`, { headers: bearer });
    await page.getByRole("tab", { name: /^通知/ }).click();
    const table = page.locator('[data-testid="member-notices"][data-loaded="true"]');
    await table.waitFor();
    const rows = table.locator(".el-table__body tr");
    await page.waitForFunction(
      (/** @type {number} */ n) => document.querySelectorAll('[data-testid="member-notices"] .el-table__body tr').length === n,
      listed.body.items.length,
    );
    const shown = await rows.allTextContents();
    listed.body.items.forEach((/** @type {{title: string, read_at: string | null}} */ notice, /** @type {number} */ i) => {
      expect(shown[i]?.includes(notice.title), `row ${i + 1} shows no 「${notice.title}」`);
      expect(shown[i]?.includes(notice.read_at ? "已读" : "未读"), `row ${i + 1} does not say whether it was read`);
    });
    const again = await json(`${api}/members/${memberId}/notices?size=20`, { headers: bearer });
    expect(again.body.unread === listed.body.unread, "showing the notices marked them read");
    await page.screenshot({ path: join(RESULTS, "10-org-notices.png"), fullPage: true });
  });

  /** @param {string} name */
  const committeeOf = async (name) => {
    const listed = await json(`${api}/org/units/${east.id}/roles?role=branch_committee`, { headers: bearer });
    return listed.body.items.find((/** @type {{member_name: string, unit_id: number}} */ h) => h.member_name === name && h.unit_id === east.id);
  };

  await check("org: a role granted through the UI is in the API's roles list", async () => {
    await page.goto(`${base}/admin/org?unit=${east.id}&tab=roles`);
    await page.locator('[data-testid="role-grant"]').click();
    const dialog = page.locator(".el-dialog", { hasText: "任命职务" });
    await dialog.waitFor();
    await choose(page, dialog.locator(".el-form-item", { hasText: "职务" }).locator(".el-select"), "支委委员");
    await choose(page, dialog.locator(".el-form-item", { hasText: "党员" }).locator(".el-select"), "黄海", "黄海");
    await dialog.locator('[data-testid="grant-reason"]').fill("支委会增补");
    await dialog.locator('[data-testid="grant-submit"]').click();
    await page.locator('[data-testid="role-table"] .el-table__body tr', { hasText: "黄海" }).waitFor();
    expect(await committeeOf("黄海"), "the API lists no 黄海 as 支委委员 of 东村党支部");
  });

  await check("org: the role is handed over, then revoked, through the UI", async () => {
    const row = page.locator('[data-testid="role-table"] .el-table__body tr', { hasText: "黄海" });
    await row.locator('[data-testid="role-handover"]').click();
    const dialog = page.locator(".el-dialog", { hasText: "职务交接" });
    await choose(page, dialog.locator(".el-form-item", { hasText: "接任者" }).locator(".el-select"), "吴桂兰", "吴桂兰");
    await dialog.locator('[data-testid="handover-reason"]').fill("工作调整");
    await dialog.locator('[data-testid="handover-submit"]').click();
    await page.locator('[data-testid="role-table"] .el-table__body tr', { hasText: "吴桂兰" }).waitFor();
    expect(!(await committeeOf("黄海")), "黄海 still holds the role");
    expect(await committeeOf("吴桂兰"), "吴桂兰 did not take the role over");
    await page.screenshot({ path: join(RESULTS, "10-org-roles.png"), fullPage: true });
    const successor = page.locator('[data-testid="role-table"] .el-table__body tr', { hasText: "吴桂兰" });
    await successor.locator('[data-testid="role-revoke"]').click();
    await page.locator(".el-message-box input").fill("演示结束，恢复原状");
    await page.locator(".el-message-box").getByRole("button", { name: "免去" }).click();
    await successor.waitFor({ state: "detached" });
    expect(!(await committeeOf("吴桂兰")), "吴桂兰 still holds the role");
  });

  await check("org: a branch secretary is offered no role changes", async () => {
    const secretary = await consoleAs(browser, base, "13800000002");
    await secretary.page.goto(`${base}/admin/org?tab=roles`);
    await secretary.page.locator('[data-testid="role-table"]').waitFor();
    expect((await secretary.page.locator('[data-testid="role-grant"]').count()) === 0, "a grant button is offered");
    expect(secretary.problems.length === 0, secretary.problems.join("\n"));
    await secretary.context.close();
  });

  await check("org: the screen logs no error", async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
  await context.close();
};
