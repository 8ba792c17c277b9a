// A real OpenID Connect provider for the relying party's tests (crates/oidc/tests/real_idp.rs):
// panva's oidc-provider (npm, pinned in compat/package.json) on 127.0.0.1.
//
//   node oidc_idp.mjs [PORT]      PORT 0 or absent: any free port
//
// Prints the issuer URL (`http://127.0.0.1:PORT`) as one line on stdout once it listens, and
// runs until killed. One confidential client, from the environment:
//   OIDC_CLIENT_ID (vestibule), OIDC_CLIENT_SECRET (test-secret),
//   OIDC_REDIRECT_URIS (space-separated; http://127.0.0.1/callback),
//   OIDC_POST_LOGOUT_REDIRECT_URIS (space-separated; none: RP-initiated logout then ends at the
//   provider's own page)
// Two accounts, `alice` and `bob` (any password: the development login pages), with
// preferred_username, name, email and groups. PKCE (S256) is required of every client.

import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';

import Provider from 'oidc-provider';

// stdout carries the issuer line only; the library's notices go to stderr.
console.log = console.error;
console.info = console.error;

const port = Number(process.argv[2] ?? 0);
const clientId = process.env.OIDC_CLIENT_ID ?? 'vestibule';
const clientSecret = process.env.OIDC_CLIENT_SECRET ?? 'test-secret';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1/callback').split(' ');
const postLogoutRedirectUris = (process.env.OIDC_POST_LOGOUT_REDIRECT_URIS ?? '').split(' ').filter(Boolean);

const accounts = {
  alice: {
    preferred_username: 'alice',
    name: 'Alice Example',
    email: 'alice@example.com',
    email_verified: true,
    groups: ['analysts', 'admins'],
  },
  bob: {
    preferred_username: 'bob',
    name: 'Bob Example',
    email: 'bob@example.com',
    email_verified: true,
    groups: ['viewers'],
  },
};

// A signing key made at each start (the library's built-in development key is shared by
// everyone, and it warns about it).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'idp-rs256', use: 'sig', alg: 'RS256' };

// Listen first: the issuer URL needs the port.
const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        post_logout_redirect_uris: postLogoutRedirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-idp-test-cookie-key'] },
    // `groups` is a claim of its own scope, so a client asks for it as for email.
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'profile', 'email', 'groups'],
    pkce: { methods: ['S256'], required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, sub) {
      const account = accounts[sub];
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`${issuer}\n`);
});
