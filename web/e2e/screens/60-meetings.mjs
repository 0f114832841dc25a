// 组织生活: the secretary schedules a meeting in the console; a member asks for leave through the
// API and the secretary grants it on the meeting's page; another member checks in with the code
// decoded from the QR code on the projector screen and the live attendance shows it; the
// secretary closes the meeting once it has begun.
import { join } from "node:path";

import { decodeQr } from "../lib.mjs";

const SECRETARY = "13800000002"; // 李红梅, 东村
const ATTENDING = "13800000005"; // 刘德华
const ON_LEAVE = "13800000006"; // 陈静
const LEAD_SECONDS = 75; // the meeting starts this long after it is scheduled

/** @param {{ base: string, api: string, browser: import("playwright-core").Browser, consoleAs: Function, check: Function, expect: Function, json: Function, RESULTS: string }} t */
export default async ({ api, base, browser, consoleAs, check, expect, json, RESULTS }) => {
  /** @param {string} phone */
  const signIn = async (phone) => {
    const login = await json(`${api}/auth/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ phone }),
    });
    return { headers: { Authorization: `Bearer ${login.body.access_token}` }, id: login.body.member.id };
  };
  const attending = await signIn(ATTENDING);
  const onLeave = await signIn(ON_LEAVE);
  const tab = await consoleAs(browser, base, SECRETARY);
  const { page } = tab;
  const title = `e2e 支部党员大会 ${Date.now() % 100000}`;
  let meetingId = 0;
  let startsAt = 0;

  await check("meetings: the secretary schedules a meeting for two members in the console", async () => {
    await page.goto(`${base}/admin/meetings`);
    await page.locator('[data-testid="meetings"][data-ready="true"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="plan-meeting"]').click();
    const dialog = page.locator(".el-dialog", { has: page.locator('[data-testid="meeting-form"]') });
    await dialog.waitFor();
    await page.locator('[data-testid="meeting-title"]').fill(title);
    startsAt = Date.now() + LEAD_SECONDS * 1000;
    const local = await page.evaluate((/** @type {number} */ ms) => {
      const d = new Date(ms);
      const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
    }, startsAt);
    const starts = dialog.locator(".el-date-editor input");
    await starts.fill(local);
    await starts.press("Enter");
    await page.locator('[data-testid="meeting-place"]').fill("东村党员活动室");
    await dialog.getByText("指定党员").click();
    await dialog.locator('[data-testid="meeting-members"]').click();
    for (const name of ["刘德华", "陈静"]) {
      await page.locator(".el-select-dropdown__item:visible", { hasText: name }).click();
    }
    await dialog.locator(".el-dialog__title").click();
    await page.locator('[data-testid="confirm-meeting"]').click();
    await page.waitForURL(/meeting=\d+/);
    meetingId = Number(new URL(page.url()).searchParams.get("meeting"));
    const detail = await json(`${api}/meetings/${meetingId}`, { headers: tab.bearer });
    expect(detail.body.meeting.title === title, `meeting: ${JSON.stringify(detail.body.meeting)}`);
    const who = detail.body.attendees.map((/** @type {{ member_id: number }} */ a) => a.member_id).sort();
    expect(JSON.stringify(who) === JSON.stringify([attending.id, onLeave.id].sort()), `attendees: ${who}`);
  });

  await check("meetings: a leave request filed by a member is granted on the meeting's page", async () => {
    const filed = await json(`${api}/meetings/${meetingId}/leave-requests`, {
      method: "POST",
      headers: { ...onLeave.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ reason: "在外地务工" }),
    });
    expect(filed.status === 201, `leave: ${JSON.stringify(filed.body)}`);
    const row = page.locator(`[data-leave="${filed.body.id}"]`);
    await row.waitFor({ timeout: 15_000 }); // the page's polling brings it
    await row.locator('[data-testid="approve-leave"]').click();
    await row.waitFor({ state: "detached" });
    const detail = await json(`${api}/meetings/${meetingId}`, { headers: tab.bearer });
    const leave = detail.body.leave_requests.find((/** @type {{ id: number }} */ l) => l.id === filed.body.id);
    expect(leave.status === "approved", `leave: ${JSON.stringify(leave)}`);
  });

  await check("meetings: a member checks in with the projected QR code; attendance shows it", async () => {
    await page.locator('[data-testid="show-checkin"]').click();
    const qr = page.locator('[data-testid="checkin-qr"] img');
    await qr.waitFor();
    const content = decodeQr(await qr.screenshot());
    const shown = await page.locator('[data-testid="checkin-qr"]').getAttribute("data-content");
    expect(content && content === shown, `the QR holds ${content}, the API gave ${shown}`);
    const checked = await json(`${api}/checkins`, {
      method: "POST",
      headers: { ...attending.headers, "Content-Type": "application/json" },
      body: JSON.stringify({ code: content }),
    });
    expect(checked.status === 200, `check-in: ${JSON.stringify(checked.body)}`);
    await page.locator('[data-testid="checkin-count"]', { hasText: "已签到 1 / 2 人" }).waitFor({ timeout: 15_000 });
    await page.screenshot({ path: join(RESULTS, "60-meetings-checkin.png") });
    await page.locator('[data-testid="checkin-exit"]').click();
    await page.locator(`[data-member="${attending.id}"][data-checkin="scan"]`).waitFor();
    await page.screenshot({ path: join(RESULTS, "60-meetings.png"), fullPage: true });
  });

  await check("meetings: once it has begun, the secretary closes the meeting", async () => {
    const wait = startsAt + 2000 - Date.now();
    if (wait > 0) await page.waitForTimeout(wait);
    await page.locator('[data-testid="close-meeting"]').click();
    await page.locator(".el-popconfirm .el-button--primary", { hasText: "结束会议" }).click();
    await page.locator('[data-testid="meeting-status"][data-status="closed"]').waitFor({ timeout: 15_000 });
    const detail = await json(`${api}/meetings/${meetingId}`, { headers: tab.bearer });
    const outcomes = Object.fromEntries(
      detail.body.attendees.map((/** @type {{ member_id: number, outcome: string }} */ a) => [a.member_id, a.outcome]),
    );
    expect(outcomes[attending.id] === "present" && outcomes[onLeave.id] === "leave", `outcomes: ${JSON.stringify(outcomes)}`);
    expect(tab.problems.length === 0, tab.problems.join("\n"));
  });
  await tab.context.close();
};
