// What every browser test of the console shares: the outcome list, assertions, the QR decoder,
// the API as the mini-program calls it, and a console tab signed in as any demo member.
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import jsQR from "jsqr";
import { PNG } from "pngjs";

// The secretary's PC: a screen of the office's size, in Chinese, on Beijing time (the console's
// "today" is the PC's calendar day; a browser on the CI machine's UTC saw yesterday's date
// between midnight and 8 in the morning in Beijing).
export const SECRETARY_PC = {
  viewport: { width: 1366, height: 800 },
  locale: "zh-CN",
  timezoneId: "Asia/Shanghai",
};

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const RESULTS = join(WEB, "test-results");

/** @type {{ name: string, ok: boolean, detail?: string }[]} */
export const outcomes = [];

/** @param {string} name @param {() => Promise<void>} body */
export async function check(name, body) {
  try {
    await body();
    outcomes.push({ name, ok: true });
    console.log(`ok    ${name}`);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    outcomes.push({ name, ok: false, detail });
    console.log(`FAIL  ${name}\n      ${detail.split("\n").join("\n      ")}`);
  }
}

/** @param {unknown} condition @param {string} message @returns {asserts condition} */
export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/** @param {Buffer} png */
export function decodeQr(png) {
  const image = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  return found?.data ?? null;
}

/** A request as the mini-program makes it. @param {string} url @param {RequestInit} [init] */
export async function json(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}


/**
 * A console tab signed in as the demo member with this phone, as the dev picker would sign in:
 * the tokens of a dev login put where the console keeps its login (sessionStorage).
 * @param {import("playwright-core").Browser} browser @param {string} base @param {string} phone
 */
export async function consoleAs(browser, base, phone) {
  const signedIn = await json(`${base}/api/v1/auth/dev/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ phone }),
  });
  expect(signedIn.status === 200, `dev login of ${phone}: ${JSON.stringify(signedIn.body)}`);
  const tokens = signedIn.body;
  const context = await browser.newContext(SECRETARY_PC);
  const stored = { accessToken: tokens.access_token, refreshToken: tokens.refresh_token, member: tokens.member };
  await context.addInitScript((value) => {
    sessionStorage.setItem("pioneer-console-login", value);
  }, JSON.stringify(stored));
  const page = await context.newPage();
  /** @type {string[]} */
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  const bearer = { Authorization: `Bearer ${tokens.access_token}` };
  return { context, page, tokens, bearer, problems };
}
