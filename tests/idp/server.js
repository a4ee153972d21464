// Test identity provider for scopegate: the certified `oidc-provider` issuing JWT access
// tokens through the client credentials grant, on 127.0.0.1 only.
//
// Configured by the JSON document in env var IDP_CONFIG (see tests/support/idp.py).
// Prints exactly one line on stdout when ready: {"ready": true, "issuer": "http://127.0.0.1:PORT"}
// Test-only endpoints under /__test/: POST rotate-keys, GET stats, POST reset-stats (also
// clears the token log), POST faults, GET token-log.
//
// In front of the provider, POST /token is buffered and:
// - refused with 401 invalid_client when a client registered `client_secret_basic` sends its
//   secret in the body or one registered `client_secret_post` uses the Authorization header
//   (oidc-provider 8.8.1 itself lets such clients use either secret method);
// - answered by an injected fault instead of the provider, while one is set;
// - recorded in the token log (client, auth method, parameters, status; never a secret).

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints notices with console.info; stdout is reserved for the ready line.
console.log = console.error;
console.info = console.error;
// The token endpoint's body is read here on purpose (see tokenEndpoint) and handed on as
// req.body, which oidc-provider supports but warns about once; the warning is expected.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('already parsed request body detected')) warn(...args);
};

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
const tokenLog = [];  // one entry per POST /token since start or reset-stats
let fault = null;     // the injected answer for POST /token, see setFault

const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post']);
const registeredAuthMethod = new Map(
  config.clients.map((client) => [
    client.client_id,
    client.token_endpoint_auth_method ?? 'client_secret_basic',
  ]),
);

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
    // oidc-provider checks exp, jti (replay), iss, sub, the signature and that aud is one of
    // issuer / token endpoint; like Okta and Entra ID, this IdP insists on the token endpoint.
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims) => {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes(ctx.oidc.urlFor('token'))) {
        throw new errors.InvalidClientAuth('aud (JWT audience) must be the token endpoint URL');
      }
    },
  });
  next.on('server_error', (_ctx, err) => console.error('idp: server_error', err));
  // Why a request was refused (error_detail is not sent to the client); never holds a secret.
  next.on('grant.error', (_ctx, err) => {
    console.error(`idp: token refused: ${err.message}: ${err.error_detail ?? err.error_description}`);
  });
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

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readJson(req) {
  const text = (await readBody(req)).toString('utf8');
  return text ? JSON.parse(text) : {};
}

// -- fault injection ----------------------------------------------------------------------

const FAULT_FIELDS = new Set(['status', 'count', 'retry_after', 'body', 'content_type', 'delay_ms']);

// {} clears. With `status`, the next `count` token requests (all of them if count is absent)
// get that answer instead of the provider's; with only `delay_ms`, they reach the provider late.
function setFault(spec) {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new Error('a fault must be a JSON object');
  }
  const unknown = Object.keys(spec).filter((key) => !FAULT_FIELDS.has(key));
  if (unknown.length) throw new Error(`unknown fault fields: ${unknown.join(', ')}`);
  if (Object.keys(spec).length === 0) {
    fault = null;
    return fault;
  }
  const { status, count, retry_after: retryAfter, body, content_type: contentType } = spec;
  const delayMs = spec.delay_ms ?? 0;
  if (status !== undefined && !(Number.isInteger(status) && status >= 200 && status <= 599)) {
    throw new Error('status must be an HTTP status code (200-599)');
  }
  if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
    throw new Error('count must be a positive integer (omit it for "until cleared")');
  }
  if (!(Number.isFinite(delayMs) && delayMs >= 0)) throw new Error('delay_ms must be >= 0');
  if (retryAfter !== undefined && !['string', 'number'].includes(typeof retryAfter)) {
    throw new Error('retry_after must be a string or a number');
  }
  for (const [name, value] of [['body', body], ['content_type', contentType]]) {
    if (value !== undefined && typeof value !== 'string') throw new Error(`${name} must be a string`);
  }
  if (status === undefined && (body ?? contentType ?? retryAfter) !== undefined) {
    throw new Error('body, content_type and retry_after need a status');
  }
  if (status === undefined && delayMs === 0) throw new Error('a fault needs a status or delay_ms');
  fault = {
    status: status ?? null,
    remaining: count ?? null,
    retry_after: retryAfter === undefined ? null : String(retryAfter),
    body: body ?? '',
    content_type: contentType ?? (body ? 'application/json' : null),
    delay_ms: delayMs,
  };
  return fault;
}

function takeFault() {
  const taken = fault;
  if (taken && taken.remaining !== null) {
    taken.remaining -= 1;
    if (taken.remaining === 0) fault = null;
  }
  return taken;
}

function sendFault(res, injected) {
  const headers = { 'cache-control': 'no-store' };
  if (injected.content_type) headers['content-type'] = injected.content_type;
  if (injected.retry_after !== null) headers['retry-after'] = injected.retry_after;
  res.writeHead(injected.status, headers);
  res.end(injected.body);
}

// -- the token endpoint front -------------------------------------------------------------

// RFC 6749 section 2.3.1: the parts of Basic credentials are form-urlencoded before base64.
function formDecode(text) {
  try {
    return decodeURIComponent(text.replace(/\+/g, '%20'));
  } catch {
    return null;
  }
}

function jwtPart(token, index) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8'));
  } catch {
    return {};
  }
}

// What the client presented: its id, how it authenticated, and the grant parameters.
function describeTokenRequest(req, body) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const form = new URLSearchParams(
    type === 'application/x-www-form-urlencoded' ? body.toString('utf8') : '',
  );
  const values = (name) => {
    const all = form.getAll(name);
    if (all.length === 0) return null;
    return all.length === 1 ? all[0] : all;
  };
  const [scheme, credentials] = (req.headers.authorization ?? '').split(' ');
  let clientId = form.get('client_id');
  let authMethod = 'none';
  if (scheme?.toLowerCase() === 'basic' && credentials) {
    authMethod = 'client_secret_basic';
    const basic = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = basic.indexOf(':');
    clientId = formDecode(colon === -1 ? basic : basic.slice(0, colon));
  } else if (form.has('client_assertion')) {
    const assertion = form.get('client_assertion');
    const { alg } = jwtPart(assertion, 0);
    authMethod = String(alg).startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
    clientId ??= jwtPart(assertion, 1).sub ?? null;
  } else if (form.has('client_secret')) {
    authMethod = 'client_secret_post';
  }
  return {
    client_id: clientId,
    auth_method: authMethod,
    status: null,
    scope: form.get('scope'),
    resource: values('resource'),
    audience: values('audience'),
  };
}

// oidc-provider lets a client registered for one secret method use the other; refuse that
// the way it refuses any other method mismatch.
function refuseWrongSecretMethod(res, entry) {
  const registered = registeredAuthMethod.get(entry.client_id);
  if (!SECRET_METHODS.has(registered) || !SECRET_METHODS.has(entry.auth_method)) return false;
  if (registered === entry.auth_method) return false;
  console.error(
    `idp: token refused: invalid_client: ${entry.client_id} is registered for ${registered}`
      + ` but used ${entry.auth_method}`,
  );
  // The same answer oidc-provider gives for a method mismatch.
  const description = 'client authentication failed';
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (entry.auth_method === 'client_secret_basic') {
    headers['www-authenticate'] = `Basic realm="${issuer}", error="invalid_client", `
      + `error_description="${description}"`;
  }
  sendJson(res, 401, { error: 'invalid_client', error_description: description }, headers);
  return true;
}

async function tokenEndpoint(req, res) {
  const body = await readBody(req);
  const entry = describeTokenRequest(req, body);
  tokenLog.push(entry);
  const end = res.end;
  res.end = function recordStatus(...args) {
    entry.status = res.statusCode;  // before anything is sent, so the log never lags
    return end.apply(this, args);
  };

  const injected = takeFault();
  if (injected?.delay_ms) await new Promise((resolve) => { setTimeout(resolve, injected.delay_ms); });
  if (injected?.status) {
    sendFault(res, injected);
    return;
  }
  if (refuseWrongSecretMethod(res, entry)) return;
  // The stream is consumed; oidc-provider reads an already parsed body from req.body.
  req.body = body;
  handler(req, res);
}

async function testEndpoint(req, res, path) {
  if (req.method === 'POST' && path === '/__test/rotate-keys') {
    const body = await readJson(req);
    return sendJson(res, 200, { kids: rotateKeys(body.keep_old === true) });
  }
  if (req.method === 'GET' && path === '/__test/stats') return sendJson(res, 200, stats);
  if (req.method === 'POST' && path === '/__test/reset-stats') {
    for (const key of Object.keys(stats)) stats[key] = 0;
    tokenLog.length = 0;
    return sendJson(res, 200, stats);
  }
  if (req.method === 'POST' && path === '/__test/faults') {
    return sendJson(res, 200, { fault: setFault(await readJson(req)) });
  }
  if (req.method === 'GET' && path === '/__test/token-log') return sendJson(res, 200, tokenLog);
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
  if (path === ROUTES.token && req.method === 'POST') {
    tokenEndpoint(req, res).catch((err) => {
      console.error('idp: token endpoint front failed', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
    return;
  }
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
