// 考核与公示: the committee admin closes the current period early (confirmed, with a reason),
// publishes it, opens its board and poster, downloads every export, prints the A4 公示 to PDF
// and reads the PDF's text; then reopens it with a reason. Each step is checked through the API.
// This module runs late on purpose: it is the only one that closes the current period, and it
// leaves that period closed and published again for the modules after it.
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { RESULTS, check, consoleAs, expect, json } from "../lib.mjs";
import { pdfText } from "../pdf-text.mjs";

const ADMIN = "13800000001"; // 周建国, committee admin of the demo town
/** @type {[string, RegExp][]} */
const EXPORTS = [
  ["export-ranking", /公示表\.xlsx$/],
  ["export-quarterly", /汇总公示卡\.xlsx$/],
  ["export-attendance", /组织生活出勤表\.xlsx$/],
];

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser }} screen */
export default async ({ base, api, browser }) => {
  const { context, page, bearer, problems } = await consoleAs(browser, base, ADMIN);
  const me = await json(`${api}/me`, { headers: bearer });
  const town = me.body.roles.find((/** @type {{ role: string }} */ r) => r.role === "committee_admin").unit_id;
  const scheme = await json(`${api}/org/units/${town}/schemes/member`, { headers: bearer });
  const periods = await json(`${api}/schemes/${scheme.body.id}/periods`, { headers: bearer });
  const current = periods.body.find((/** @type {{ status: string }} */ p) => p.status === "open");
  const period = async () => (await json(`${api}/periods/${current.id}`, { headers: bearer })).body;
  const actions = page.locator(`[data-testid="period-actions-${current?.key}"]`);
  const status = page.locator(`[data-testid="period-status-${current?.id}"]`);

  await check("periods: the pre-close check asks an early close to be confirmed with a reason", async () => {
    expect(current, `no open period among ${JSON.stringify(periods.body)}`);
    await page.goto(`${base}/admin/periods`);
    await page.locator('[data-testid="periods"][data-ready="true"]').waitFor({ timeout: 15_000 });
    await actions.getByRole("button", { name: "结算前检查" }).click();
    const dialog = page.locator(".el-dialog", { hasText: "结算前检查" });
    await dialog.waitFor();
    const found = await json(`${api}/periods/${current.id}/pre-close`, { headers: bearer });
    const shown = await dialog.locator('[data-testid="check-pending_claims"]').getAttribute("data-count");
    expect(shown === String(found.body.pending_claims.count), `pending claims ${shown} vs the API's`);
    expect(found.body.needs_confirmation, "an early close needs no confirmation?");
    const submit = dialog.locator('[data-testid="close-submit"]');
    expect(await submit.isDisabled(), "the close is offered before it is confirmed");
    await dialog.locator('[data-testid="close-confirm"]').click();
    await dialog.locator('textarea[data-testid="close-reason"]').fill("演示：月底前提前结算");
    await page.screenshot({ path: join(RESULTS, "70-periods-pre-close.png") });
    await submit.click();
    await page.locator(`[data-testid="period-status-${current.id}"][data-status="closed"]`).waitFor();
    const closed = await period();
    expect(closed.status === "closed" && closed.close_count >= 1, `after close: ${JSON.stringify(closed)}`);
  });

  await check("periods: a closed period is published through the console", async () => {
    await actions.getByRole("button", { name: "公示", exact: true }).click();
    await page.locator(".el-message-box__btns .el-button--primary").click();
    await page.locator(`[data-testid="period-status-${current.id}"][data-status="published"]`).waitFor();
    const published = await period();
    expect(published.status === "published" && published.published_at, JSON.stringify(published));
    expect((await status.textContent())?.includes("已公示"), "the row does not say 已公示");
  });

  /** @type {any} */
  let board = null;
  await check("periods: the board shows the published ranking and the poster", async () => {
    await actions.getByRole("button", { name: "公示榜与导出" }).click();
    await page.locator('[data-testid="board-rows"] .el-table__row').first().waitFor({ timeout: 15_000 });
    // The largest board, picked as the secretary would pick it.
    const summaries = await json(`${api}/periods/${current.id}/boards`, { headers: bearer });
    const largest = summaries.body.reduce((/** @type {any} */ a, /** @type {any} */ b) => (b.scored > a.scored ? b : a));
    await page.locator('[data-testid="board-unit"] .el-select').click();
    await page.locator(".el-select-dropdown__item", { hasText: largest.unit_name }).click();
    await page.waitForURL(new RegExp(`unit=${largest.unit_id}`));
    board = (await json(`${api}/periods/${current.id}/boards/${largest.unit_id}`, { headers: bearer })).body;
    await page.locator('[data-testid="board-rows"] .el-table__row', { hasText: board.rows[0].name }).first().waitFor();
    const rows = await page.locator('[data-testid="board-rows"] .el-table__body tr').count();
    expect(rows === board.rows.length, `${rows} rows shown, the board has ${board.rows.length}`);
    const poster = page.locator('[data-testid="poster"]');
    await poster.locator("img, .el-alert").first().waitFor({ timeout: 15_000 });
    if (await poster.locator("img").count()) {
      const width = await poster.locator("img").evaluate((/** @type {HTMLImageElement} */ img) => img.naturalWidth);
      expect(width > 0, "the poster image is empty");
    }
    await page.screenshot({ path: join(RESULTS, "70-periods.png"), fullPage: true });
  });

  await check("periods: every export downloads under its Chinese file name", async () => {
    for (const [testid, name] of EXPORTS) {
      const [download] = await Promise.all([
        page.waitForEvent("download", { timeout: 15_000 }),
        page.locator(`[data-testid="${testid}"]`).click(),
      ]);
      const file = download.suggestedFilename();
      expect(name.test(file), `${testid} saved as ${file}`);
      expect(file.includes(current.key.slice(0, 4)), `${file} names no year`);
      const path = await download.path();
      expect(path && statSync(path).size > 1000, `${file} is empty`);
    }
  });

  await check("periods: the A4 公示 prints to a PDF holding its title, dates, channel and rows", async () => {
    await page.locator('[data-testid="board-print"]').click();
    await page.waitForURL(/print=1/);
    await page.locator('[data-testid="print-board"]').waitFor();
    await page.screenshot({ path: join(RESULTS, "70-periods-print.png"), fullPage: true });
    await page.emulateMedia({ media: "print" });
    expect(!(await page.locator('[data-testid="navigation"]').isVisible()), "the navigation would print");
    const pdf = await page.pdf({ format: "A4", printBackground: true, preferCSSPageSize: true });
    expect(pdf.length > 5000 && pdf.subarray(0, 5).toString() === "%PDF-", "no PDF was printed");
    writeFileSync(join(RESULTS, "70-periods-board.pdf"), pdf);
    const text = pdfText(pdf).replace(/\s+/g, "");
    const [y, m, d] = board.publicity_until.split("-").map(Number);
    for (const wanted of [
      `${board.unit_name}${board.period_label}党员积分结果公示`,
      `至${y}年${m}月${d}日`,
      "异议渠道",
      board.objection_channel.replace(/\s+/g, ""),
      "档次说明",
      "制表人",
      "审核人",
      board.rows[0].name,
      board.rows[board.rows.length - 1].name,
    ]) {
      expect(text.includes(wanted), `the PDF lacks 「${wanted}」; it reads: ${text.slice(0, 400)}`);
    }
    await page.emulateMedia({ media: "screen" });
  });

  await check("periods: a reopen needs a reason, withdraws the 公示, and the period is open again", async () => {
    await page.goto(`${base}/admin/periods`);
    await page.locator('[data-testid="periods"][data-ready="true"]').waitFor({ timeout: 15_000 });
    await actions.getByRole("button", { name: "重新打开" }).click();
    const submit = page.locator('[data-testid="reopen-submit"]');
    expect(await submit.isDisabled(), "a reopen is offered without a reason");
    await page.locator('textarea[data-testid="reopen-reason"]').fill("演示：更正一条记分后重新结算");
    await submit.click();
    await page.locator(`[data-testid="period-status-${current.id}"][data-status="open"]`).waitFor();
    const reopened = await period();
    expect(reopened.status === "open", JSON.stringify(reopened));
    const summaries = await json(`${api}/periods/${current.id}/boards`, { headers: bearer });
    expect(summaries.body.every((/** @type {{ withdrawn_at: string | null }} */ b) => b.withdrawn_at), "a board is not withdrawn");
    // Leave the period as the modules after this one expect it: closed and published.
    const again = await json(`${api}/periods/${current.id}/close`, {
      method: "POST",
      headers: { ...bearer, "Content-Type": "application/json" },
      body: JSON.stringify({ force: true, reason: "演示：更正后重新结算" }),
    });
    expect(again.status === 200, `close again: ${JSON.stringify(again.body)}`);
    const republished = await json(`${api}/periods/${current.id}/publish`, { method: "POST", headers: bearer });
    expect(republished.status === 200, `publish again: ${JSON.stringify(republished.body)}`);
  });

  await check("periods: no page or console error", async () => {
    expect(problems.length === 0, problems.join("\n"));
  });
  await context.close();
};
