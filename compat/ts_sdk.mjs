// Drives vestibule's ThoughtSpot v2 API with the official TypeScript SDK (@thoughtspot/rest-api-sdk,
// pinned in package.json), as a Node back end uses it.
//
// Usage: node ts_sdk.mjs BASE_URL USERNAME PASSWORD SECRET_KEY
// Exits non-zero on the first thing that does not work as the SDK expects.
import assert from "node:assert/strict";
import {
  ThoughtSpotRestApi,
  createBearerAuthenticationConfig,
  createBasicConfig,
  createConfiguration,
  ResponseContext,
  ServerConfiguration,
  wrapHttpLibrary,
} from "@thoughtspot/rest-api-sdk";

const [base, username, password, secret] = process.argv.slice(2);
const step = (name) => console.log(`ok: ${name}`);

// A bearer configuration with credentials mints a token before every call (auth/token/full).
const api = new ThoughtSpotRestApi(createBearerAuthenticationConfig(base, { username, password }));
const me = await api.getCurrentUserInfo();
assert.equal(me.name, username);
assert.equal(me.visibility, "SHARABLE");
step("bearer config (password): getCurrentUserInfo");

const tokenInfo = await api.getCurrentUserToken();
assert.ok(tokenInfo.token);
assert.equal(tokenInfo.valid_for_username, username);
step("getCurrentUserToken");

const basic = new ThoughtSpotRestApi(createBasicConfig(base));
const full = await basic.getFullAccessToken({ username, secret_key: secret, validity_time_in_sec: 120 });
assert.ok(full.token);
assert.equal(full.scope.access_type, "FULL");
assert.equal(full.expiration_time_in_millis - full.creation_time_in_millis, 120000);
step("getFullAccessToken with the secret key");

const objectId = "7a9a6715-e154-431b-baaf-7b58246c13dd";
const obj = await basic.getObjectAccessToken({ username, object_id: objectId, secret_key: secret });
assert.equal(obj.scope.access_type, "REPORT_BOOK_VIEW");
assert.equal(obj.scope.metadata_id, objectId);
step("getObjectAccessToken");

// ABAC: a custom token with rules persisted on the user, read back on the user's details.
const abac = await basic.getCustomAccessToken({
  username,
  secret_key: secret,
  persist_option: "APPEND",
  filter_rules: [{ column_name: "Region", operator: "IN", values: ["West", "Southwest"] }],
  parameter_values: [{ name: "Secured", values: ["s3cr3t"] }],
  variable_values: [{ name: "country_var", values: ["Japan"] }],
  objects: [{ type: "LOGICAL_TABLE", identifier: objectId }],
});
assert.ok(abac.token);
assert.equal(abac.user.name, username);
const abacApi = new ThoughtSpotRestApi(createBearerAuthenticationConfig(base, async () => abac.token));
const held = await abacApi.getCurrentUserInfo();
assert.deepEqual(held.access_control_properties, {
  0: {
    [objectId]: {
      filter_rules: [{ column_name: "Region", operator: "IN", values: ["West", "Southwest"] }],
      parameter_values: [{ name: "Secured", values: ["s3cr3t"] }],
    },
  },
});
assert.deepEqual(held.variable_values, {
  0: { [objectId]: { variable_values: [{ name: "country_var", values: ["Japan"] }] } },
});
await assert.rejects(
  basic.getCustomAccessToken({
    username,
    secret_key: secret,
    persist_option: "NONE",
    filter_rules: [{ column_name: "Region", operator: "ABOUT", values: ["x"] }],
  }),
  (e) => e.code === 400,
);
step("getCustomAccessToken with rules; the user's details show them; a bad operator is a 400");

// A token provider: one fixed token, reused for every call.
const fixed = new ThoughtSpotRestApi(createBearerAuthenticationConfig(base, async () => full.token));
const validation = await fixed.validateToken({ token: full.token });
assert.equal(validation.token_type, "BEARER");
assert.equal(validation.valid_for_user_id, me.id);
step("validateToken");

await fixed.revokeToken({ token: full.token });
await assert.rejects(fixed.getCurrentUserInfo(), (e) => e.code === 401);
step("revokeToken, then the token is refused with 401");

// Errors come back parsed: status and the v2 error body.
await assert.rejects(
  basic.getFullAccessToken({ username, password: password + "-wrong" }),
  (e) => e.code === 401 && e.body?.error?.message?.code === 10097,
);
await assert.rejects(
  basic.getFullAccessToken({ username }),
  (e) => e.code === 400,
);
step("bad credentials 401 and missing credentials 400 are readable errors");

// Session login and logout answer exactly 204, on one client that keeps the session cookies (as a
// Node back end must: fetch has no cookie jar, so this client's HTTP library is the jar), and the
// logout ends the session that client logged in with.
const statuses = [];
const cookies = new Map();
const jarFetch = wrapHttpLibrary({
  async send(request) {
    const headers = request.getHeaders();
    if (cookies.size) headers.Cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const resp = await fetch(request.getUrl(), {
      method: request.getHttpMethod().toString(),
      body: request.getBody(),
      headers,
    });
    statuses.push(resp.status);
    for (const c of resp.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const eq = pair.indexOf("=");
      cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const flat = {};
    resp.headers.forEach((value, name) => {
      flat[name] = value;
    });
    return new ResponseContext(resp.status, flat, { text: () => resp.text(), binary: () => resp.blob() });
  },
});
const session = new ThoughtSpotRestApi(
  createConfiguration({ baseServer: new ServerConfiguration(base, {}), httpApi: jarFetch }),
);
await session.login({ username, password, remember_me: true });
assert.deepEqual(statuses, [204], "login");
assert.ok(cookies.has("JSESSIONID"), `no session cookie: ${[...cookies.keys()]}`);
assert.equal((await session.getCurrentUserInfo()).name, username);
await session.logout();
assert.deepEqual(statuses, [204, 200, 204], "login, user, logout");
await assert.rejects(session.getCurrentUserInfo(), (e) => e.code === 401);
step("login and logout (204) on one client; the session ends");
console.log("all ThoughtSpot SDK checks passed");
