// Test identity provider for scopegate: the certified `oidc-provider` issuing JWT access
// tokens through the client credentials grant, on 127.0.0.1 only.
//
// Configured by the JSON document in env var IDP_CONFIG (see tests/support/idp.py).
// Prints exactly one line on stdout when ready: {"ready": true, "issuer": "http://127.0.0.1:PORT"}
// Test-only endpoints under /__test/: POST rotate-keys, GET stats, POST reset-stats.

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints notices with console.info; stdout is reserved for the ready line.
console.log = console.error;
console.info = console.error;

const HOST = '127.0.0.1';
const ROUTES = {
  discovery: '/.well-known/openid-configuration',
  jwks: '/jwks',
  token: '/token',
};

function fail(message) {
  console.error(`idp: ${message}`);
  process.exit(1);
}

function loadConfig() {
  let config;
  try {
    config = JSON.parse(process.env.IDP_CONFIG ?? '');
  } catch (err) {
    fail(`IDP_CONFIG must be a JSON document (${err.message})`);
  }
  const { clients = [], resources = {}, signing_algs: algs = ['RS256'] } = config;
  if (!Array.isArray(clients) || clients.length === 0) fail('IDP_CONFIG.clients must be a non-empty list');
  if (!Array.isArray(algs) || algs.length === 0) fail('IDP_CONFIG.signing_algs must be a non-empty list');
  for (const [resource, info] of Object.entries(resources)) {
    if (!algs.includes(info.alg ?? 'RS256')) {
      fail(`resource ${resource} uses alg ${info.alg} which is not in signing_algs`);
    }
  }
  if (config.default_resource && !resources[config.default_resource]) {
    fail(`default_resource ${config.default_resource} is not one of the resources`);
  }
  return { ...config, clients, resources, signing_algs: algs };
}

// One fresh private JWK per algorithm, each with its own kid.
function generateKeys(algs) {
  return algs.map((alg) => {
    let pair;
    if (alg.startsWith('RS') || alg.startsWith('PS')) {
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    } else if (alg === 'ES256') {
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    } else if (alg === 'EdDSA' || alg === 'Ed25519') {
      pair = generateKeyPairSync('ed25519');
    } else {
      fail(`unsupported signing alg ${alg}`);
    }
    const jwk = pair.privateKey.export({ format: 'jwk' });
    return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}` };
  });
}

const config = loadConfig();
const allScopes = new Set();
for (const entry of [...config.clients, ...Object.values(config.resources)]) {
  for (const scope of (entry.scope ?? '').split(' ')) if (scope) allScopes.add(scope);
}

let issuer;
let keys = [];        // every private JWK the provider knows (published in its JWKS)
let signingKid = {};  // alg -> kid used for new tokens
let provider;
let handler;
const stats = { jwks_requests: 0, discovery_requests: 0, token_requests: 0 };

function buildProvider() {
  const next = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
    jwks: { keys },
    scopes: [...allScopes],
    routes: { jwks: ROUTES.jwks, token: ROUTES.token },
    clientDefaults: { id_token_signed_response_alg: config.signing_algs[0] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? config.default_resource ?? undefined,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          const info = config.resources[resource];
          if (!info) throw new errors.InvalidTarget();
          const alg = info.alg ?? 'RS256';
          return {
            scope: info.scope,
            audience: resource,
            accessTokenTTL: info.ttl ?? 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid: signingKid[alg] } },
          };
        },
      },
    },
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 300,
    },
  });
  next.on('server_error', (_ctx, err) => console.error('idp: server_error', err));
  provider = next;
  handler = next.callback();
}

function rotateKeys(keepOld) {
  const fresh = generateKeys(config.signing_algs);
  keys = keepOld ? [...fresh, ...keys] : fresh;
  signingKid = Object.fromEntries(fresh.map((key) => [key.alg, key.kid]));
  buildProvider();
  return fresh.map((key) => key.kid);
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

async function testEndpoint(req, res, path) {
  if (req.method === 'POST' && path === '/__test/rotate-keys') {
    const body = await readJson(req);
    return sendJson(res, 200, { kids: rotateKeys(body.keep_old === true) });
  }
  if (req.method === 'GET' && path === '/__test/stats') return sendJson(res, 200, stats);
  if (req.method === 'POST' && path === '/__test/reset-stats') {
    for (const key of Object.keys(stats)) stats[key] = 0;
    return sendJson(res, 200, stats);
  }
  return sendJson(res, 404, { error: 'not_found' });
}

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  if (path.startsWith('/__test/')) {
    testEndpoint(req, res, path).catch((err) => sendJson(res, 400, { error: String(err) }));
    return;
  }
  if (path === ROUTES.jwks) stats.jwks_requests += 1;
  else if (path === ROUTES.discovery) stats.discovery_requests += 1;
  else if (path === ROUTES.token) stats.token_requests += 1;
  handler(req, res);
});

server.on('error', (err) => fail(`server error: ${err.message}`));
server.listen(Number(config.port ?? 0), HOST, () => {
  issuer = `http://${HOST}:${server.address().port}`;
  try {
    rotateKeys(false);
  } catch (err) {
    fail(`cannot start provider: ${err.stack ?? err}`);
  }
  process.stdout.write(`{"ready": true, "issuer": ${JSON.stringify(issuer)}}\n`);
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// Set by the Python launcher: stop when the parent goes away (its end of stdin closes).
if (process.env.IDP_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
