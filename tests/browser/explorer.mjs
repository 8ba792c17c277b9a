// The API explorer in a real browser (Debian's chromium, driven by playwright-core): opens
// /api-docs, checks the authentication endpoints are listed, logs in with "Try it out" on
// POST /api/auth/login, authorizes the page with the token it answered, and calls GET /api/sessions
// with it (the browser sends the session cookie on its own). Keeps a screenshot.
//
// Usage: node explorer.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_PATH
// Prints one line per step; exits non-zero on the first failure (after taking the screenshot).
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const [base, username, password, shot] = process.argv.slice(2);
if (!base || !username || !password || !shot) {
  console.error("usage: node explorer.mjs BASE_URL USERNAME PASSWORD SCREENSHOT_PATH");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;

// A fresh profile each run, so no state leaks between runs.
const profile = mkdtempSync(join(tmpdir(), "vestibule-explorer-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  viewport: { width: 1280, height: 1600 },
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(TIMEOUT);
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.stack || e}`));
// The explorer must work offline: any request leaving the server is a failure.
const outside = [];
page.on("request", (r) => {
  if (!r.url().startsWith(base) && !r.url().startsWith("data:")) outside.push(r.url());
});

function step(msg) {
  console.log(`ok: ${msg}`);
}

/** The operation block of METHOD PATH. */
function operation(method, path) {
  return page
    .locator(`.opblock.opblock-${method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) })
    .first();
}

/** Expands an operation and turns on "Try it out" (if the page does not start with it on). */
async function open(op) {
  if (!(await op.locator(".opblock-body").count())) {
    await op.locator(".opblock-summary").first().click();
  }
  const tryOut = op.locator("button.try-out__btn");
  if ((await tryOut.count()) && (await tryOut.innerText()).trim() === "Try it out") {
    await tryOut.click();
  }
  return op;
}

let failed = null;
try {
  await page.goto(`${base}/api-docs`, { waitUntil: "domcontentloaded" });
  await page.locator(".opblock").first().waitFor();
  step(`explorer loaded: ${await page.title()}`);

  for (const [method, path] of [
    ["post", "/api/auth/login"],
    ["post", "/api/auth/logout"],
    ["post", "/api/auth/identityToken"],
    ["post", "/api/auth/delegate"],
    ["get", "/api/sessions"],
  ]) {
    await operation(method, path).waitFor();
    step(`listed: ${method.toUpperCase()} ${path}`);
  }

  // Log in from the page.
  const login = await open(operation("post", "/api/auth/login"));
  const body = login.locator("textarea.body-param__text");
  await body.waitFor();
  await body.fill(JSON.stringify({ loginMode: 1, username, password }));
  await login.locator("button.execute").click();
  const status = login.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor();
  const code = (await status.innerText()).trim();
  if (!code.startsWith("204")) {
    const text = await login.locator(".live-responses-table").innerText();
    throw new Error(`login answered ${code}, not 204:\n${text}`);
  }
  const headers = await login.locator(".live-responses-table").innerText();
  const m = /x-mstr-authtoken:\s*([0-9A-Za-z_\-.]+)/i.exec(headers);
  if (!m) throw new Error(`no x-mstr-authtoken among the response headers shown:\n${headers}`);
  const token = m[1];
  step(`logged in from the page: 204, token of ${token.length} characters shown`);

  // Authorize the page with the token.
  await page.locator(".auth-wrapper button.authorize").first().click();
  const dialog = page.locator(".modal-ux");
  await dialog.waitFor();
  // The MicroStrategy scheme's own form (the dialog lists every scheme of the document).
  const form = dialog.locator(".auth-container").filter({ hasText: "mstrAuthToken" }).first();
  await form.locator("input").first().fill(token);
  await form.locator("button.authorize").first().click();
  await dialog.locator("button.btn-done, button.close-modal").first().click();
  step("authorized with the token");

  // A call that needs the session: token from Authorize, cookie from the browser.
  const sessions = await open(operation("get", "/api/sessions"));
  await sessions.locator("button.execute").click();
  const s2 = sessions.locator(".live-responses-table .response .response-col_status").first();
  await s2.waitFor();
  const code2 = (await s2.innerText()).trim();
  if (!code2.startsWith("200")) {
    const text = await sessions.locator(".live-responses-table").innerText();
    throw new Error(`GET /api/sessions answered ${code2}, not 200:\n${text}`);
  }
  step("GET /api/sessions with the token and cookie: 200");
  // Show the login result in the screenshot.
  await login.scrollIntoViewIfNeeded();

  if (outside.length) throw new Error(`the explorer reached outside the server: ${outside.join(", ")}`);
  step("no request left the server");
} catch (e) {
  failed = e;
} finally {
  try {
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: false });
    console.log(`screenshot: ${shot}`);
  } catch (e) {
    console.error(`screenshot failed: ${e}`);
  }
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
// An error in the browser console fails the test: the page logged something broken.
if (!failed && consoleErrors.length) failed = new Error(`browser console errors:\n${consoleErrors.join("\n")}`);
if (failed) {
  console.error(`FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
console.log("explorer test passed");
