// A real SAML 2.0 identity provider for the service provider's tests: samlify (npm, pinned in
// compat/package.json) with its offline xmllint-wasm schema validator, on 127.0.0.1.
//
//   node saml_idp.mjs [PORT]      PORT 0 or absent: any free port
//
// Prints its base URL (`http://127.0.0.1:PORT`) as one line on stdout once it listens, and runs
// until killed. Its entity id is that URL + `/metadata`. From the environment:
//   SAML_IDP_KEY, SAML_IDP_CERT  PEM files of its signing key and certificate (required)
//   SAML_SP_ENTITY_ID            the one service provider's entity id (vestibule): the Audience,
//                                and the Issuer its AuthnRequests and LogoutRequests must carry
//   SAML_SP_ACS_URLS             its assertion consumer service URLs, space-separated, the first
//                                the default (http://127.0.0.1/saml/acs)
//   SAML_SIGN                    assertion (default) | response | both: what is signed
//                                (RSA-SHA256, exclusive c14n, the certificate in KeyInfo)
//   SAML_ENCRYPT_CERT            the SP's certificate PEM file: when set, the assertion is
//                                encrypted to it (SAML_ENCRYPT_DATA: aes128-cbc by default,
//                                aes256-cbc; key transport RSA-OAEP), after it is signed
//   SAML_SP_SLO_URL              the SP's single logout URL (HTTP-Redirect), for /slo
//
// Endpoints:
//   GET  /metadata               the IdP's EntityDescriptor
//   GET  /sso?SAMLRequest&RelayState, POST /sso (form)   AuthnRequest, HTTP-Redirect / HTTP-POST:
//                                a login page (username, password: any); POST /login answers an
//                                auto-submitting form POSTing SAMLResponse and RelayState to the ACS
//                                (an unknown user: 401, the form again with an error; an
//                                AuthnRequest from another Issuer, or asking for an ACS URL not in
//                                SAML_SP_ACS_URLS: 400)
//   GET  /idp-initiated?user&acs&relay   the same form, unsolicited (no InResponseTo); user
//                                defaults to alice, acs to the first of SAML_SP_ACS_URLS
//   GET  /raw-response?user&acs&inResponseTo (or POST, form fields)   the base64 SAMLResponse
//                                as text/plain, for tests that tamper with it
//   GET  /slo?SAMLRequest&RelayState   LogoutRequest, HTTP-Redirect: 302 to SAML_SP_SLO_URL with
//                                a signed LogoutResponse (HTTP-Redirect) and the RelayState
// Two accounts, `alice` and `bob`, with displayName, email and groups (multi-valued).

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

import samlify from 'samlify';
import validator from '@authenio/samlify-xmllint-wasm';

// stdout carries the base URL line only; the library's notices go to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

const port = Number(process.argv[2] ?? 0);
const env = process.env;
function required(name) {
  if (!env[name]) {
    console.error(`saml_idp: ${name} is required (a PEM file path)`);
    process.exit(2);
  }
  return readFileSync(env[name], 'utf8');
}
const privateKey = required('SAML_IDP_KEY');
const signingCert = required('SAML_IDP_CERT');
const spEntityId = env.SAML_SP_ENTITY_ID || 'vestibule';
const acsUrls = (env.SAML_SP_ACS_URLS || 'http://127.0.0.1/saml/acs').split(' ').filter(Boolean);
const sign = env.SAML_SIGN || 'assertion';
if (!['assertion', 'response', 'both'].includes(sign)) {
  console.error(`saml_idp: SAML_SIGN must be assertion, response or both, not ${sign}`);
  process.exit(2);
}
const encryptCert = env.SAML_ENCRYPT_CERT ? readFileSync(env.SAML_ENCRYPT_CERT, 'utf8') : undefined;
const spSloUrl = env.SAML_SP_SLO_URL || '';

const accounts = {
  alice: { displayName: 'Alice Example', email: 'alice@example.com', groups: ['analysts', 'admins'] },
  bob: { displayName: 'Bob Example', email: 'bob@example.com', groups: ['viewers'] },
};

samlify.setSchemaValidator(validator);
const { Constants, SamlLib } = samlify;
const binding = Constants.namespace.binding;
const nameIdUnspecified = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const nameIdEmail = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

const esc = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

// The service provider as the IdP sees it: samlify signs the assertion when the SP "wants
// assertions signed", the Response when it "wants messages signed" or not the assertion.
const sp = samlify.ServiceProvider({
  entityID: spEntityId,
  assertionConsumerService: acsUrls.map((Location) => ({ Binding: binding.post, Location })),
  singleLogoutService: spSloUrl ? [{ Binding: binding.redirect, Location: spSloUrl }] : [],
  wantAssertionsSigned: sign !== 'response',
  wantMessageSigned: sign !== 'assertion',
  wantLogoutResponseSigned: true,
  encryptCert,
});

let base, entityId, idp;

// The Response, from samlify's template rebuilt with the per-request ACS URL, no InResponseTo
// when unsolicited, a NameID in the unspecified format, an AuthnStatement and the attributes.
const responseTemplate =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}" InResponseTo="{InResponseTo}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}">' +
  '<saml:Issuer>{Issuer}</saml:Issuer>' +
  '<saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID>' +
  '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}" InResponseTo="{InResponseTo}"/></saml:SubjectConfirmation></saml:Subject>' +
  '<saml:Conditions NotBefore="{IssueInstant}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions>' +
  '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>' +
  '{AttributeStatement}</saml:Assertion></samlp:Response>';

function attributeStatement(account) {
  const attr = (name, values) =>
    `<saml:Attribute Name="${name}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">` +
    values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${esc(v)}</saml:AttributeValue>`).join('') +
    '</saml:Attribute>';
  return (
    '<saml:AttributeStatement>' +
    attr('displayName', [account.displayName]) +
    attr('email', [account.email]) +
    attr('groups', account.groups) +
    '</saml:AttributeStatement>'
  );
}

// A base64 SAMLResponse for `user` to `acs`, in response to `inResponseTo` (none: unsolicited).
async function loginResponse(user, acs, inResponseTo) {
  const account = accounts[user];
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const later = new Date(now.getTime() + 5 * 60 * 1000);
  const instant = (d) => d.toISOString().replace('.000Z', 'Z');
  const { context } = await idp.createLoginResponse(sp, {}, 'post', { email: account.email }, {
    // Sign the assertion, then encrypt it, then sign the Response: each signature stays valid.
    encryptThenSign: true,
    customTagReplacement: () => {
      const id = `_${randomUUID()}`;
      const xml = SamlLib.replaceTagsByValue(responseTemplate, {
        ID: id,
        AssertionID: `_${randomUUID()}`,
        IssueInstant: instant(now),
        NotOnOrAfter: instant(later),
        Destination: acs,
        InResponseTo: inResponseTo || null,
        Issuer: entityId,
        NameIDFormat: nameIdUnspecified,
        NameID: user,
        Audience: spEntityId,
        SessionIndex: `_${randomUUID()}`,
      }).replace('{AttributeStatement}', attributeStatement(account));
      return { id, context: xml };
    },
  });
  return context;
}

function page(res, status, title, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`);
}

function text(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${body}\n`);
}

function loginPage(res, status, { acs, inResponseTo, relay, error }) {
  const hidden = (name, value) => (value ? `<input type="hidden" name="${name}" value="${esc(value)}">` : '');
  page(
    res,
    status,
    'Sign in',
    `<h1>Sign in to the test SAML IdP</h1>` +
      (error ? `<p class="error" role="alert">${esc(error)}</p>` : '') +
      `<form method="post" action="/login">` +
      hidden('acs', acs) +
      hidden('inResponseTo', inResponseTo) +
      hidden('RelayState', relay) +
      `<label>Username <input name="username" autocomplete="username" autofocus></label> ` +
      `<label>Password <input name="password" type="password" autocomplete="current-password"></label> ` +
      `<button type="submit">Sign in</button></form>`,
  );
}

function autoPost(res, acs, samlResponse, relay) {
  page(
    res,
    200,
    'Signing in',
    `<form method="post" action="${esc(acs)}">` +
      `<input type="hidden" name="SAMLResponse" value="${esc(samlResponse)}">` +
      (relay ? `<input type="hidden" name="RelayState" value="${esc(relay)}">` : '') +
      `<noscript><button type="submit">Continue</button></noscript></form>` +
      `<script>document.forms[0].submit()</script>`,
  );
}

// An ACS URL the SP has (none asked for: the first).
function pickAcs(asked) {
  if (!asked) return acsUrls[0];
  return acsUrls.includes(asked) ? asked : undefined;
}

async function formBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1 << 20) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

async function handle(req, res) {
  const url = new URL(req.url, base);
  const params = req.method === 'POST' ? await formBody(req) : Object.fromEntries(url.searchParams);
  const route = `${req.method} ${url.pathname}`;

  if (route === 'GET /metadata') {
    res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
    return res.end(idp.getMetadata());
  }

  if (route === 'GET /sso' || route === 'POST /sso') {
    if (!params.SAMLRequest) return text(res, 400, 'no SAMLRequest');
    let parsed;
    try {
      parsed = await idp.parseLoginRequest(sp, req.method === 'GET' ? 'redirect' : 'post', {
        query: params,
        body: params,
      });
    } catch (e) {
      console.error('saml_idp: AuthnRequest refused:', e);
      return text(res, 400, `AuthnRequest refused: ${e?.message ?? e}`);
    }
    if (parsed.extract.issuer !== spEntityId) return text(res, 400, `AuthnRequest Issuer is not ${spEntityId}: ${parsed.extract.issuer}`);
    const request = parsed.extract.request ?? {};
    const acs = pickAcs(request.assertionConsumerServiceUrl);
    if (!acs) return text(res, 400, `AssertionConsumerServiceURL not allowed: ${request.assertionConsumerServiceUrl}`);
    return loginPage(res, 200, { acs, inResponseTo: request.id, relay: params.RelayState });
  }

  if (route === 'POST /login') {
    const acs = pickAcs(params.acs);
    if (!acs) return text(res, 400, `ACS URL not allowed: ${params.acs}`);
    const form = { acs, inResponseTo: params.inResponseTo, relay: params.RelayState };
    if (!Object.hasOwn(accounts, params.username ?? '')) {
      return loginPage(res, 401, { ...form, error: `Unknown user: ${params.username ?? ''}` });
    }
    return autoPost(res, acs, await loginResponse(params.username, acs, params.inResponseTo), params.RelayState);
  }

  if (route === 'GET /idp-initiated' || route === 'GET /raw-response' || route === 'POST /raw-response') {
    const acs = pickAcs(params.acs);
    if (!acs) return text(res, 400, `ACS URL not allowed: ${params.acs}`);
    const user = params.user || 'alice';
    if (!Object.hasOwn(accounts, user)) return text(res, 404, `unknown user: ${user}`);
    if (url.pathname === '/idp-initiated') return autoPost(res, acs, await loginResponse(user, acs), params.relay);
    return text(res, 200, await loginResponse(user, acs, params.inResponseTo));
  }

  if (route === 'GET /slo') {
    if (!spSloUrl) return text(res, 400, 'SAML_SP_SLO_URL is not set');
    if (!params.SAMLRequest) return text(res, 400, 'no SAMLRequest');
    let parsed;
    try {
      parsed = await idp.parseLogoutRequest(sp, 'redirect', { query: params });
    } catch (e) {
      console.error('saml_idp: LogoutRequest refused:', e);
      return text(res, 400, `LogoutRequest refused: ${e?.message ?? e}`);
    }
    if (parsed.extract.issuer !== spEntityId) return text(res, 400, `LogoutRequest Issuer is not ${spEntityId}: ${parsed.extract.issuer}`);
    const { context } = idp.createLogoutResponse(sp, parsed, 'redirect', { relayState: params.RelayState ?? '' });
    res.writeHead(302, { location: context, 'cache-control': 'no-store' });
    return res.end();
  }

  return text(res, 404, 'not found');
}

// Listen first: the entity id and endpoints need the port.
const server = createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error('saml_idp:', e);
    if (!res.headersSent) text(res, 500, String(e?.message ?? e));
    else res.end();
  });
});
server.listen(port, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`;
  entityId = `${base}/metadata`;
  idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey,
    signingCert,
    wantAuthnRequestsSigned: false,
    isAssertionEncrypted: Boolean(encryptCert),
    dataEncryptionAlgorithm: `http://www.w3.org/2001/04/xmlenc#${env.SAML_ENCRYPT_DATA ?? 'aes128-cbc'}`,
    nameIDFormat: [nameIdUnspecified, nameIdEmail],
    singleSignOnService: [
      { Binding: binding.redirect, Location: `${base}/sso` },
      { Binding: binding.post, Location: `${base}/sso` },
    ],
    singleLogoutService: [{ Binding: binding.redirect, Location: `${base}/slo` }],
  });
  process.stdout.write(`${base}\n`);
});
