// What the embedding browser tests share (sso_embed.mjs, sso_saml.mjs): their step/value lines,
// the pages a site that embeds vestibule serves, and the server that serves them.
//
// - sdkLoginPage(loginMode, fn): a page whose `window[fn](serverUrl)` does what the MicroStrategy
//   Embedding SDK's `microstrategy.auth.oidcLogin` (4194304) / `samlLogin` (1048576) do, call for
//   call (its embeddinglib.js is served only by a Library): a 56-hex-digit PKCE verifier, the S256
//   challenge, the pop-up `{serverUrl}/auth/login-dialog.jsp?loginMode=…&callback-origin=…
//   &generateIdentityToken=1&codeChallenge=…&codeChallengeMethod=S256`, the message
//   `{codeChallenge, codeChallengeMethod, identityToken}`, then `POST {serverUrl}/api/auth/delegate`
//   with the verifier and the auth token read from the answer's header (docs/compatibility.md);
// - visualEmbedPage(host, authType): the official ThoughtSpot Visual Embed SDK (its UMD bundle
//   from this directory's node_modules, pinned in package.json), `init({authType, inPopup: true})`,
//   its events kept in `window.authEvents`;
// - serve(port, pages): those pages (path → HTML) and `/tsembed.js` on 127.0.0.1:port.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function step(msg) {
  console.log(`ok: ${msg}`);
}
export function value(name, v) {
  console.log(`value: ${name}=${v}`);
}
export function expect(cond, what) {
  if (!cond) throw new Error(what);
}

export function sdkLoginPage(loginMode, fn) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>embeds MicroStrategy</title></head>
<body><h1>embeds MicroStrategy</h1><script>
async function ${fn}(serverUrl) {
  const verifier = Array.from(crypto.getRandomValues(new Uint32Array(28)), (v) => ("0" + v.toString(16)).slice(-2)).join("");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const challenge = btoa(String.fromCharCode(...new Uint8Array(digest))).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const got = await new Promise((resolve, reject) => {
    let popup = null;
    const listener = (e) => {
      if (e.data?.codeChallenge === challenge && e.data?.codeChallengeMethod === "S256") {
        window.removeEventListener("message", listener);
        popup?.close();
        resolve({ identityToken: e.data.identityToken, origin: e.origin });
      }
    };
    window.addEventListener("message", listener);
    popup = window.open(serverUrl + "/auth/login-dialog.jsp?loginMode=${loginMode}&callback-origin=" + encodeURIComponent(window.origin)
      + "&generateIdentityToken=1&codeChallenge=" + challenge + "&codeChallengeMethod=S256", "_blank");
    if (!popup) reject(new Error("the pop-up was blocked"));
  });
  const r = await fetch(serverUrl + "/api/auth/delegate", {
    method: "POST", credentials: "include",
    headers: { "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" },
    body: JSON.stringify({ loginMode: -1, identityToken: got.identityToken, codeVerifier: verifier }),
  });
  if (!r.ok) throw new Error("delegate answered " + r.status + ": " + (await r.text()));
  return { authToken: r.headers.get("X-MSTR-AuthToken"), messageOrigin: got.origin, identityToken: got.identityToken, verifier };
}
</script></body></html>`;
}

export function visualEmbedPage(host, authType) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>embeds ThoughtSpot</title>
<script src="/tsembed.js"></script></head>
<body><h1>embeds ThoughtSpot</h1><div id="auth"></div><script>
window.authEvents = [];
const ee = tsembed.init({
  thoughtSpotHost: ${JSON.stringify(host)},
  authType: tsembed.AuthType.${authType},
  inPopup: true,
  authTriggerContainer: "#auth",
  authTriggerText: "Sign in with SSO",
});
for (const s of ["SUCCESS", "FAILURE", "SDK_SUCCESS", "LOGOUT", "WAITING_FOR_POPUP", "SAML_POPUP_CLOSED_NO_AUTH"]) {
  ee.on(tsembed.AuthStatus[s], (...a) => window.authEvents.push(s + (a.length ? ":" + a.join(",") : "")));
}
</script></body></html>`;
}

// The package exports no path to its UMD bundle (nor its package.json).
const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "node_modules/@thoughtspot/visual-embed-sdk");

export async function serve(port, pages) {
  const tsembed = readFileSync(join(sdkDir, "dist/tsembed.js"));
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (pages[path]) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(pages[path]);
    } else if (path === "/tsembed.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      res.end(tsembed);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(Number(port), "127.0.0.1", resolve));
  return server;
}
