// 民主评议: the demo's scheme (路头村) has no 评议, so the committee admin first sets up, through
// the API, a branch of its own under the scheme of 宣化 (自评、互评、商评、总评) — no other
// module's units or schemes change. In the console the admin opens a round for that branch,
// sees its progress and grid, and advances it one stage; the API confirms each step.
import { join } from "node:path";

const ADMIN = "13800000001"; // 周建国, committee admin of the town

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ api, base, browser, consoleAs, check, expect, json, RESULTS }) => {
  const tab = await consoleAs(browser, base, ADMIN);
  const { page, bearer } = tab;
  const post = (/** @type {string} */ url, /** @type {unknown} */ body) =>
    json(url, { method: "POST", headers: { ...bearer, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let branchId = 0;
  let roundId = 0;

  await check("evaluations: a branch under a scheme with 评议 is set up through the API", async () => {
    const me = await json(`${api}/me`, { headers: bearer });
    const town = me.body.roles[0].unit_id;
    const branch = await post(`${api}/org/units`, { parent_id: town, kind: "branch", name: `评议演示支部${Date.now() % 10000}` });
    expect(branch.status === 201, `branch: ${JSON.stringify(branch.body)}`);
    branchId = branch.body.id;
    const scheme = await post(`${api}/org/units/${branchId}/schemes`, { preset: "xuanhua" });
    expect(scheme.status === 201, `scheme: ${JSON.stringify(scheme.body)}`);
  });

  await check("evaluations: the admin opens a round in the console and sees its progress", async () => {
    await page.goto(`${base}/admin/evaluations?branch=${branchId}`);
    await page.locator('[data-testid="evaluations"][data-ready="true"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="open-round"]').click();
    const dialog = page.locator(".el-dialog", { has: page.locator('[data-testid="round-form"]') });
    await dialog.waitFor();
    const deadline = await page.evaluate(() => {
      const d = new Date(Date.now() + 3 * 86_400_000);
      const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} 18:00:00`;
    });
    const input = dialog.locator(".el-date-editor input");
    await input.fill(deadline);
    await input.press("Enter");
    await dialog.locator(".el-dialog__title").click();
    await page.locator('[data-testid="confirm-round"]').click();
    await page.waitForURL(/round=\d+/);
    roundId = Number(new URL(page.url()).searchParams.get("round"));
    await page.locator('[data-testid="round-status"][data-status="open"]').waitFor();
    await page.locator('[data-testid="round-progress"]').waitFor();
    const listed = await json(`${api}/org/units/${branchId}/evaluation-rounds`, { headers: bearer });
    expect(listed.body.length === 1 && listed.body[0].id === roundId, `rounds: ${JSON.stringify(listed.body)}`);
    expect(listed.body[0].kinds.includes("mutual"), `kinds: ${listed.body[0].kinds}`);
  });

  await check("evaluations: the admin advances the round one stage and the API agrees", async () => {
    await page.locator('[data-testid="advance-round"]').click();
    await page.locator('[data-testid="confirm-advance"]').click();
    await page.locator('[data-testid="round-status"][data-status="collecting"]').waitFor({ timeout: 15_000 });
    const found = await json(`${api}/evaluation-rounds/${roundId}`, { headers: bearer });
    expect(found.body.status === "collecting", `round: ${JSON.stringify(found.body)}`);
    await page.screenshot({ path: join(RESULTS, "50-evaluations.png"), fullPage: true });
    await page.goto(`${base}/admin/evaluations?branch=${branchId}`);
    await page.locator('[data-testid="round-list"] .el-table__row', { hasText: "自评互评" }).waitFor();
    expect(tab.problems.length === 0, tab.problems.join("\n"));
  });
  await tab.context.close();
};
