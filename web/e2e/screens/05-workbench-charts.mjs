// 工作台's charts beside the counts run.mjs checks: the tier counts, each branch's trend over the
// closed periods, and how the notices reached members (the committee admin's), as the API counts.
import { join } from "node:path";

const ADMIN = "13800000001"; // 周建国

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ api, base, browser, consoleAs, check, expect, json, RESULTS }) => {
  const tab = await consoleAs(browser, base, ADMIN);
  const { page, bearer } = tab;
  await check("workbench: tier, trend and delivery charts are drawn from the API's numbers", async () => {
    await page.goto(`${base}/admin/`);
    await page.locator('[data-testid="workbench"][data-ready="true"]').waitFor({ timeout: 15_000 });
    for (const id of ["trend-chart", "delivery-health"]) {
      await page.locator(`[data-testid="${id}"] canvas`).waitFor({ timeout: 15_000 });
    }
    // The tier chart only when the latest closed period's results have tiers (路头村's have none).
    if (await page.locator('[data-testid="tier-chart"]').count()) {
      await page.locator('[data-testid="tier-chart"] canvas').waitFor();
    }
    const health = await json(`${api}/deliveries/health`, { headers: bearer });
    expect(health.status === 200, `health: ${JSON.stringify(health.body)}`);
    const shown = JSON.parse((await page.locator('[data-testid="delivery-health"]').getAttribute("data-counts")) ?? "{}");
    const { sent, waiting, failed, uncertain } = health.body;
    expect(
      shown.sent === sent && shown.waiting === waiting && shown.failed === failed + uncertain,
      `shown ${JSON.stringify(shown)}, API ${JSON.stringify(health.body)}`,
    );
    await page.locator('[data-testid="delivery-health"]').scrollIntoViewIfNeeded();
    await page.waitForTimeout(1000); // the charts' animation, for the screenshot
    await page.screenshot({ path: join(RESULTS, "05-workbench-charts.png"), fullPage: true });
    expect(tab.problems.length === 0, tab.problems.join("\n"));
  });
  await tab.context.close();
};
