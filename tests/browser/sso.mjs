// Single sign-on in a real browser (Debian's chromium, driven by playwright-core), both dialects,
// against a vestibule configured with an OpenID Connect provider (compat/oidc_idp.mjs, whose
// development pages are a login form and a consent form). Driven by tests/it/sso_browser.rs.
//
// MicroStrategy: the sign-in page's provider button, the provider's pages, the signed-in page
// (user name, screenshot, a personal API token), then from a page of the server: the browser
// session's auth token (GET {context}/api/auth/token), userInfo with it, logout, and no token
// after. ThoughtSpot, in a fresh browser context: /callosum/v1/oidc/login?targetURLPath=…, the
// provider, back at the target; from the page v1 session/info and v2 session/token (a bearer
// token), which the official SDK (@thoughtspot/rest-api-sdk, in Node) then uses; v1 logout, after
// which session/info answers 401, and the bearer's v2 logout, after which it is refused.
//
// Usage: node sso.mjs BASE_URL CONTEXT_PATH PROVIDER_NAME USERNAME SCREENSHOT_PATH COMPAT_DIR
// Prints `ok: …` per checked step and `value: NAME=…` for what the Rust test checks itself;
// exits non-zero on the first failure (after a screenshot of where it failed).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

const [base, ctx, providerName, username, shot, compatDir] = process.argv.slice(2);
if (!base || ctx === undefined || !providerName || !username || !shot || !compatDir) {
  console.error("usage: node sso.mjs BASE_URL CONTEXT_PATH PROVIDER_NAME USERNAME SCREENSHOT_PATH COMPAT_DIR");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;
// The SDK is compat's (pinned in compat/package.json), not a copy of this directory's own.
const sdkPath = createRequire(join(compatDir, "package.json")).resolve("@thoughtspot/rest-api-sdk");
const { ThoughtSpotRestApi, createBearerAuthenticationConfig } = await import(pathToFileURL(sdkPath).href);

function step(msg) {
  console.log(`ok: ${msg}`);
}
function value(name, v) {
  console.log(`value: ${name}=${v}`);
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});
// The server's pages' console errors (the provider's development pages load outside assets).
const consoleErrors = [];
// The page fetches below that are meant to answer 401 (Chromium logs each in the console).
let expected401 = 0;
let current = null; // the page a failure is photographed on

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (m) => {
    if (m.type() === "error" && page.url().startsWith(base)) consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`uncaught: ${e.stack || e}`));
  current = page;
  return page;
}

/**
 * At the provider: its login form (fields `login`, `password`) and its consent form, in whichever
 * order and number it shows them, until the browser is sent to a URL for which `back(url)` holds.
 * What it saw, e.g. ["login", "consent"].
 */
async function atProvider(page, back) {
  const seen = [];
  for (let i = 0; i < 10; i++) {
    await page.waitForLoadState("load");
    const url = new URL(page.url());
    if (back(url)) return seen;
    expect(!url.href.startsWith(base), `sent back to ${url.href}, not where expected`);
    const before = page.url();
    if (await page.locator('input[name="login"]').count()) {
      seen.push("login");
      await page.locator('input[name="login"]').fill(username);
      await page.locator('input[name="password"]').fill("any");
      await page.locator('button[type="submit"]').click();
    } else if (await page.locator('input[name="prompt"][value="consent"]').count()) {
      seen.push("consent");
      await page.locator('button[type="submit"]').click();
    } else {
      throw new Error(`unexpected page at the provider, ${url.href}:\n${await page.content()}`);
    }
    await page.waitForURL((u) => u.href !== before);
  }
  throw new Error("the provider did not send the browser back");
}

/** `fetch` from the page (its origin, its cookies): status, headers and body text. */
function pageFetch(page, path, init = {}) {
  return page.evaluate(
    async ([path, init]) => {
      const r = await fetch(path, { credentials: "include", ...init });
      return { status: r.status, headers: Object.fromEntries(r.headers.entries()), text: await r.text() };
    },
    [path, init],
  );
}

let failed = null;
let shotTaken = false;
try {
  // ---- MicroStrategy ----
  let page = await newPage();
  await page.goto(`${base}${ctx}/auth/login`);
  const button = page.getByRole("button", { name: `Sign in with ${providerName}`, exact: true });
  expect((await button.count()) === 1, `the sign-in page has no single "Sign in with ${providerName}" button`);
  step(`mstr: the sign-in page lists "Sign in with ${providerName}"`);
  await Promise.all([page.waitForURL((u) => !u.href.startsWith(base)), button.click()]);
  step(`mstr: the button went to the provider (${new URL(page.url()).origin})`);
  const signedIn = `${base}${ctx}/auth/signed-in`;
  const seen = await atProvider(page, (u) => u.href.startsWith(base));
  step(`mstr: at the provider: ${seen.join(", ")}`);
  expect(page.url() === signedIn, `landed on ${page.url()}, not ${signedIn}`);
  step(`mstr: landed on ${ctx}/auth/signed-in`);
  const shownUser = (await page.locator("#username").innerText()).trim();
  value("mstr_page_username", shownUser);
  value("mstr_page_full_name", (await page.locator("#full-name").innerText()).trim());
  expect(shownUser === username, `#username is ${shownUser}, not ${username}`);
  step(`mstr: the signed-in page shows #username ${shownUser}`);
  mkdirSync(dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });
  shotTaken = true;
  step(`mstr: screenshot ${shot}`);

  // The signed-in page runs no scripts and may connect nowhere (its CSP): a script's fetch from
  // it is refused. (The refusal is logged in the console; that one is expected.)
  const blocked = await page.evaluate(async (p) => {
    try {
      const r = await fetch(p, { credentials: "include" });
      return `answered ${r.status}`;
    } catch (e) {
      return `refused: ${e}`;
    }
  }, `${ctx}/api/auth/token`);
  expect(blocked.startsWith("refused"), `a script's fetch from the signed-in page ${blocked}`);
  step("mstr: the signed-in page's CSP refuses a script's fetch");

  await Promise.all([
    page.waitForURL(`${base}${ctx}/auth/signed-in/api-token`),
    page.getByRole("button", { name: "Make a personal API token" }).click(),
  ]);
  const apiToken = (await page.locator("#api-token").innerText()).trim();
  expect(/^[0-9A-Za-z_\-.~]{16,}$/.test(apiToken), `#api-token is ${JSON.stringify(apiToken)}`);
  value("mstr_api_token", apiToken);
  step(`mstr: "Make a personal API token" showed #api-token (${apiToken.length} characters)`);

  // From a page of the server that may run scripts (the REST API explorer the signed-in page
  // links): the browser's session cookies give the auth token.
  await page.goto(`${base}/api-docs`);
  let r = await pageFetch(page, `${ctx}/api/auth/token`);
  expect(r.status === 204, `GET ${ctx}/api/auth/token answered ${r.status}: ${r.text}`);
  const authToken = r.headers["x-mstr-authtoken"];
  expect(authToken, `GET ${ctx}/api/auth/token has no X-MSTR-AuthToken: ${JSON.stringify(r.headers)}`);
  step(`mstr: GET ${ctx}/api/auth/token from the page: 204 with X-MSTR-AuthToken`);
  r = await pageFetch(page, `${ctx}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 200, `GET ${ctx}/api/sessions/userInfo answered ${r.status}: ${r.text}`);
  const info = JSON.parse(r.text);
  value("mstr_userinfo_username", info.username);
  value("mstr_userinfo_full_name", info.fullName);
  expect(info.username === username, `userInfo username is ${info.username}`);
  step(`mstr: GET ${ctx}/api/sessions/userInfo with the token: 200, ${info.username} (${info.fullName})`);
  r = await pageFetch(page, `${ctx}/api/auth/logout`, {
    method: "POST",
    headers: { "X-MSTR-AuthToken": authToken },
  });
  expect(r.status === 204, `POST ${ctx}/api/auth/logout answered ${r.status}: ${r.text}`);
  step(`mstr: POST ${ctx}/api/auth/logout with the token: 204`);
  expected401++;
  r = await pageFetch(page, `${ctx}/api/auth/token`);
  expect(r.status === 401, `GET ${ctx}/api/auth/token after the logout answered ${r.status}: ${r.text}`);
  step(`mstr: GET ${ctx}/api/auth/token after the logout: 401`);
  expected401++;
  r = await pageFetch(page, `${ctx}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 401, `userInfo with the logged-out token answered ${r.status}: ${r.text}`);
  step("mstr: the logged-out auth token is refused: 401");
  await page.context().close();

  // ---- ThoughtSpot, in a fresh browser context ----
  page = await newPage();
  const target = "/api-docs/";
  await page.goto(`${base}/callosum/v1/oidc/login?targetURLPath=${encodeURIComponent(target)}`);
  expect(!page.url().startsWith(base), `/callosum/v1/oidc/login ended on ${page.url()}, not at the provider`);
  step(`ts: /callosum/v1/oidc/login went to the provider (${new URL(page.url()).origin})`);
  const seenTs = await atProvider(page, (u) => u.href.startsWith(base));
  step(`ts: at the provider: ${seenTs.length ? seenTs.join(", ") : "sent straight back"}`);
  expect(page.url() === `${base}${target}`, `landed on ${page.url()}, not ${base}${target}`);
  step(`ts: back at the target ${target}`);
  const v1 = { "X-Requested-By": "ThoughtSpot" };
  r = await pageFetch(page, "/callosum/v1/tspublic/v1/session/info", { headers: v1 });
  expect(r.status === 200, `session/info answered ${r.status}: ${r.text}`);
  const tsInfo = JSON.parse(r.text);
  value("ts_session_info_username", tsInfo.userName);
  expect(tsInfo.userName === username, `session/info userName is ${tsInfo.userName}`);
  step(`ts: GET /callosum/v1/tspublic/v1/session/info from the page: 200, ${tsInfo.userName}`);
  r = await pageFetch(page, "/api/rest/2.0/auth/session/token");
  expect(r.status === 200, `auth/session/token answered ${r.status}: ${r.text}`);
  const tsToken = JSON.parse(r.text);
  expect(tsToken.token && tsToken.valid_for_username === username, `auth/session/token: ${r.text}`);
  step(`ts: GET /api/rest/2.0/auth/session/token from the page: 200, a bearer token for ${tsToken.valid_for_username}`);

  // The official SDK, in Node, with that bearer token.
  const sdk = new ThoughtSpotRestApi(createBearerAuthenticationConfig(base, async () => tsToken.token));
  const me = await sdk.getCurrentUserInfo();
  value("ts_sdk_user_name", me.name);
  value("ts_sdk_display_name", me.display_name);
  expect(me.name === username, `the SDK's getCurrentUserInfo name is ${me.name}`);
  step(`ts: the SDK's getCurrentUserInfo with the bearer token: ${me.name}`);

  // The page's logout ends the cookie session.
  r = await pageFetch(page, "/callosum/v1/tspublic/v1/session/logout", { method: "POST", headers: v1 });
  expect(r.status === 204, `session/logout answered ${r.status}: ${r.text}`);
  step("ts: POST /callosum/v1/tspublic/v1/session/logout from the page: 204");
  expected401++;
  r = await pageFetch(page, "/callosum/v1/tspublic/v1/session/info", { headers: v1 });
  expect(r.status === 401, `session/info after the logout answered ${r.status}: ${r.text}`);
  step("ts: session/info after the logout: 401");
  // The bearer token is a session of its own (thoughtspot.session_token_secs): said, not assumed.
  const after = await sdk.getCurrentUserInfo().then(
    (u) => `still works (${u.name})`,
    (e) => `refused (${e.code})`,
  );
  value("ts_bearer_after_cookie_logout", after);
  // Its own logout (v2 auth/session/logout, by the SDK) ends it.
  await sdk.logout();
  step("ts: the SDK's logout with the bearer token");
  const refused = await sdk.getCurrentUserInfo().then(
    (u) => `answered ${u.name}`,
    (e) => e.code,
  );
  expect(refused === 401, `the logged-out bearer token: ${refused}`);
  step("ts: the logged-out bearer token is refused: 401");
  await page.context().close();
} catch (e) {
  failed = e;
  try {
    if (current && !current.isClosed()) {
      const where = shotTaken ? shot.replace(/\.png$/, "-failed.png") : shot;
      mkdirSync(dirname(where), { recursive: true });
      await current.screenshot({ path: where });
      console.log(`screenshot of the failure: ${where}`);
    }
  } catch (e2) {
    console.error(`screenshot failed: ${e2}`);
  }
} finally {
  await browser.close();
}
// The refusal the CSP step provoked and the 401s asked for are the only console errors allowed.
let allowed401 = expected401;
const unexpected = consoleErrors.filter((m) => {
  if (/Content Security Policy/.test(m)) return false;
  if (/status of 401/.test(m) && allowed401 > 0) {
    allowed401--;
    return false;
  }
  return true;
});
if (!failed && unexpected.length) failed = new Error(`browser console errors:\n${unexpected.join("\n")}`);
if (failed) {
  console.error(`FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
console.log("sso browser test passed");
