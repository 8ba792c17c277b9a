// Single sign-on from pages that embed vestibule, in a real browser (Debian's chromium, driven by
// playwright-core), against a vestibule configured with an OpenID Connect provider
// (compat/oidc_idp.mjs) and `server.allowed_origins` = this script's embedding server. Driven by
// tests/it/sso_embed.rs.
//
// The embedding server (127.0.0.1:EMBED_PORT, also reached as localhost:EMBED_PORT, another site)
// serves three pages:
// - mstr.html: what the MicroStrategy Embedding SDK's `microstrategy.auth.oidcLogin(serverUrl)`
//   does, call for call (its embeddinglib.js is served only by a Library, so the page does the
//   same: a 56-hex-digit PKCE verifier, the S256 challenge, the pop-up
//   `{serverUrl}/auth/login-dialog.jsp?loginMode=4194304&callback-origin=…&generateIdentityToken=1
//   &codeChallenge=…&codeChallengeMethod=S256`, the message `{codeChallenge, codeChallengeMethod,
//   identityToken}`, then `POST {serverUrl}/api/auth/delegate` with the verifier, credentials and
//   the auth token read from the answer's header), see docs/compatibility.md;
// - mstr-legacy.html: Library's sample 4_Use_SAML (the pop-up with `loginMode` alone, any message,
//   then `GET {serverUrl}/api/auth/token` with the browser's cookies);
// - ts.html: the official ThoughtSpot Visual Embed SDK (@thoughtspot/visual-embed-sdk, its UMD
//   bundle), `init({authType: OIDCRedirect, inPopup: true})`, its sign-in button and pop-up.
// Then the logouts: the embedding pages' sessions, and the browser's at vestibule and at the
// provider (`{context}/auth/oidc/logout`, RP-initiated logout).
//
// Usage: node sso_embed.mjs BASE_URL CONTEXT_PATH EMBED_PORT USERNAME
// Prints `ok: …` per checked step and `value: NAME=…` for what the Rust test checks itself;
// exits non-zero on the first failure.
import { chromium } from "playwright-core";

import { expect, sdkLoginPage, serve, step, value, visualEmbedPage } from "./embedding.mjs";

const [base, ctx, embedPort, username] = process.argv.slice(2);
if (!base || ctx === undefined || !embedPort || !username) {
  console.error("usage: node sso_embed.mjs BASE_URL CONTEXT_PATH EMBED_PORT USERNAME");
  process.exit(2);
}
const library = `${base}${ctx}`;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;


// ---- the embedding pages ----
const mstrPage = sdkLoginPage(4194304, "oidcLogin");

const legacyPage = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>embeds MicroStrategy, 4_Use_SAML</title></head>
<body><h1>embeds MicroStrategy (Library's sample)</h1><script>
function loginWithSso(serverUrl) {
  return new Promise((resolve, reject) => {
    let tab = null;
    const listener = async (e) => {
      window.removeEventListener("message", listener);
      tab?.close();
      const r = await fetch(serverUrl + "/api/auth/token", { method: "GET", credentials: "include", mode: "cors", headers: { "Content-Type": "application/json" } });
      resolve({ message: e.data, origin: e.origin, status: r.status, authToken: r.headers.get("x-mstr-authtoken") });
    };
    window.addEventListener("message", listener);
    tab = window.open(serverUrl + "/auth/login-dialog.jsp?loginMode=4194304", "_blank");
    if (!tab) reject(new Error("the pop-up was blocked"));
  });
}
</script></body></html>`;

const tsPage = visualEmbedPage(base, "OIDCRedirect");

const embed = await serve(embedPort, { "/mstr.html": mstrPage, "/mstr-legacy.html": legacyPage, "/ts.html": tsPage });
const embedder = `http://127.0.0.1:${embedPort}`;
const crossSite = `http://localhost:${embedPort}`;

// ---- the browser ----
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const pageErrors = [];
const consoleLines = [];
async function newContext() {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  context.setDefaultTimeout(TIMEOUT);
  context.on("page", (p) => {
    p.on("pageerror", (e) => pageErrors.push(`${p.url()}: ${e.stack || e}`));
    p.on("console", (m) => consoleLines.push(`${p.url()}: ${m.type()}: ${m.text()}`));
  });
  return context;
}

/**
 * At the provider (its login form, fields `login`/`password`, and its consent form) until the
 * page leaves it or closes. What it saw, e.g. ["login", "consent"].
 */
async function atProvider(page, idpOrigin) {
  const seen = [];
  for (let i = 0; i < 10; i++) {
    if (page.isClosed()) return seen;
    await page.waitForLoadState("load").catch(() => {});
    if (page.isClosed() || !page.url().startsWith(idpOrigin)) return seen;
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
      throw new Error(`unexpected page at the provider, ${page.url()}:\n${await page.content()}`);
    }
    await Promise.race([page.waitForURL((u) => u.href !== before), page.waitForEvent("close")]).catch(() => {});
  }
  throw new Error("the provider did not send the pop-up back");
}

/** Runs `fn` in `page` while the pop-up it opens goes through the provider; `fn`'s result. */
async function withPopup(page, idpOrigin, fn, arg) {
  const popupP = page.waitForEvent("popup");
  const resultP = page.evaluate(fn, arg);
  const popup = await popupP;
  await popup.waitForLoadState("load").catch(() => {});
  const opened = popup.isClosed() ? "(closed at once)" : popup.url();
  const seen = await atProvider(popup, idpOrigin);
  return { result: await resultP, seen, opened };
}

function pageFetch(page, url, init = {}) {
  return page.evaluate(
    async ([url, init]) => {
      const r = await fetch(url, { credentials: "include", ...init });
      return { status: r.status, headers: Object.fromEntries(r.headers.entries()), text: await r.text() };
    },
    [url, init],
  );
}

let failed = null;
try {
  // Where the provider is: the dialog's first redirect.
  const idpOrigin = await fetch(`${library}/auth/login-dialog.jsp?loginMode=4194304`, { redirect: "manual" }).then((r) =>
    new URL(r.headers.get("location")).origin,
  );

  // ---- MicroStrategy: the Embedding SDK's oidcLogin, from an allowed origin ----
  let context = await newContext();
  let page = await context.newPage();
  await page.goto(`${embedder}/mstr.html`);
  let { result, seen, opened } = await withPopup(page, idpOrigin, (u) => window.oidcLogin(u), library);
  expect(opened.startsWith(idpOrigin), `the pop-up opened ${opened}, not the provider`);
  step(`mstr: oidcLogin's pop-up went to the provider; there: ${seen.join(", ")}`);
  expect(result.messageOrigin === base, `the pop-up's message came from ${result.messageOrigin}`);
  expect(result.identityToken, "the pop-up posted no identity token");
  expect(result.authToken, "the delegate answer's X-MSTR-AuthToken was not readable (CORS exposure)");
  step(`mstr: the pop-up posted its identity token (from ${result.messageOrigin}); delegate with the verifier gave an auth token`);
  value("mstr_identity_token", result.identityToken);
  value("mstr_code_verifier", result.verifier);
  const authToken = result.authToken;
  let r = await pageFetch(page, `${library}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 200, `userInfo from the embedding page answered ${r.status}: ${r.text}`);
  const info = JSON.parse(r.text);
  value("mstr_userinfo_username", info.username);
  expect(info.username === username, `userInfo username ${info.username}`);
  step(`mstr: userInfo from the embedding page (CORS, with the session cookie): ${info.username} (${info.fullName})`);
  // Its session ends while its cookie is the browser's (a later session in this browser
  // replaces the JSESSIONID cookie, as in Library).
  r = await pageFetch(page, `${library}/api/auth/logout`, { method: "POST", headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 204, `logout of the delegated session answered ${r.status}`);
  r = await pageFetch(page, `${library}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 401, `the logged-out delegated session answered ${r.status}`);
  step("mstr: the embedding page's session logged out (204, then 401)");

  // ---- Library's sample: any message, then /api/auth/token with the cookies ----
  await page.goto(`${embedder}/mstr-legacy.html`);
  ({ result, seen } = await withPopup(page, idpOrigin, (u) => window.loginWithSso(u), library));
  expect(!seen.includes("login"), `the provider asked for the login again: ${seen}`);
  expect(result.message?.type === "auth-token" && result.message.payload, `the message was ${JSON.stringify(result.message)}`);
  expect(result.status === 204 && result.authToken === result.message.payload, `GET /api/auth/token: ${result.status}, token ${result.authToken}`);
  step("mstr: the sample's pop-up posted {type: auth-token}; /api/auth/token from the page (CORS, cookies) gave the same token");
  const browserToken = result.authToken;

  // ---- the SDK's flow from another site: its cookie lives in that site's partition ----
  const cross = await context.newPage();
  await cross.goto(`${crossSite}/mstr.html`);
  ({ result, seen } = await withPopup(cross, idpOrigin, (u) => window.oidcLogin(u), library));
  expect(seen.length === 0, `the browser was signed in, yet the provider showed ${seen}`);
  expect(result.authToken && result.messageOrigin === base, `cross-site: ${JSON.stringify(result)}`);
  step(`mstr: oidcLogin from another site (${crossSite}), already signed in: an auth token at once`);
  r = await pageFetch(cross, `${library}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": result.authToken } });
  expect(r.status === 200, `cross-site userInfo answered ${r.status}: ${r.text}`);
  step("mstr: userInfo from the other site (SameSite=None; Partitioned cookie): 200");
  r = await pageFetch(cross, `${library}/api/auth/logout`, { method: "POST", headers: { "X-MSTR-AuthToken": result.authToken } });
  expect(r.status === 204, `cross-site logout answered ${r.status}`);
  step("mstr: the other site's session logged out (204)");

  // ---- logout everywhere: the browser's session, here and at the provider ----
  const top = await context.newPage();
  await top.goto(`${library}/auth/oidc/logout`);
  expect(top.url().startsWith(idpOrigin), `{context}/auth/oidc/logout went to ${top.url()}, not the provider`);
  step(`mstr: ${ctx}/auth/oidc/logout sent the browser to the provider's end_session_endpoint`);
  const yes = top.locator('button[name="logout"][value="yes"], button[value="yes"]');
  expect((await yes.count()) >= 1, `no logout confirmation at the provider:\n${await top.content()}`);
  await Promise.all([top.waitForURL((u) => u.href.startsWith(base)), yes.first().click()]);
  expect(top.url() === `${library}/auth/signed-out`, `the provider sent the browser to ${top.url()}`);
  expect((await top.locator("#signed-out").count()) === 1, "no signed-out page");
  step(`mstr: the provider ended its session and sent the browser to ${ctx}/auth/signed-out`);
  r = await pageFetch(page, `${library}/api/auth/token`);
  expect(r.status === 401, `/api/auth/token after the logout answered ${r.status}`);
  r = await pageFetch(page, `${library}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": browserToken } });
  expect(r.status === 401, `the browser session's token after the logout answered ${r.status}`);
  step("mstr: after the logout the browser session is gone (401)");
  // The provider's session is gone too: the next pop-up shows its login form again.
  await page.goto(`${embedder}/mstr.html`);
  ({ seen } = await withPopup(page, idpOrigin, (u) => window.oidcLogin(u), library));
  expect(seen.includes("login"), `after the logout the provider showed ${seen.join(", ") || "nothing"}`);
  step("mstr: after the logout the provider asks for the login again");
  await context.close();

  // ---- ThoughtSpot: the official Visual Embed SDK, its pop-up ----
  context = await newContext();
  page = await context.newPage();
  await page.goto(`${embedder}/ts.html`);
  const button = page.locator("#ts-auth-btn");
  await button.waitFor();
  step(`ts: the SDK shows its sign-in button ("${(await button.innerText()).trim()}")`);
  const popupP = page.waitForEvent("popup");
  await button.click();
  const popup = await popupP;
  seen = await atProvider(popup, idpOrigin);
  step(`ts: the SDK's pop-up went to the provider; there: ${seen.join(", ")}`);
  await page
    .waitForFunction(() => window.authEvents.some((e) => e.startsWith("SDK_SUCCESS") || e.startsWith("FAILURE")), null, { timeout: TIMEOUT })
    .catch(async (e) => {
      const events = await page.evaluate(() => window.authEvents);
      const where = popup.isClosed() ? "closed" : `${popup.url()}: ${(await popup.content()).slice(0, 2000)}`;
      throw new Error(`${e.message}\nthe SDK's events: ${events.join(" ")}\nthe pop-up: ${where}`);
    });
  const events = await page.evaluate(() => window.authEvents);
  value("ts_auth_events", events.join(" "));
  // SDK_SUCCESS: the SDK is authenticated (SUCCESS would come from an embedded ThoughtSpot app).
  expect(events.some((e) => e.startsWith("SDK_SUCCESS")), `the SDK's events: ${events.join(" ")}`);
  expect(popup.isClosed(), "the SDK did not close its pop-up (no samlComplete message?)");
  step(`ts: the pop-up told the SDK samlComplete; the SDK closed it and reports SDK_SUCCESS (${events.join(" ")})`);
  const v1 = { "X-Requested-By": "ThoughtSpot" };
  r = await pageFetch(page, `${base}/callosum/v1/tspublic/v1/session/info`, { headers: v1 });
  expect(r.status === 200, `session/info from the embedding page answered ${r.status}: ${r.text}`);
  value("ts_session_info_username", JSON.parse(r.text).userName);
  step(`ts: session/info from the embedding page (CORS, cookie session): ${JSON.parse(r.text).userName}`);
  await page.evaluate(() => tsembed.logout());
  r = await pageFetch(page, `${base}/callosum/v1/tspublic/v1/session/info`, { headers: v1 });
  expect(r.status === 401, `session/info after the SDK's logout answered ${r.status}`);
  step("ts: the SDK's logout ended the session (session/info 401)");
  await context.close();
} catch (e) {
  failed = e;
} finally {
  await browser.close();
  embed.close();
}
if (!failed && pageErrors.length) failed = new Error(`uncaught errors in pages:\n${pageErrors.join("\n")}`);
if (failed) {
  console.error(`browser console:\n${consoleLines.join("\n")}`);
  console.error(`FAILED: ${failed.stack || failed}`);
  process.exit(1);
}
console.log("sso embedding test passed");
