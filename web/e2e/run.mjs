// Browser tests of the console against the real service: Debian's Chromium driven by
// playwright-core (never a browser download), uvicorn started here on a free port with the demo
// township, on SQLite, or on PostgreSQL when TEST_DATABASE_URL names a fresh database.
//
//   npm run build && npm run e2e        (PYTHON: the interpreter with the service installed)
//
// Screenshots go to web/test-results/ with the server's log. The workbench's load time is
// measured and printed, not asserted. The last line is "N passed, N failed".
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

import { chromium } from "playwright-core";

import { RESULTS, SECRETARY_PC, WEB, check, consoleAs, decodeQr, expect, json, outcomes } from "./lib.mjs";

const ROOT = resolve(WEB, "..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const PYTHON =
  process.env.PYTHON ?? (existsSync(join(ROOT, ".venv/bin/python")) ? join(ROOT, ".venv/bin/python") : "python3");
const ADMIN_PHONE = "13800000001"; // 周建国, the demo township's committee admin
const ADMIN_NAME = "周建国";

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** @param {Record<string, string>} env @param {string[]} args */
function python(env, ...args) {
  const run = spawnSync(PYTHON, args, { cwd: ROOT, env, encoding: "utf-8" });
  if (run.status !== 0) {
    throw new Error(`${PYTHON} ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
  }
  return run.stdout;
}

/** The service's environment: dev mode without WeChat (the dev login exists), our database. */
function serviceEnv(/** @type {string} */ databaseUrl, /** @type {string} */ scratch) {
  /** @type {Record<string, string>} */
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(WECHAT_|SERVICE_APP_|SERVICE_CALLBACK|SERVICE_ENCODING)/.test(key)) {
      env[key] = value;
    }
  }
  return {
    ...env,
    ENV: "dev",
    DATABASE_URL: databaseUrl,
    MIGRATION_DATABASE_URL: databaseUrl,
    CONSOLE_DIR: join(WEB, "dist"),
    PHOTO_DIR: join(scratch, "photos"),
    // No outbox worker runs beside this service, so /readyz must not wait for its heartbeat.
    WORKER_STALE_SECONDS: "0",
    PYTHONPATH: ROOT,
  };
}

/** @param {string} base */
async function waitUntilReady(base, /** @type {import("node:child_process").ChildProcess} */ server) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the service exited (${server.exitCode})`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error("the service did not become ready in 60 s");
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  expect(existsSync(join(WEB, "dist/index.html")), "web/dist is missing: run `npm run build` first");
  const scratch = mkdtempSync(join(tmpdir(), "pioneer-e2e-"));
  const databaseUrl = process.env.TEST_DATABASE_URL || `sqlite+aiosqlite:///${join(scratch, "e2e.db")}`;
  const where = databaseUrl.startsWith("postgresql") ? "PostgreSQL" : "SQLite";
  console.log(`console e2e on ${where}, Chromium at ${CHROMIUM}`);
  const env = serviceEnv(databaseUrl, scratch);
  python(env, "-m", "alembic", "upgrade", "head");
  const seeded = python(env, "-m", "api.cli", "seed-demo");
  expect(seeded.includes("演示数据"), `the demo data was not loaded:\n${seeded}`);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let log = "";
  const server = spawn(
    PYTHON,
    ["-m", "uvicorn", "api.main:app", "--host", "127.0.0.1", "--port", String(port)],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout.on("data", (chunk) => (log += chunk));
  server.stderr.on("data", (chunk) => (log += chunk));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    await waitUntilReady(base, server);
    await scenarios(base, browser, () => log);
    await screens(base, browser, () => log);
  } finally {
    await browser.close();
    server.kill("SIGTERM");
    await new Promise((done) => (server.exitCode === null ? server.once("exit", done) : done(null)));
    writeFileSync(join(RESULTS, `server-${where}.log`), log);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * @param {string} base
 * @param {import("playwright-core").Browser} browser
 * @param {() => string} serverLog
 */
async function scenarios(base, browser, serverLog) {
  const api = `${base}/api/v1`;
  const context = await browser.newContext(SECRETARY_PC);
  const page = await context.newPage();
  /** @type {string[]} */
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  /** @type {{ ticket_id: string, secret: string, qr_content: string } | null} */
  let ticket = null;
  page.on("response", async (response) => {
    if (response.url().endsWith("/api/v1/auth/console-tickets") && response.status() === 201) {
      ticket = await response.json();
    }
  });

  let phone = /** @type {{ access_token: string } | null} */ (null);
  await check("the sign-in page shows a QR code holding a fresh one-time ticket", async () => {
    await page.goto(`${base}/admin/`);
    await page.waitForURL(/\/admin\/login/);
    const qr = page.locator('[data-testid="login-qr"][data-state="waiting"] img');
    await qr.waitFor();
    await page.screenshot({ path: join(RESULTS, "01-sign-in.png") });
    const content = decodeQr(await qr.screenshot());
    expect(ticket, "no ticket was asked for");
    expect(content === ticket.qr_content, `the QR code holds ${content}, not ${ticket.qr_content}`);
    expect(content === `pioneer-console:${ticket.ticket_id}`, `unexpected QR content ${content}`);
    expect(await page.getByText("请用「先锋积分」小程序扫码").isVisible(), "no scan instructions");
  });

  await check("the mini-program confirms the scanned ticket and the console signs in", async () => {
    expect(ticket, "no ticket");
    // Standing in for the mini-program: the admin signed in on the phone (the dev login is the
    // mini-program's login in development), scanning the code and confirming.
    const signedIn = await json(`${api}/auth/dev/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ phone: ADMIN_PHONE }),
    });
    expect(signedIn.status === 200, `dev login: ${JSON.stringify(signedIn.body)}`);
    phone = signedIn.body;
    const scanned = (await page.locator('[data-testid="login-qr"] img').screenshot());
    const ref = String(decodeQr(scanned)).replace("pioneer-console:", "");
    const confirmed = await json(`${api}/auth/console-tickets/${ref}/confirm`, {
      method: "POST",
      headers: { Authorization: `Bearer ${signedIn.body.access_token}` },
    });
    expect(confirmed.status === 200, `confirm: ${JSON.stringify(confirmed.body)}`);
    await page.waitForURL(`${base}/admin/`);
    await page.locator('[data-testid="workbench"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const who = await page.locator('[data-testid="signed-in-as"]').textContent();
    expect(who?.trim() === ADMIN_NAME, `signed in as ${who}`);
  });

  await check("the workbench shows what waits, as the API counts it, and a chart", async () => {
    const bearer = { Authorization: `Bearer ${phone?.access_token}` };
    const shown = async (/** @type {string} */ key) =>
      page.locator(`[data-testid="count-${key}"] .value`).getAttribute("data-value");
    const inbox = await json(`${api}/claims/review-inbox?size=1`, { headers: bearer });
    expect((await shown("reviews")) === String(inbox.body.total), "review inbox count differs");
    const me = await json(`${api}/me`, { headers: bearer });
    const town = me.body.roles[0].unit_id;
    const appeals = await json(`${api}/org/units/${town}/appeals?status=open`, { headers: bearer });
    expect((await shown("appeals")) === String(appeals.body.total), "open appeals count differs");
    const actions = await json(`${api}/org/units/${town}/committee-actions?open=true`, { headers: bearer });
    expect((await shown("follow-ups")) === String(actions.body.total), "follow-ups count differs");
    const units = await json(`${api}/org/units?size=100`, { headers: bearer });
    let underWay = 0;
    for (const unit of units.body.items.filter((/** @type {{ kind: string }} */ u) => u.kind === "branch")) {
      const rounds = await json(`${api}/org/units/${unit.id}/evaluation-rounds`, { headers: bearer });
      underWay += rounds.body.filter((/** @type {{ status: string }} */ r) => r.status !== "closed").length;
    }
    expect((await shown("rounds")) === String(underWay), "rounds under way differ");
    for (const key of ["periods-due", "periods-unpublished"]) {
      expect(/^\d+$/.test(String(await shown(key))), `${key} shows no count`);
    }
    const canvas = page.locator('[data-testid="score-chart"] canvas');
    expect((await canvas.count()) > 0, "the score chart drew nothing");
    await page.waitForTimeout(1500); // the bars' animation, for the screenshot
    await page.screenshot({ path: join(RESULTS, "02-workbench.png"), fullPage: true });
  });

  await check("a count opens the screen where it is dealt with", async () => {
    await page.locator('[data-testid="count-periods-due"]').click();
    await page.waitForURL(`${base}/admin/periods`);
    await page.goBack();
    await page.locator('[data-testid="workbench"][data-ready="true"]').waitFor({ timeout: 15_000 });
  });

  await check("the console's login is its own, listed on the phone and shorter", async () => {
    const bearer = { Authorization: `Bearer ${phone?.access_token}` };
    const logins = await json(`${api}/me/sessions`, { headers: bearer });
    const consoles = logins.body.filter((/** @type {{ kind: string }} */ l) => l.kind === "console");
    expect(consoles.length === 1, `console logins: ${JSON.stringify(logins.body)}`);
    const [own] = consoles;
    const hours = (Date.parse(own.expires_at) - Date.parse(own.created_at)) / 3_600_000;
    expect(hours <= 24, `a console login of ${hours} hours`);
    expect(own.client && own.client.includes("Chrome"), `the console's browser: ${own.client}`);
  });

  await check("the workbench loads (measured, not asserted)", async () => {
    const started = Date.now();
    await page.reload();
    await page.locator('[data-testid="workbench"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const elapsed = Date.now() - started;
    const timing = await page.evaluate(() => {
      const [nav] = /** @type {PerformanceNavigationTiming[]} */ (performance.getEntriesByType("navigation"));
      return nav ? Math.round(nav.domContentLoadedEventEnd) : -1;
    });
    console.log(`      workbench ready ${elapsed} ms after reload (DOMContentLoaded at ${timing} ms)`);
  });

  await check("every screen is in the navigation", async () => {
    const items = await page.locator('[data-testid="navigation"] .el-menu-item').allTextContents();
    const titles = items.map((text) => text.trim());
    for (const title of ["工作台", "组织与党员", "花名册导入", "积分方案", "审核与申诉", "民主评议", "组织生活", "考核与公示", "推送与群机器人", "操作日志"]) {
      expect(titles.includes(title), `${title} missing from ${titles.join("、")}`);
    }
  });

  await check("the ticket's secret appears in no log line of the service", async () => {
    expect(ticket, "no ticket");
    expect(serverLog().includes("/api/v1/auth/console-tickets/"), "the access log shows no polling");
    expect(!serverLog().includes(ticket.secret), "the secret is in the service's log");
  });

  await check("the page loads nothing the console's policy refuses, and logs no error", async () => {
    expect(problems.length === 0, problems.join("\n"));
  });

  await check("in development, a demo account can be picked instead of scanning", async () => {
    const other = await browser.newContext(SECRETARY_PC);
    const picker = await other.newPage();
    await picker.goto(`${base}/admin/login`);
    await picker.locator('[data-testid="dev-picker"]').waitFor();
    await picker.locator('[data-testid="dev-picker"] .el-select').click();
    await picker.locator(".el-select-dropdown__item", { hasText: "李红梅" }).click();
    await picker.getByRole("button", { name: "登录", exact: true }).click();
    await picker.locator('[data-testid="workbench"][data-ready="true"]').waitFor({ timeout: 15_000 });
    const who = await picker.locator('[data-testid="signed-in-as"]').textContent();
    expect(who?.trim() === "李红梅", `signed in as ${who}`);
    await picker.screenshot({ path: join(RESULTS, "04-dev-picker-workbench.png") });
    await other.close();
  });
  await context.close();
}

/**
 * Each screen's scenarios live in e2e/screens/*.mjs (run in the order of their names): a module's
 * default export receives the service's address, the browser, the demo accounts and the helpers.
 * @param {string} base @param {import("playwright-core").Browser} browser @param {() => string} serverLog
 */
async function screens(base, browser, serverLog) {
  const folder = join(WEB, "e2e", "screens");
  const files = existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith(".mjs")).sort() : [];
  for (const file of files) {
    const module = await import(pathToFileURL(join(folder, file)).href);
    await module.default({ base, api: `${base}/api/v1`, browser, serverLog, consoleAs, check, expect, json, RESULTS });
  }
}

try {
  await main();
} catch (error) {
  outcomes.push({ name: "set-up", ok: false, detail: String(error) });
  console.log(`FAIL  set-up\n      ${error instanceof Error ? error.stack : String(error)}`);
}
const failed = outcomes.filter((outcome) => !outcome.ok).length;
console.log(`${outcomes.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
