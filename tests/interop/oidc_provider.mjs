// A certified OpenID Provider (npm `oidc-provider`) for authplug's interop tests.
//
// Usage: node oidc_provider.mjs '<json config>'
//   config: { client_id, client_secret, redirect_uris, post_logout_redirect_uris,
//             access_token_ttl, rotate_refresh_tokens, refresh_delay_ms }
//   rotate_refresh_tokens: true makes every refresh_token grant rotate the refresh
//     token (oidc-provider's `rotateRefreshToken: true`; redeeming a used one is
//     `invalid_grant` and revokes the whole grant); default: oidc-provider's own rule.
//   refresh_delay_ms: hold each refresh_token grant's answer this long (after the
//     grant ran), so concurrent callers overlap as they would with a slow IdP.
// Listens on 127.0.0.1 on an ephemeral port, then prints one JSON line
// {"issuer": "http://127.0.0.1:<port>", "kid": "<kid>"} so the issuer matches the
// port it got. RSA keys with a kid are generated here, at start-up.
// POST /__rotate swaps in a provider signing with a new key (new kid) and
// prints nothing; it answers {"kid": "<new kid>"}. GET /__grants answers how many
// token-endpoint grants succeeded and failed, per grant type:
// {"refresh_token": {"success": 1, "error": 0}, ...}. All state is in memory.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `rsa-${randomUUID()}`, alg: 'RS256', use: 'sig' };
}

const ACCOUNT = {
  given_name: 'Alice',
  family_name: 'Liddell',
  email: 'alice@corp.example',
  email_verified: true,
  groups: ['staff'],
};

function makeProvider(issuer, keys) {
  const provider = new Provider(issuer, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: config.redirect_uris,
      post_logout_redirect_uris: config.post_logout_redirect_uris || [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    jwks: { keys },
    cookies: { keys: [randomUUID()] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups'],
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: { AccessToken: config.access_token_ttl || 3600 },
    ...(config.rotate_refresh_tokens ? { rotateRefreshToken: true } : {}),
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id, ...ACCOUNT }; } };
    },
  });
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err}\n`));
  provider.on('grant.success', (ctx) => countGrant(ctx, 'success'));
  provider.on('grant.error', (ctx) => countGrant(ctx, 'error'));
  if (config.refresh_delay_ms) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token') {
        await new Promise((resolve) => { setTimeout(resolve, config.refresh_delay_ms); });
      }
    });
  }
  return provider;
}

const grants = {};
function countGrant(ctx, outcome) {
  const type = String(ctx.oidc?.params?.grant_type || 'unknown');
  grants[type] ||= { success: 0, error: 0 };
  grants[type][outcome] += 1;
}

let keys = [newKey()];
let handler = null;
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__rotate') {
    keys = [newKey(), ...keys];
    handler = makeProvider(issuer, keys).callback();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  if (req.method === 'GET' && req.url === '/__grants') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(grants));
    return;
  }
  handler(req, res);
});
let issuer = '';
server.listen(0, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  handler = makeProvider(issuer, keys).callback();
  process.stdout.write(`${JSON.stringify({ issuer, kid: keys[0].kid })}\n`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  // A browser's keep-alive connections would hold close() open: end them too.
  server.closeAllConnections();
});
