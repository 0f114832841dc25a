// 推送与群机器人: the screen lists what the API lists — dead letters (none can be produced here:
// no outbox worker runs beside the test service, so the empty state is checked, or a retry if
// one exists), each branch's robot, the templates of the admin's unit — and a branch secretary
// configures the group robot of the branch in the console.
import { join } from "node:path";

const ADMIN = "13800000001"; // 周建国
const OFFICE = "13800000019"; // 罗斌, secretary of 镇机关党支部

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ api, base, browser, consoleAs, check, expect, json, RESULTS }) => {
  const admin = await consoleAs(browser, base, ADMIN);
  const { page, bearer } = admin;

  await check("delivery: the dead letters shown are the API's, and one can be sent again", async () => {
    await page.goto(`${base}/admin/delivery`);
    await page.locator('[data-testid="delivery"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const listed = await json(`${api}/deliveries/dead?size=100`, { headers: bearer });
    expect(listed.status === 200, `dead letters: ${JSON.stringify(listed.body)}`);
    const letters = listed.body.items;
    const rows = page.locator('[data-testid="dead-letters"] .el-table__body-wrapper [data-delivery]');
    expect((await rows.count()) === letters.length, `shown ${await rows.count()}, listed ${letters.length}`);
    if (letters.length === 0) {
      await page.getByText("没有投递失败的通知").waitFor();
    } else {
      const [first] = letters;
      await page.locator(`.el-table__row:has([data-delivery="${first.id}"]) [data-testid="retry"]`).click();
      await page.locator(`[data-delivery="${first.id}"]`).waitFor({ state: "detached" });
      const after = await json(`${api}/deliveries/dead?size=100`, { headers: bearer });
      expect(!after.body.items.some((/** @type {{ id: number }} */ d) => d.id === first.id), "the retried letter is still dead");
    }
  });

  await check("delivery: each branch's robot status is the API's", async () => {
    await page.getByRole("tab", { name: "群机器人" }).click();
    const cards = page.locator('[data-testid="robot"]');
    await cards.first().waitFor();
    const units = await json(`${api}/org/units?size=100`, { headers: bearer });
    const branches = units.body.items.filter((/** @type {{ kind: string }} */ u) => u.kind === "branch");
    expect((await cards.count()) === branches.length, `${await cards.count()} robots shown for ${branches.length} branches`);
    for (const branch of branches) {
      const robot = await json(`${api}/org/units/${branch.id}/robot`, { headers: bearer });
      const expected = robot.status === 200 ? robot.body.status : "none";
      const shown = await page.locator(`[data-testid="robot"][data-branch="${branch.id}"]`).getAttribute("data-status");
      expect(shown === expected, `${branch.name}: shown ${shown}, API ${expected}`);
    }
  });

  await check("delivery: the templates shown are the ones the API gives for my unit", async () => {
    await page.getByRole("tab", { name: "通知模板" }).click();
    const me = await json(`${api}/me`, { headers: bearer });
    const unit = me.body.roles[0].unit_id;
    const listed = await json(`${api}/notice-templates?unit_id=${unit}`, { headers: bearer });
    expect(listed.status === 200, `templates: ${JSON.stringify(listed.body)}`);
    const table = page.locator('[data-testid="templates"]');
    await table.waitFor();
    const rows = table.locator(".el-table__body-wrapper .el-table__row");
    expect((await rows.count()) === listed.body.length, `shown ${await rows.count()}, listed ${listed.body.length}`);
    await page.screenshot({ path: join(RESULTS, "80-delivery.png"), fullPage: true });
    expect(admin.problems.length === 0, admin.problems.join("\n"));
  });
  await admin.context.close();

  await check("delivery: a branch secretary configures the branch's group robot", async () => {
    const tab = await consoleAs(browser, base, OFFICE);
    await tab.page.goto(`${base}/admin/delivery?tab=robots`);
    await tab.page.locator('[data-testid="delivery"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const me = await json(`${api}/me`, { headers: tab.bearer });
    const branch = me.body.roles[0].unit_id;
    const card = tab.page.locator(`[data-testid="robot"][data-branch="${branch}"]`);
    await card.locator('[data-testid="configure-robot"]').click();
    await tab.page.locator('[data-testid="robot-key"]').fill("e2e0robot0key0000000000000000001");
    await tab.page.locator('[data-testid="save-robot"]').click();
    await tab.page.locator(`[data-testid="robot"][data-branch="${branch}"][data-status="active"]`).waitFor();
    const robot = await json(`${api}/org/units/${branch}/robot`, { headers: tab.bearer });
    expect(robot.status === 200 && robot.body.status === "active", `robot: ${JSON.stringify(robot.body)}`);
    expect(!JSON.stringify(robot.body).includes("e2e0robot0key0000000000000000001"), "the key is readable");
    await tab.page.screenshot({ path: join(RESULTS, "80-delivery-robot.png"), fullPage: true });
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });
};
