// 审核与申诉: a member's claim (filed through the API, as the mini-program files it) is approved
// in the console by the group leader, then by the branch secretary, and is then an entry in the
// member's ledger; a second claim with the same photo carries the reuse flag and is rejected
// with a reason; a deduction's 告知卡 is previewed before it is recorded.
import { join } from "node:path";

import { PNG } from "pngjs";

const MEMBER = "13800000005"; // 刘德华, 东村第一党小组
const LEADER = "13800000004"; // 张秀英, his group leader (first step)
const SECRETARY = "13800000002"; // 李红梅, 东村 secretary (党员大会评定, the last step)

/** A photo no earlier run uploaded (random pixels). */
function freshPng() {
  const image = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < image.data.length; i += 1) image.data[i] = i % 4 === 3 ? 255 : Math.floor(Math.random() * 256);
  return PNG.sync.write(image);
}

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ api, base, browser, consoleAs, check, expect, json, RESULTS }) => {
  const login = await json(`${api}/auth/dev/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone: MEMBER }),
  });
  const member = { Authorization: `Bearer ${login.body.access_token}` };
  const memberId = login.body.member.id;

  /** @type {{ id: number }} */
  let claim = { id: 0 };
  /** @type {{ id: number }} */
  let reused = { id: 0 };
  await check("review: a member files two claims with one photo through the API", async () => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(freshPng())], { type: "image/png" }), "forest.png");
    const uploaded = await json(`${api}/photos`, { method: "POST", headers: member, body: form });
    expect(uploaded.status === 201, `upload: ${JSON.stringify(uploaded.body)}`);
    const file = async (/** @type {string} */ key, /** @type {string} */ description) => {
      const filed = await json(`${api}/claims`, {
        method: "POST",
        headers: { ...member, "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({
          item_code: "forest_fire",
          occurred_on: new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" }),
          description,
          photo_ids: [uploaded.body.id],
        }),
      });
      expect(filed.status === 201, `claim: ${JSON.stringify(filed.body)}`);
      return filed.body;
    };
    claim = await file(`e2e-review-${Date.now()}-a`, "参加森林防火巡山");
    reused = await file(`e2e-review-${Date.now()}-b`, "再次参加森林防火巡山");
  });

  /** Tick a claim's row and press a button of the queue. @param {import("playwright-core").Page} page @param {number} id */
  const pick = async (page, id) => {
    const row = page.locator('[data-testid="claims"] .el-table__row', { has: page.locator(`[data-claim="${id}"]`) });
    await row.waitFor();
    await row.locator(".el-checkbox").click();
    return row;
  };

  await check("review: the group leader sees the photos and approves the claim's first step", async () => {
    const tab = await consoleAs(browser, base, LEADER);
    await tab.page.goto(`${base}/admin/review`);
    await tab.page.locator('[data-testid="review"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const row = await pick(tab.page, claim.id);
    expect((await row.locator('[data-testid="photo"]').count()) === 1, "the claim's photo is not shown");
    const flagged = tab.page.locator('[data-testid="claims"] .el-table__row', {
      has: tab.page.locator(`[data-claim="${reused.id}"]`),
    });
    expect((await flagged.locator('[data-testid="reuse-flag"]').count()) === 1, "no reuse flag on the second claim");
    await tab.page.locator('[data-testid="photo"] img').first().waitFor();
    await tab.page.locator('[data-testid="approve-selected"]').click();
    await row.waitFor({ state: "detached" });
    const after = await json(`${api}/claims/${claim.id}`, { headers: member });
    expect(after.body.status === "pending" && after.body.current_step === "branch_assembly", `after step 1: ${JSON.stringify(after.body)}`);
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });

  await check("review: the secretary approves it and it is an entry in the member's ledger", async () => {
    const tab = await consoleAs(browser, base, SECRETARY);
    await tab.page.goto(`${base}/admin/review`);
    await tab.page.locator('[data-testid="review"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const row = await pick(tab.page, claim.id);
    await tab.page.screenshot({ path: join(RESULTS, "40-review.png"), fullPage: true });
    await tab.page.locator('[data-testid="approve-selected"]').click();
    await row.waitFor({ state: "detached" });
    const after = await json(`${api}/claims/${claim.id}`, { headers: member });
    expect(after.body.status === "approved" && after.body.entry_id, `claim: ${JSON.stringify(after.body)}`);
    const ledger = await json(`${api}/members/${memberId}/entries?size=100`, { headers: member });
    const entry = ledger.body.items.find((/** @type {{ id: number }} */ e) => e.id === after.body.entry_id);
    expect(entry && entry.item_code === "forest_fire" && entry.source === "claim", `ledger: ${JSON.stringify(entry)}`);
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });

  await check("review: the leader rejects the claim with the reused photo, with a reason", async () => {
    const tab = await consoleAs(browser, base, LEADER);
    await tab.page.goto(`${base}/admin/review`);
    await tab.page.locator('[data-testid="review"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const row = await pick(tab.page, reused.id);
    await tab.page.locator('[data-testid="reject-selected"]').click();
    await tab.page.locator('[data-testid="reject-reason"]').fill("照片与另一条申报相同");
    await tab.page.locator('[data-testid="confirm-reject"]').click();
    await row.waitFor({ state: "detached" });
    const after = await json(`${api}/claims/${reused.id}`, { headers: member });
    expect(after.body.status === "rejected" && after.body.last_reason === "照片与另一条申报相同", `claim: ${JSON.stringify(after.body)}`);
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });

  await check("review: the secretary previews the 告知卡 of a deduction, then records it", async () => {
    const tab = await consoleAs(browser, base, SECRETARY);
    const { page } = tab;
    await page.goto(`${base}/admin/review?tab=deductions`);
    await page.locator('[data-testid="review"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const before = await json(`${api}/members/${memberId}/entries?size=100`, { headers: member });
    await page.locator('[data-testid="deduction-member"]').click();
    await page.locator(".el-select-dropdown__item:visible", { hasText: "刘德华" }).click();
    await page.locator('[data-testid="deduction-item"]').click();
    await page.locator(".el-select-dropdown__item:visible", { hasText: "未按时交纳党费" }).click();
    await page.locator('[data-testid="deduction-reason"]').fill("本月党费逾期未交");
    await page.locator('[data-testid="preview-card"]').click();
    const preview = page.locator('[data-testid="card-preview"]');
    await preview.waitFor();
    const text = (await preview.textContent()) ?? "";
    expect(text.includes("未按时交纳党费") && text.includes("本月党费逾期未交"), `the preview: ${text}`);
    const unchanged = await json(`${api}/members/${memberId}/entries?size=100`, { headers: member });
    expect(unchanged.body.total === before.body.total, "the preview recorded an entry");
    await page.screenshot({ path: join(RESULTS, "40-review-deduction.png"), fullPage: true });
    await page.locator('[data-testid="record-deduction"]').click();
    await preview.waitFor({ state: "detached" });
    const after = await json(`${api}/members/${memberId}/entries?size=100`, { headers: member });
    expect(after.body.total === before.body.total + 1, "the deduction was not recorded");
    const notices = await json(`${api}/me/notices`, { headers: member });
    const cards = notices.body.items.filter((/** @type {{ kind: string }} */ n) => n.kind === "deduction_card");
    expect(cards.some((/** @type {{ data: { reason: string } }} */ n) => n.data.reason === "本月党费逾期未交"), "no 告知卡 was sent");
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });

  await check("review: a committee member revokes the member's appeal against it", async () => {
    const ledger = await json(`${api}/members/${memberId}/entries?size=100`, { headers: member });
    const entry = ledger.body.items.find((/** @type {{ reason: string }} */ e) => e.reason === "本月党费逾期未交");
    expect(entry, "the deduction is not in the ledger");
    const filed = await json(`${api}/entries/${entry.id}/appeals`, {
      method: "POST",
      headers: { ...member, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "已于当月补交党费" }),
    });
    expect(filed.status === 201, `appeal: ${JSON.stringify(filed.body)}`);
    const tab = await consoleAs(browser, base, "13800000003"); // 王志强, 东村 committee
    const { page } = tab;
    await page.goto(`${base}/admin/review?tab=appeals`);
    await page.locator('[data-testid="review"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const row = page.locator('[data-testid="appeals"] .el-table__row', { hasText: "已于当月补交党费" });
    await row.locator('[data-testid="decide-appeal"]').click();
    await page.getByText("撤销记分（冲正）").click();
    await page.locator('[data-testid="appeal-reason"]').fill("核实已补交");
    await page.locator('[data-testid="confirm-appeal"]').click();
    await row.waitFor({ state: "detached" });
    const decided = await json(`${api}/appeals/${filed.body.id}`, { headers: member });
    expect(decided.body.status === "revoked" && decided.body.reversal_id, `appeal: ${JSON.stringify(decided.body)}`);
    expect(tab.problems.length === 0, tab.problems.join("\n"));
    await tab.context.close();
  });
};
