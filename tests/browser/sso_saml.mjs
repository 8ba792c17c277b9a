// SAML 2.0 single sign-on in a real browser (Debian's chromium, driven by playwright-core), against
// a vestibule configured with an `[[sso.saml]]` provider and a real SAML identity provider
// (compat/saml_idp.mjs, samlify: a login page at /sso, then an auto-submitting form POSTing the
// SAMLResponse to vestibule's assertion consumer service). Driven by tests/it/sso_saml_browser.rs.
//
// - MicroStrategy: the sign-in page's provider button (loginMode 1048576), the provider's login
//   page, the auto-posted response at {context}/saml/SSO, the signed-in page; then from a page of
//   the server that may run scripts (/api-docs/): the browser session's auth token, userInfo with
//   it, logout, and no token after.
// - The embedding pop-up: a page of this script's embedding server (127.0.0.1:EMBED_PORT, in the
//   server's `server.allowed_origins`) doing what the MicroStrategy Embedding SDK's
//   `microstrategy.auth.samlLogin(serverUrl)` does, as sso_embed.mjs does for oidcLogin, with
//   loginMode 1048576: the PKCE verifier and challenge, the pop-up
//   `{serverUrl}/auth/login-dialog.jsp?loginMode=1048576&callback-origin=…&generateIdentityToken=1
//   &codeChallenge=…&codeChallengeMethod=S256` through the provider, the posted identity token,
//   `POST {serverUrl}/api/auth/delegate` with the verifier → X-MSTR-AuthToken, userInfo (CORS).
// - ThoughtSpot: the official Visual Embed SDK (@thoughtspot/visual-embed-sdk, its UMD bundle),
//   `init({authType: SAMLRedirect, inPopup: true})`, its sign-in button, the pop-up through the
//   provider to /callosum/v1/saml/SSO and /v2/#/embed/saml-complete (samlComplete), SDK_SUCCESS;
//   session/info and v2 auth/session/token from the embedding page (CORS, credentials); the SDK's
//   logout, after which session/info answers 401.
//
// Usage: node sso_saml.mjs BASE_URL CONTEXT_PATH PROVIDER_NAME IDP_BASE_URL EMBED_PORT USERNAME
// Prints `ok: …` per checked step and `value: NAME=…` for what the Rust test checks itself;
// exits non-zero on the first failure.
import { chromium } from "playwright-core";

import { expect, sdkLoginPage, serve, step, value, visualEmbedPage } from "./embedding.mjs";

const [base, ctx, providerName, idpBase, embedPort, username] = process.argv.slice(2);
if (!base || ctx === undefined || !providerName || !idpBase || !embedPort || !username) {
  console.error("usage: node sso_saml.mjs BASE_URL CONTEXT_PATH PROVIDER_NAME IDP_BASE_URL EMBED_PORT USERNAME");
  process.exit(2);
}
const library = `${base}${ctx}`;
const idpOrigin = new URL(idpBase).origin;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;


// ---- the embedding pages ----
const mstrPage = sdkLoginPage(1048576, "samlLogin");

const tsPage = visualEmbedPage(base, "SAMLRedirect");

const embed = await serve(embedPort, { "/mstr.html": mstrPage, "/ts.html": tsPage });
const embedder = `http://127.0.0.1:${embedPort}`;

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
 * At the provider: its login page (fields `username`, `password`, a submit button) until the page
 * leaves the provider (the auto-submitting form posts the response to vestibule) or closes.
 * The pages it saw there, e.g. ["login"].
 */
async function atProvider(page) {
  const seen = [];
  for (let i = 0; i < 5; i++) {
    if (page.isClosed()) return seen;
    await page.waitForLoadState("load").catch(() => {});
    if (page.isClosed() || !page.url().startsWith(idpOrigin)) return seen;
    const before = page.url();
    const user = page.locator('input[name="username"]');
    if (await user.count()) {
      seen.push("login");
      await user.fill(username);
      await page.locator('input[name="password"]').fill("any");
      // The login answers the auto-submitting form (at /login), which leaves the provider.
      await Promise.race([
        page.waitForURL((u) => !u.href.startsWith(idpOrigin)),
        page.waitForEvent("close"),
        page.locator('button[type="submit"]').click().then(() => new Promise(() => {})),
      ]).catch(() => {});
    } else {
      throw new Error(`unexpected page at the provider, ${page.url()}:\n${await page.content()}`);
    }
    if (!page.isClosed() && page.url() === before) throw new Error(`the provider's page stayed at ${before}:\n${await page.content()}`);
  }
  throw new Error("the provider did not send the browser back");
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
  // ---- MicroStrategy: the sign-in page, the provider, the signed-in page ----
  let context = await newContext();
  let page = await context.newPage();
  await page.goto(`${library}/auth/login`);
  const button = page.getByRole("button", { name: `Sign in with ${providerName}`, exact: true });
  expect((await button.count()) === 1, `the sign-in page has no single "Sign in with ${providerName}" button:\n${await page.content()}`);
  step(`mstr: the sign-in page lists "Sign in with ${providerName}"`);
  await Promise.all([page.waitForURL((u) => u.href.startsWith(idpOrigin)), button.click()]);
  const atIdp = new URL(page.url());
  expect(atIdp.pathname === "/sso" && atIdp.searchParams.has("SAMLRequest"), `the button went to ${page.url()}, not the provider's /sso with a SAMLRequest`);
  step(`mstr: the button went to the provider's login page (${atIdp.origin}/sso, HTTP-Redirect AuthnRequest)`);
  // Where the auto-submitting form posts to.
  const acsPosts = [];
  page.on("request", (r) => {
    if (r.method() === "POST" && r.url().startsWith(base)) acsPosts.push(r.url());
  });
  const seen = await atProvider(page);
  expect(seen.join(",") === "login", `at the provider: ${seen.join(", ")}`);
  step("mstr: at the provider: login");
  expect(acsPosts.includes(`${library}/saml/SSO`), `the response was not posted to ${ctx}/saml/SSO (posts: ${acsPosts.join(" ")})`);
  step(`mstr: the provider's page posted the SAMLResponse to ${ctx}/saml/SSO`);
  await page.waitForLoadState("load");
  expect(page.url() === `${library}/auth/signed-in`, `landed on ${page.url()}, not ${library}/auth/signed-in:\n${await page.content()}`);
  step(`mstr: landed on ${ctx}/auth/signed-in`);
  const shownUser = (await page.locator("#username").innerText()).trim();
  value("mstr_page_username", shownUser);
  value("mstr_page_full_name", (await page.locator("#full-name").innerText()).trim());
  expect(shownUser === username, `#username is ${shownUser}, not ${username}`);
  step(`mstr: the signed-in page shows #username ${shownUser}`);

  // From a page of the server that may run scripts (the sign-in pages' CSP forbids fetches).
  await page.goto(`${base}/api-docs/`);
  let r = await pageFetch(page, `${ctx}/api/auth/token`);
  expect(r.status === 204, `GET ${ctx}/api/auth/token answered ${r.status}: ${r.text}`);
  const authToken = r.headers["x-mstr-authtoken"];
  expect(authToken, `GET ${ctx}/api/auth/token has no X-MSTR-AuthToken: ${JSON.stringify(r.headers)}`);
  step(`mstr: GET ${ctx}/api/auth/token from the page: 204 with X-MSTR-AuthToken`);
  r = await pageFetch(page, `${ctx}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 200, `GET ${ctx}/api/sessions/userInfo answered ${r.status}: ${r.text}`);
  let info = JSON.parse(r.text);
  value("mstr_userinfo_username", info.username);
  value("mstr_userinfo_full_name", info.fullName);
  expect(info.username === username, `userInfo username is ${info.username}`);
  step(`mstr: GET ${ctx}/api/sessions/userInfo with the token: 200, ${info.username} (${info.fullName})`);
  r = await pageFetch(page, `${ctx}/api/auth/logout`, { method: "POST", headers: { "X-MSTR-AuthToken": authToken } });
  expect(r.status === 204, `POST ${ctx}/api/auth/logout answered ${r.status}: ${r.text}`);
  step(`mstr: POST ${ctx}/api/auth/logout with the token: 204`);
  r = await pageFetch(page, `${ctx}/api/auth/token`);
  expect(r.status === 401, `GET ${ctx}/api/auth/token after the logout answered ${r.status}: ${r.text}`);
  step(`mstr: GET ${ctx}/api/auth/token after the logout: 401`);
  await context.close();

  // ---- MicroStrategy: the Embedding SDK's samlLogin pop-up, from an allowed origin ----
  context = await newContext();
  page = await context.newPage();
  await page.goto(`${embedder}/mstr.html`);
  const mstrRequests = [];
  context.on("request", (q) => {
    if (q.url().startsWith(base)) mstrRequests.push(`${q.method()} ${new URL(q.url()).pathname}`);
  });
  const popupP = page.waitForEvent("popup");
  const resultP = page.evaluate((u) => window.samlLogin(u), library);
  resultP.catch(() => {}); // awaited below
  const popup = await popupP;
  await popup.waitForLoadState("load").catch(() => {});
  const opened = popup.isClosed() ? "(closed at once)" : popup.url();
  expect(opened.startsWith(`${idpOrigin}/sso?`), `the pop-up opened ${opened}, not the provider's login page`);
  const seenPopup = await atProvider(popup);
  expect(seenPopup.join(",") === "login", `at the provider, the pop-up: ${seenPopup.join(", ")}`);
  step("mstr: samlLogin's pop-up went to the provider's login page; there: login");
  for (const want of [`GET ${ctx}/auth/login-dialog.jsp`, `POST ${ctx}/saml/SSO`]) {
    expect(mstrRequests.includes(want), `the pop-up made no ${want} (requests: ${mstrRequests.join(" ")})`);
  }
  step(`mstr: the pop-up started at ${ctx}/auth/login-dialog.jsp?loginMode=1048576 and the provider posted to ${ctx}/saml/SSO`);
  const result = await resultP;
  expect(result.messageOrigin === base, `the pop-up's message came from ${result.messageOrigin}, not ${base}`);
  expect(result.identityToken, "the pop-up posted no identity token");
  expect(result.authToken, "the delegate answer's X-MSTR-AuthToken was not readable (CORS exposure)");
  expect(popup.isClosed(), "the page did not close the pop-up");
  step(`mstr: the pop-up posted its identity token (from ${result.messageOrigin}); delegate with the verifier gave an auth token`);
  value("mstr_identity_token", result.identityToken);
  value("mstr_code_verifier", result.verifier);
  r = await pageFetch(page, `${library}/api/sessions/userInfo`, { headers: { "X-MSTR-AuthToken": result.authToken } });
  expect(r.status === 200, `userInfo from the embedding page answered ${r.status}: ${r.text}`);
  info = JSON.parse(r.text);
  value("mstr_embed_userinfo_username", info.username);
  expect(info.username === username, `userInfo username ${info.username}`);
  step(`mstr: userInfo from the embedding page (CORS): ${info.username} (${info.fullName})`);
  r = await pageFetch(page, `${library}/api/auth/logout`, { method: "POST", headers: { "X-MSTR-AuthToken": result.authToken } });
  expect(r.status === 204, `logout of the delegated session answered ${r.status}`);
  step("mstr: the embedding page's session logged out (204)");
  await context.close();

  // ---- ThoughtSpot: the official Visual Embed SDK, SAMLRedirect in a pop-up ----
  context = await newContext();
  page = await context.newPage();
  await page.goto(`${embedder}/ts.html`);
  const tsButton = page.locator("#ts-auth-btn");
  await tsButton.waitFor();
  step(`ts: the SDK shows its sign-in button ("${(await tsButton.innerText()).trim()}")`);
  // The pop-up's requests to vestibule (the context's: from its first navigation on).
  const tsRequests = [];
  context.on("request", (q) => {
    if (q.url().startsWith(base)) tsRequests.push(`${q.method()} ${q.url()}`);
  });
  const tsPopupP = page.waitForEvent("popup");
  await tsButton.click();
  const tsPopup = await tsPopupP;
  await tsPopup.waitForLoadState("load").catch(() => {});
  const tsOpened = tsPopup.isClosed() ? "(closed at once)" : tsPopup.url();
  expect(tsOpened.startsWith(`${idpOrigin}/sso?`), `the SDK's pop-up opened ${tsOpened}, not the provider's login page`);
  const seenTs = await atProvider(tsPopup);
  expect(seenTs.join(",") === "login", `at the provider, the SDK's pop-up: ${seenTs.join(", ")}`);
  step("ts: the SDK's pop-up went to the provider's login page; there: login");
  await page
    .waitForFunction(() => window.authEvents.some((e) => e.startsWith("SDK_SUCCESS") || e.startsWith("FAILURE")), null, { timeout: TIMEOUT })
    .catch(async (e) => {
      const events = await page.evaluate(() => window.authEvents);
      const where = tsPopup.isClosed() ? "closed" : `${tsPopup.url()}: ${(await tsPopup.content()).slice(0, 2000)}`;
      throw new Error(`${e.message}\nthe SDK's events: ${events.join(" ")}\nthe pop-up: ${where}`);
    });
  const tsStart = `GET ${base}/callosum/v1/saml/login?targetURLPath=${encodeURIComponent(`${base}/v2/#/embed/saml-complete`)}`;
  expect(tsRequests.includes(tsStart), `the SDK's pop-up did not start at ${tsStart} (requests: ${tsRequests.join(" ")})`);
  step("ts: the SDK's pop-up started at /callosum/v1/saml/login?targetURLPath={host}/v2/#/embed/saml-complete");
  expect(tsRequests.includes(`POST ${base}/callosum/v1/saml/SSO`), `the response was not posted to /callosum/v1/saml/SSO (requests: ${tsRequests.join(" ")})`);
  step("ts: the provider's page posted the SAMLResponse to /callosum/v1/saml/SSO");
  expect(tsRequests.includes(`GET ${base}/v2/`), `the pop-up did not land on /v2/ (requests: ${tsRequests.join(" ")})`);
  step("ts: the ACS sent the pop-up to /v2/ (#/embed/saml-complete)");
  const events = await page.evaluate(() => window.authEvents);
  value("ts_auth_events", events.join(" "));
  expect(events.some((e) => e.startsWith("SDK_SUCCESS")), `the SDK's events: ${events.join(" ")}`);
  expect(tsPopup.isClosed(), "the SDK did not close its pop-up (no samlComplete message?)");
  step(`ts: the pop-up told the SDK samlComplete; the SDK closed it and reports SDK_SUCCESS (${events.join(" ")})`);
  const v1 = { "X-Requested-By": "ThoughtSpot" };
  r = await pageFetch(page, `${base}/callosum/v1/tspublic/v1/session/info`, { headers: v1 });
  expect(r.status === 200, `session/info from the embedding page answered ${r.status}: ${r.text}`);
  const tsInfo = JSON.parse(r.text);
  value("ts_session_info_username", tsInfo.userName);
  expect(tsInfo.userName === username, `session/info userName is ${tsInfo.userName}`);
  step(`ts: session/info from the embedding page (CORS, cookie session): ${tsInfo.userName}`);
  r = await pageFetch(page, `${base}/api/rest/2.0/auth/session/token`);
  expect(r.status === 200, `auth/session/token from the embedding page answered ${r.status}: ${r.text}`);
  const tsToken = JSON.parse(r.text);
  value("ts_token_username", tsToken.valid_for_username);
  expect(tsToken.token && tsToken.valid_for_username === username, `auth/session/token: ${r.text}`);
  step(`ts: GET /api/rest/2.0/auth/session/token from the embedding page: 200, a bearer token for ${tsToken.valid_for_username}`);
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
console.log("sso saml browser test passed");
