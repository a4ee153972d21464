// Test identity provider for scopegate: the certified `oidc-provider` issuing JWT access
// tokens through the client credentials grant, on 127.0.0.1 only.
//
// Configured by the JSON document in env var IDP_CONFIG (see tools/local/idp/).
// Prints exactly one line on stdout when ready: {"ready": true, "issuer": "http://127.0.0.1:PORT",
// "tenants": {NAME: {"provider", "issuer", "token_endpoint", "jwks_uri", ...}}}.
//
// Provider-shaped tenants (IDP_CONFIG.tenants, see tenants/): a Cognito user pool, Entra
// ID tenants, an Okta custom authorization server, Auth0 tenants (each on a port of its own:
// their issuer is the root of a host, with a trailing "/") and Keycloak realms, each with
// its own endpoints, keys, token shape and token endpoint rules; a client with `tenant`
// belongs to that one only (anywhere else it is an unknown client). The generic issuer's
// JWKS publishes only its own keys.
//
// Test-only endpoints under /__test/: POST id-token ({tenant, client_id}: a Cognito ID
// token of that app client), POST rotate-keys, GET stats, POST reset-stats (also
// clears the token log), POST faults, GET token-log, GET secrets/{client_id} (id, status,
// created, expires and the SHA-256 of each secret, never a value), POST secret-propagation
// ({"delay_ms": N}: secrets created afterwards work only N ms after their creation), POST
// reset-secrets (every client back to its configured secret, no propagation delay).
//
// Client secrets: each client_secret_basic / client_secret_post client holds a list of
// secrets {id, value, created, updated, status ACTIVE|INACTIVE, expires, display_name,
// usable_from}, starting with its configured client_secret (id "initial"). The list lives in
// the provider's client records (extra client metadata `scopegate_secrets`; the registered
// client_secret is the newest ACTIVE one) and every change rebuilds the provider with the
// same signing keys. The admin APIs below change the list; the token endpoint front accepts
// any live (ACTIVE, unexpired, propagated) secret of the list.
//
// In front of the provider, POST /token is buffered and:
// - refused with 401 invalid_client when a client registered `client_secret_basic` sends its
//   secret in the body or one registered `client_secret_post` uses the Authorization header
//   (oidc-provider 8.8.1 itself lets such clients use either secret method);
// - refused the same way when a secret client presents no live secret of its list; a live
//   one is swapped for the registered secret, so oidc-provider authenticates and issues;
// - answered by an injected fault instead of the provider, while one is set;
// - recorded in the token log (client, auth method, parameters, status; never a secret).
// POST /oauth/token (Auth0), /realms/{realm}/protocol/openid-connect/token (Keycloak, the
// configured realm only) and /{tenant}/oauth2/v2.0/token (Entra ID, any tenant) are the same
// endpoint (same front, token log and counter). On the Entra and Auth0 ones a scope ending in
// "/.default" (Entra's https://graph.microsoft.com/.default) means the management scope; on
// the Auth0 and Keycloak ones a request without scope gets the client's registered scope
// (both providers grant a client its configured permissions when no scope is asked for).
// `audience` is ignored, as on /token.
//
// Provider-shaped admin APIs, changing the secret lists above (appId / client_id = the
// client's client_id; only secret clients exist for them):
// - Okta, `Authorization: SSWS <okta_api_token>`:
//   GET|POST /api/v1/apps/{appId}/credentials/secrets, GET|DELETE .../secrets/{secretId},
//   POST .../secrets/{secretId}/lifecycle/activate|deactivate (at most two secrets per app).
// - Microsoft Graph (Entra ID), /v1.0: GET applications(appId='{appId}') or
//   applications/{objectId} or applications?$filter=appId eq '{appId}', POST
//   .../addPassword and .../removePassword.
// - Keycloak admin REST, realm `keycloak_realm`: GET /admin/realms/{realm}/clients?clientId=X,
//   GET .../clients/{uuid}, GET|POST .../clients/{uuid}/client-secret, GET|DELETE
//   .../client-secret/rotated (one current secret and at most one rotated one).
// - Auth0 Management API v2: GET /api/v2/clients/{client_id}, POST .../rotate-secret.
// Graph, Keycloak and Auth0 want `Authorization: Bearer <JWT access token of this IdP>`
// carrying `management_scope` (default manage:clients): 401 without a valid token, 403 for
// a valid one without the scope, each in its provider's error shape.

import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  randomInt,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import { createServer } from 'node:http';

import { createLocalJWKSet, jwtVerify } from 'jose';
import Provider, { errors } from 'oidc-provider';

import { Tenants } from './tenants/index.js';

// oidc-provider prints notices with console.info; stdout is reserved for the ready line.
console.log = console.error;
console.info = console.error;
// The token endpoint's body is read here on purpose (see tokenEndpoint) and handed on as
// req.body, which oidc-provider supports but warns about once; the warning is expected.
// Every provider (re)build warns about the in-memory adapter; once is enough.
const warn = console.warn;
let adapterWarned = false;
console.warn = (...args) => {
  const text = String(args[0]);
  if (text.includes('already parsed request body detected')) return;
  if (text.includes('in-memory adapter')) {
    if (adapterWarned) return;
    adapterWarned = true;
  }
  warn(...args);
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
  const defaults = {
    okta_api_token: 'sg-test-okta-api-token-000000000000',
    management_scope: 'manage:clients',
    keycloak_realm: 'scopegate',
  };
  for (const name of Object.keys(defaults)) {
    const value = config[name] ?? defaults[name];
    if (typeof value !== 'string' || !value || /\s/.test(value)) {
      fail(`IDP_CONFIG.${name} must be a non-empty string without spaces`);
    }
    defaults[name] = value;
  }
  return { ...config, ...defaults, clients, resources, signing_algs: algs };
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
// Provider-shaped tenants (Cognito, Entra ID, Okta, Auth0, Keycloak): see tenants/.
const tenants = new Tenants(config.tenants, config.clients, fail, {
  reservedRealm: config.keycloak_realm,
});
const allScopes = new Set(tenants.scopes());
for (const entry of [...config.clients, ...Object.values(config.resources)]) {
  for (const scope of (entry.scope ?? '').split(' ')) if (scope) allScopes.add(scope);
}
// The tenant a token request was sent to (its endpoints, its token shape), by request.
const tenantOfRequest = new WeakMap();

let issuer;
let keys = [];        // every private JWK the provider knows (published in its JWKS)
let signingKid = {};  // alg -> kid used for new tokens
let provider;
let handler;
let verificationKeys;  // the public half of `keys`, for the admin APIs' bearer tokens
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

// -- client secret lists ------------------------------------------------------------------

const ACTIVE = 'ACTIVE';
const INACTIVE = 'INACTIVE';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
let propagationDelayMs = 0;  // how long secrets created from now on take to work

function randomString(length, alphabet = ALNUM) {
  let text = '';
  for (let i = 0; i < length; i += 1) text += alphabet[randomInt(alphabet.length)];
  return text;
}

function sha256(text) {
  return createHash('sha256').update(text, 'utf8').digest();
}

// A name-based UUID (version 5 layout, SHA-256): the same parts give the same id, always.
function stableUuid(...parts) {
  const hex = sha256(parts.join('\u0000')).toString('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-`
    + hex.slice(20, 32);
}

function newSecret({
  id, value, status = ACTIVE, expires = null, displayName = null,
}) {
  const now = Date.now();
  return {
    id,
    value,
    created: new Date(now).toISOString(),
    updated: new Date(now).toISOString(),
    status,
    expires,
    display_name: displayName,
    usable_from: new Date(now + propagationDelayMs).toISOString(),
  };
}

// Clients authenticating with a secret get a list, starting with their configured secret.
const secretClientIds = config.clients
  .filter((client) => SECRET_METHODS.has(registeredAuthMethod.get(client.client_id))
    && typeof client.client_secret === 'string')
  .map((client) => client.client_id);
const initialSecrets = new Map();
for (const client of config.clients) {
  if (!secretClientIds.includes(client.client_id)) continue;
  const initial = newSecret({ id: 'initial', value: client.client_secret });
  initialSecrets.set(client.client_id, [initial]);
  client.scopegate_secrets = [initial];
}

// The secret oidc-provider knows a client by: its newest ACTIVE one (lists are in creation
// order). Without any, an unguessable one the front never lets through.
function registeredSecret(secrets) {
  const active = secrets.filter((secret) => secret.status === ACTIVE);
  return active.at(-1)?.value ?? `no-active-secret-${randomBytes(24).toString('hex')}`;
}

function validateSecretList(_ctx, key, value) {
  if (key !== 'scopegate_secrets' || value === undefined) return;
  const valid = Array.isArray(value) && value.every(
    (secret) => typeof secret?.id === 'string' && typeof secret.value === 'string'
      && [ACTIVE, INACTIVE].includes(secret.status),
  );
  if (!valid) throw new errors.InvalidClientMetadata('scopegate_secrets must be a list of secrets');
}

// A copy of a client's list as the provider's client store holds it; null if it has none.
async function storedSecrets(clientId) {
  if (!secretClientIds.includes(clientId)) return null;
  const client = await provider.Client.find(clientId);
  const secrets = client?.scopegate_secrets;
  return Array.isArray(secrets) ? structuredClone(secrets) : null;
}

// Replace a client's list: a new provider (same keys) whose client store holds it.
function saveSecrets(clientId, secrets) {
  const client = config.clients.find((entry) => entry.client_id === clientId);
  client.scopegate_secrets = structuredClone(secrets);
  buildProvider();
}

function resetSecrets() {
  for (const [clientId, secrets] of initialSecrets) {
    config.clients.find((entry) => entry.client_id === clientId).scopegate_secrets = (
      structuredClone(secrets)
    );
  }
  propagationDelayMs = 0;
  buildProvider();
}

function isLive(secret, now) {
  return secret.status === ACTIVE
    && (secret.expires === null || Date.parse(secret.expires) > now)
    && Date.parse(secret.usable_from) <= now;
}

// The live secret equal (timing-safe) to the presented one, or why there is none; the reason
// names secrets by id only.
function matchSecret(secrets, presented, now) {
  const wanted = sha256(presented);
  const matches = secrets.filter((secret) => timingSafeEqual(sha256(secret.value), wanted));
  const live = matches.find((secret) => isLive(secret, now));
  if (live) return { secret: live };
  const [first] = matches;
  if (!first) return { reason: 'it is none of the client\'s secrets' };
  if (first.status !== ACTIVE) return { reason: `secret ${first.id} is ${first.status}` };
  if (first.expires !== null && Date.parse(first.expires) <= now) {
    return { reason: `secret ${first.id} expired at ${first.expires}` };
  }
  return { reason: `secret ${first.id} is not usable before ${first.usable_from} (propagation)` };
}

// Serialises the admin APIs: each reads a list from the client store, changes it and
// rebuilds the provider before the next one reads.
let adminQueue = Promise.resolve();
function exclusive(task) {
  const run = adminQueue.then(task);
  adminQueue = run.catch(() => {});
  return run;
}

function buildProvider() {
  const next = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
      ...(client.scopegate_secrets && { client_secret: registeredSecret(client.scopegate_secrets) }),
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
    extraClientMetadata: { properties: ['scopegate_secrets', 'tenant'], validator: validateSecretList },
    jwks: { keys: [...keys, ...tenants.signingKeys()] },
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
        getResourceServerInfo: (_ctx, resource, client) => {
          const shaped = tenants.resourceInfo(resource, client);
          if (shaped === null) throw new errors.InvalidTarget();  // another tenant's API
          if (shaped) return shaped;
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
    formats: { customizers: { jwt: async (_ctx, token, jwt) => tenants.customize(token, jwt) } },
    // oidc-provider checks exp, jti (replay), iss, sub, the signature and that aud is one of
    // issuer / token endpoint; like Okta and Entra ID, this IdP insists on the token endpoint.
    assertJwtClientAuthClaimsAndHeader: async (ctx, claims) => {
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      const tenant = tenantOfRequest.get(ctx.req);
      if (!audiences.includes(tenant ? tenant.endpoints.token_endpoint : ctx.oidc.urlFor('token'))) {
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
  verificationKeys = createLocalJWKSet({
    keys: keys.map((key) => ({
      ...createPublicKey({ key, format: 'jwk' }).export({ format: 'jwk' }),
      alg: key.alg,
      kid: key.kid,
      use: 'sig',
    })),
  });
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

// The answer oidc-provider gives for a failed client authentication. `reason` only goes to
// the log and never holds a secret.
function refuseClient(res, entry, reason) {
  console.error(`idp: token refused: invalid_client: ${reason}`);
  const description = 'client authentication failed';
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (entry.auth_method === 'client_secret_basic') {
    headers['www-authenticate'] = `Basic realm="${issuer}", error="invalid_client", `
      + `error_description="${description}"`;
  }
  sendJson(res, 401, { error: 'invalid_client', error_description: description }, headers);
}

// oidc-provider lets a client registered for one secret method use the other; refuse that
// the way it refuses any other method mismatch.
function refuseWrongSecretMethod(res, entry) {
  const registered = registeredAuthMethod.get(entry.client_id);
  if (!SECRET_METHODS.has(registered) || !SECRET_METHODS.has(entry.auth_method)) return false;
  if (registered === entry.auth_method) return false;
  refuseClient(
    res,
    entry,
    `${entry.client_id} is registered for ${registered} but used ${entry.auth_method}`,
  );
  return true;
}

function isForm(req) {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

function basicCredentials(req) {
  const credentials = (req.headers.authorization ?? '').split(' ')[1] ?? '';
  const basic = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = basic.indexOf(':');
  return colon === -1 ? null : { idPart: basic.slice(0, colon), secretPart: basic.slice(colon + 1) };
}

// The secret the client presented, decoded; null when it cannot be read or is repeated.
function presentedSecret(req, form, authMethod) {
  if (authMethod === 'client_secret_basic') {
    const basic = basicCredentials(req);
    return basic && formDecode(basic.secretPart);
  }
  const all = form?.getAll('client_secret') ?? [];
  return all.length === 1 ? all[0] : null;
}

// The token endpoint aliases, under which adapters find their provider's token URL.
function tokenAlias(path) {
  if (path === '/oauth/token') return { name: 'auth0', dotDefault: true, defaultScope: true };
  const keycloak = /^\/realms\/([^/]+)\/protocol\/openid-connect\/token$/.exec(path);
  if (keycloak) return { name: 'keycloak', realm: safeDecode(keycloak[1]), defaultScope: true };
  if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path)) return { name: 'entra', dotDefault: true };
  return null;
}

// Entra's (and Auth0's) "<resource>/.default" means the management scope here; Auth0 and
// Keycloak grant a client its registered scope when it asks for none. True if changed.
function adaptAliasForm(alias, form, clientId) {
  const scope = form.get('scope');
  if (scope !== null && alias.dotDefault) {
    const mapped = scope
      .split(' ')
      .map((item) => (item.endsWith('/.default') ? config.management_scope : item))
      .join(' ');
    if (mapped === scope) return false;
    form.set('scope', mapped);
    return true;
  }
  const registered = config.clients.find((client) => client.client_id === clientId)?.scope;
  if (scope !== null || !alias.defaultScope || !registered) return false;
  form.set('scope', registered);
  return true;
}

// Rewrite the JSON body that is about to be sent (status, document) -> document.
function rewriteJson(res, rewrite) {
  const end = res.end;
  res.end = function rewritten(chunk, ...rest) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function' && !res.headersSent) {
      let doc;
      try {
        doc = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
      } catch {
        return end.call(this, chunk, ...rest);
      }
      const text = JSON.stringify(rewrite(res.statusCode, doc));
      res.setHeader('content-length', Buffer.byteLength(text));
      return end.call(this, text, ...rest);
    }
    return end.call(this, chunk, ...rest);
  };
}

// The tenant a configured client belongs to (null: the generic issuer's), undefined if unknown.
function clientTenant(clientId) {
  const client = config.clients.find((entry) => entry.client_id === clientId);
  return client === undefined ? undefined : (client.tenant ?? null);
}

async function tokenEndpoint(req, res, alias = null, tenant = null) {
  const body = await readBody(req);
  const entry = describeTokenRequest(req, body);
  if (tenant) entry.tenant = tenant.name;
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
  // A client exists at its own issuer only: a tenant's clients are unknown elsewhere.
  const belongs = clientTenant(entry.client_id);
  if (belongs !== undefined && belongs !== (tenant?.name ?? null)) {
    const where = tenant ? `tenant ${tenant.name}` : 'the generic issuer';
    refuseClient(res, entry, `${entry.client_id} is not a client of ${where}`);
    return;
  }
  // Checked against and handed to the same provider, even if a secret change replaces it.
  const current = { provider, handler };
  const form = isForm(req) ? new URLSearchParams(body.toString('utf8')) : null;
  let rewritten = false;
  const client = SECRET_METHODS.has(entry.auth_method) && secretClientIds.includes(entry.client_id)
    ? await current.provider.Client.find(entry.client_id)
    : undefined;
  if (Array.isArray(client?.scopegate_secrets)) {
    const presented = presentedSecret(req, form, entry.auth_method);
    const match = presented === null
      ? { reason: 'its secret cannot be read' }
      : matchSecret(client.scopegate_secrets, presented, Date.now());
    if (!match.secret) {
      refuseClient(res, entry, `invalid secret provided: ${entry.client_id}: ${match.reason}`);
      return;
    }
    // A live secret: oidc-provider authenticates the client with its registered one.
    if (entry.auth_method === 'client_secret_basic') {
      const { idPart } = basicCredentials(req);
      const pair = `${idPart}:${encodeURIComponent(client.clientSecret)}`;
      req.headers.authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    } else {
      form.set('client_secret', client.clientSecret);
      rewritten = true;
    }
  }
  if (alias && form && adaptAliasForm(alias, form, entry.client_id)) rewritten = true;
  if (tenant && form) {
    // The request as the tenant's provider reads it (its resource and scope rules).
    const clientEntry = config.clients.find((candidate) => candidate.client_id === entry.client_id);
    const refusal = tenants.adapt(tenant, form, clientEntry ?? {});
    if (refusal) {
      sendJson(res, refusal.status, refusal.body, { 'cache-control': 'no-store' });
      return;
    }
    rewritten = true;
    tenantOfRequest.set(req, tenant);
    rewriteJson(res, (status, doc) => (status === 200 ? tenants.answer(tenant, doc) : doc));
  }
  // The stream is consumed; oidc-provider reads an already parsed body from req.body.
  req.body = rewritten ? Buffer.from(form.toString(), 'utf8') : body;
  if (rewritten) req.headers['content-length'] = String(req.body.length);
  if (alias || tenant) req.url = ROUTES.token;
  current.handler(req, res);
}

// A tenant's discovery document, JWKS or token endpoint.
function tenantEndpoint(req, res, { tenant, kind }) {
  if (kind === 'token_endpoint') {
    stats.token_requests += 1;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' });
      return;
    }
    tokenEndpoint(req, res, null, tenant).catch((err) => {
      console.error('idp: tenant token endpoint failed', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
    return;
  }
  if (kind.startsWith('jwks_uri')) stats.jwks_requests += 1;
  else stats.discovery_requests += 1;
  if (req.method !== 'GET') {
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
    return;
  }
  let document;
  try {
    document = tenants.document(tenant, kind);
  } catch (err) {
    console.error(`idp: tenant ${tenant.name} ${kind} failed`, err);
    sendJson(res, 500, { error: 'server_error' });
    return;
  }
  sendJson(res, 200, document);
}

// -- provider-shaped admin APIs -----------------------------------------------------------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function sendNoContent(res) {
  res.writeHead(204);
  res.end();
}

function activeSecrets(secrets) {
  return secrets.filter((secret) => secret.status === ACTIVE);
}

// null when the request carries a JWT access token of this IdP with the management scope;
// otherwise why not and the status for it (401: no valid token, 403: a valid one lacking it).
async function checkBearer(req) {
  const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return { status: 401, missing: true, reason: 'no bearer token' };
  let payload;
  try {
    ({ payload } = await jwtVerify(token, verificationKeys, {
      issuer,
      algorithms: config.signing_algs,
      typ: 'at+jwt',
      requiredClaims: ['exp'],
    }));
  } catch (err) {
    return { status: 401, missing: false, reason: `bearer token rejected: ${err.code ?? err.name}` };
  }
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  if (!scopes.includes(config.management_scope)) {
    return { status: 403, missing: false, reason: `bearer token lacks ${config.management_scope}` };
  }
  return null;
}

function checkSsws(req) {
  const token = /^SSWS +(\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return { status: 401, missing: true, reason: 'no SSWS token' };
  if (!timingSafeEqual(sha256(token), sha256(config.okta_api_token))) {
    return { status: 401, missing: false, reason: 'wrong SSWS token' };
  }
  return null;
}

// Okta management API: /api/v1/apps/{appId}/credentials/secrets

function oktaError(res, status, errorCode, errorSummary, causes = []) {
  sendJson(res, status, {
    errorCode,
    errorSummary,
    errorLink: errorCode,
    errorId: `oae${randomString(22)}`,
    errorCauses: causes.map((summary) => ({ errorSummary: summary })),
  });
}

const okta = {
  authorize: checkSsws,
  refuse: (res) => oktaError(res, 401, 'E0000011', 'Invalid token provided'),
  badBody: (res) => oktaError(res, 400, 'E0000003', 'The request body was not well-formed.'),
};

function oktaNotFound(res, id, type) {
  oktaError(res, 404, 'E0000007', `Not found: Resource not found: ${id} (${type})`);
}

function oktaInvalid(res, field, cause) {
  oktaError(res, 400, 'E0000001', `Api validation failed: ${field}`, [cause]);
}

function oktaSecret(secret, reveal = false) {
  const masked = secret.value.slice(0, 4) + '*'.repeat(Math.max(secret.value.length - 4, 0));
  return {
    id: secret.id,
    status: secret.status,
    client_secret: reveal ? secret.value : masked,
    secret_hash: sha256(secret.value).toString('base64url'),
    created: secret.created,
    lastUpdated: secret.updated,
    _links: {},
  };
}

// The app's list and the named secret in it; null once a 404 is sent.
async function oktaFind(res, appId, secretId) {
  const secrets = await storedSecrets(appId);
  if (!secrets) {
    oktaNotFound(res, appId, 'AppInstance');
    return null;
  }
  const secret = secrets.find((candidate) => candidate.id === secretId);
  if (secretId !== undefined && !secret) {
    oktaNotFound(res, secretId, 'ClientSecret');
    return null;
  }
  return { secrets, secret };
}

async function oktaList({ res, params: [appId] }) {
  const found = await oktaFind(res, appId);
  if (found) sendJson(res, 200, found.secrets.map((secret) => oktaSecret(secret)));
}

async function oktaCreate({ res, params: [appId], body }) {
  const found = await oktaFind(res, appId);
  if (!found) return;
  const { client_secret: value, status = ACTIVE } = body;
  if (value !== undefined && (typeof value !== 'string' || !/^[\x20-\x7e]{14,100}$/.test(value))) {
    oktaInvalid(res, 'client_secret', 'client_secret: The client secret must be 14 to 100 '
      + 'printable ASCII characters long.');
    return;
  }
  if (![ACTIVE, INACTIVE].includes(status)) {
    oktaInvalid(res, 'status', 'status: The status must be ACTIVE or INACTIVE.');
    return;
  }
  if (found.secrets.length >= 2) {
    oktaInvalid(res, 'client_secret', "You can't have more than two client secrets per application.");
    return;
  }
  const secret = newSecret({
    id: `ocs${randomString(17)}`,
    value: value ?? randomString(64, `${ALNUM}-_`),
    status,
  });
  saveSecrets(appId, [...found.secrets, secret]);
  sendJson(res, 200, oktaSecret(secret, true));
}

async function oktaGet({ res, params: [appId, secretId] }) {
  const found = await oktaFind(res, appId, secretId);
  if (found) sendJson(res, 200, oktaSecret(found.secret));
}

async function oktaLifecycle({ res, params: [appId, secretId, action] }) {
  const found = await oktaFind(res, appId, secretId);
  if (!found) return;
  const { secrets, secret } = found;
  const status = action === 'activate' ? ACTIVE : INACTIVE;
  if (status === INACTIVE && secret.status === ACTIVE && activeSecrets(secrets).length === 1) {
    oktaInvalid(res, 'client_secret', "You can't deactivate the last active client secret.");
    return;
  }
  if (secret.status !== status) {
    secret.status = status;
    secret.updated = new Date().toISOString();
    saveSecrets(appId, secrets);
  }
  sendJson(res, 200, oktaSecret(secret));
}

async function oktaDelete({ res, params: [appId, secretId] }) {
  const found = await oktaFind(res, appId, secretId);
  if (!found) return;
  if (found.secret.status === ACTIVE) {
    oktaInvalid(
      res,
      'client_secret',
      "You can't delete an active client secret. Deactivate it first.",
    );
    return;
  }
  saveSecrets(appId, found.secrets.filter((secret) => secret !== found.secret));
  sendNoContent(res);
}

// Microsoft Graph (Entra ID): /v1.0/applications

function graphError(res, status, code, message) {
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  sendJson(res, status, {
    error: {
      code,
      message,
      innerError: { date, 'request-id': randomUUID(), 'client-request-id': randomUUID() },
    },
  });
}

const graph = {
  authorize: checkBearer,
  refuse: (res, denial) => {
    if (denial.status === 403) {
      graphError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete '
        + 'the operation.');
    } else {
      graphError(res, 401, 'InvalidAuthenticationToken', denial.missing
        ? 'Access token is empty.'
        : 'Access token validation failure.');
    }
  },
  badBody: (res) => graphError(res, 400, 'BadRequest', 'Unable to read JSON request payload.'),
};

function graphObjectId(clientId) {
  return stableUuid('entra-application', clientId);
}

// Graph key ids are UUIDs; other ids (the configured secret's "initial") get a stable one.
function graphKeyId(clientId, secret) {
  return UUID.test(secret.id) ? secret.id : stableUuid('entra-password', clientId, secret.id);
}

function graphCredential(clientId, secret, secretText = null) {
  return {
    customKeyIdentifier: null,
    displayName: secret.display_name,
    endDateTime: secret.expires,
    hint: secret.value.slice(0, 3),
    keyId: graphKeyId(clientId, secret),
    secretText,
    startDateTime: secret.created,
  };
}

function graphApplication(clientId, secrets) {
  return {
    id: graphObjectId(clientId),
    appId: clientId,
    displayName: clientId,
    passwordCredentials: activeSecrets(secrets).map((secret) => graphCredential(clientId, secret)),
  };
}

// The application a path names by appId or object id, with its list; null once a 404 is sent.
async function graphFind(res, [appId, objectId]) {
  const clientId = appId
    ?? secretClientIds.find((id) => graphObjectId(id) === objectId?.toLowerCase());
  const secrets = clientId === undefined ? null : await storedSecrets(clientId);
  if (!secrets) {
    graphError(res, 404, 'Request_ResourceNotFound', `Resource '${appId ?? objectId}' does not `
      + 'exist or one of its queried reference-property objects are not present.');
    return null;
  }
  return { clientId, secrets };
}

async function graphList({ res, query }) {
  const filter = query.get('$filter');
  const wanted = filter === null ? null : /^appId eq '([^']*)'$/.exec(filter.trim())?.[1];
  if (wanted === undefined) {
    graphError(res, 400, 'Request_UnsupportedQuery', "Only $filter=appId eq '...' is supported.");
    return;
  }
  const value = [];
  for (const clientId of secretClientIds) {
    if (wanted !== null && clientId !== wanted) continue;
    value.push(graphApplication(clientId, await storedSecrets(clientId)));
  }
  sendJson(res, 200, { '@odata.context': `${issuer}/v1.0/$metadata#applications`, value });
}

async function graphGet({ res, params }) {
  const found = await graphFind(res, params);
  if (found) sendJson(res, 200, graphApplication(found.clientId, found.secrets));
}

function graphInvalid(res, property) {
  graphError(res, 400, 'Request_BadRequest', `Invalid value specified for property '${property}' `
    + "of resource 'PasswordCredential'.");
}

async function graphAddPassword({ res, params, body }) {
  const found = await graphFind(res, params);
  if (!found) return;
  const credential = body.passwordCredential ?? {};
  if (typeof credential !== 'object' || Array.isArray(credential)) {
    graphInvalid(res, 'passwordCredential');
    return;
  }
  const { displayName = null, endDateTime = null } = credential;
  if (displayName !== null && typeof displayName !== 'string') {
    graphInvalid(res, 'displayName');
    return;
  }
  let expires;
  if (endDateTime === null) {
    const twoYears = new Date();
    twoYears.setUTCFullYear(twoYears.getUTCFullYear() + 2);
    expires = twoYears.toISOString();
  } else {
    const end = typeof endDateTime === 'string' ? Date.parse(endDateTime) : Number.NaN;
    if (Number.isNaN(end)) {
      graphInvalid(res, 'endDateTime');
      return;
    }
    if (end <= Date.now()) {
      graphError(res, 400, 'Request_BadRequest', 'The endDateTime of a password credential '
        + 'must be later than its startDateTime.');
      return;
    }
    expires = new Date(end).toISOString();
  }
  const secret = newSecret({
    id: randomUUID(),
    value: randomString(40, `${ALNUM}~._-`),
    expires,
    displayName,
  });
  saveSecrets(found.clientId, [...found.secrets, secret]);
  sendJson(res, 200, {
    '@odata.context': `${issuer}/v1.0/$metadata#microsoft.graph.passwordCredential`,
    ...graphCredential(found.clientId, secret, secret.value),
  });
}

async function graphRemovePassword({ res, params, body }) {
  const found = await graphFind(res, params);
  if (!found) return;
  const { keyId } = body;
  const wanted = typeof keyId === 'string' ? keyId.toLowerCase() : null;
  const kept = found.secrets.filter((secret) => graphKeyId(found.clientId, secret) !== wanted);
  if (kept.length === found.secrets.length) {
    graphError(res, 400, 'Request_BadRequest', `No password credential found with keyId ${keyId}.`);
    return;
  }
  saveSecrets(found.clientId, kept);
  sendNoContent(res);
}

// Keycloak admin REST API: /admin/realms/{realm}/clients

const keycloak = {
  authorize: checkBearer,
  refuse: (res, denial) => sendJson(res, denial.status, {
    error: denial.status === 403 ? 'HTTP 403 Forbidden' : 'HTTP 401 Unauthorized',
  }),
  badBody: (res) => sendJson(res, 400, { error: 'HTTP 400 Bad Request' }),
};

function keycloakUuid(clientId) {
  return stableUuid('keycloak-client', clientId);
}

function keycloakClientOf(clientId) {
  return {
    id: keycloakUuid(clientId),
    clientId,
    enabled: true,
    publicClient: false,
    clientAuthenticatorType: 'client-secret',
  };
}

function keycloakRealmFound(res, realm) {
  if (realm === config.keycloak_realm) return true;
  sendJson(res, 404, { error: 'Realm not found.' });
  return false;
}

// The client a path names ([realm, uuid]) with its list; null once a 404 is sent.
async function keycloakFind(res, [realm, uuid]) {
  if (!keycloakRealmFound(res, realm)) return null;
  const clientId = secretClientIds.find((id) => keycloakUuid(id) === uuid);
  const secrets = clientId === undefined ? null : await storedSecrets(clientId);
  if (!secrets) {
    sendJson(res, 404, { error: 'Could not find client' });
    return null;
  }
  return { clientId, secrets };
}

// Keycloak's rotation policy: the newest ACTIVE secret is the current one, the one before
// it the rotated one.
function keycloakCredential(secret) {
  return { type: 'secret', value: secret?.value ?? null };
}

async function keycloakClients({ res, params: [realm], query }) {
  if (!keycloakRealmFound(res, realm)) return;
  const wanted = query.get('clientId');
  const found = secretClientIds.filter((id) => wanted === null || id === wanted);
  sendJson(res, 200, found.map(keycloakClientOf));
}

async function keycloakClient({ res, params }) {
  const found = await keycloakFind(res, params);
  if (found) sendJson(res, 200, keycloakClientOf(found.clientId));
}

async function keycloakSecret({ res, params }) {
  const found = await keycloakFind(res, params);
  if (found) sendJson(res, 200, keycloakCredential(activeSecrets(found.secrets).at(-1)));
}

async function keycloakRegenerate({ res, params }) {
  const found = await keycloakFind(res, params);
  if (!found) return;
  const current = activeSecrets(found.secrets).at(-1);
  const secret = newSecret({ id: randomUUID(), value: randomString(32) });
  saveSecrets(found.clientId, current ? [current, secret] : [secret]);
  sendJson(res, 200, keycloakCredential(secret));
}

async function keycloakRotated({ res, params }) {
  const found = await keycloakFind(res, params);
  if (!found) return;
  const rotated = activeSecrets(found.secrets).at(-2);
  if (rotated) sendJson(res, 200, keycloakCredential(rotated));
  else sendJson(res, 404, { errorMessage: 'Client does not have a rotated secret' });
}

async function keycloakDeleteRotated({ res, params }) {
  const found = await keycloakFind(res, params);
  if (!found) return;
  const current = activeSecrets(found.secrets).at(-1);
  if (current && found.secrets.length > 1) saveSecrets(found.clientId, [current]);
  sendNoContent(res);
}

// Auth0 Management API v2: /api/v2/clients/{client_id}

const auth0 = {
  authorize: checkBearer,
  refuse: (res, denial) => {
    if (denial.status === 403) {
      sendJson(res, 403, {
        statusCode: 403,
        error: 'Forbidden',
        message: `Insufficient scope, expected any of: ${config.management_scope}`,
        errorCode: 'insufficient_scope',
      });
    } else {
      sendJson(res, 401, {
        statusCode: 401,
        error: 'Unauthorized',
        message: denial.missing ? 'Missing authentication' : 'Invalid token',
      });
    }
  },
  badBody: (res) => sendJson(res, 400, {
    statusCode: 400,
    error: 'Bad Request',
    message: 'Invalid request payload JSON format',
  }),
};

function auth0Client(clientId, secrets) {
  return {
    client_id: clientId,
    name: clientId,
    client_secret: activeSecrets(secrets).at(-1)?.value ?? null,
    token_endpoint_auth_method: registeredAuthMethod.get(clientId),
    app_type: 'non_interactive',
  };
}

async function auth0Find(res, clientId) {
  const secrets = await storedSecrets(clientId);
  if (!secrets) {
    sendJson(res, 404, {
      statusCode: 404,
      error: 'Not Found',
      message: 'The client does not exist',
      errorCode: 'inexistent_client',
    });
  }
  return secrets;
}

async function auth0Get({ res, params: [clientId] }) {
  const secrets = await auth0Find(res, clientId);
  if (secrets) sendJson(res, 200, auth0Client(clientId, secrets));
}

// One live secret: the new one replaces every other at once.
async function auth0Rotate({ res, params: [clientId] }) {
  const secrets = await auth0Find(res, clientId);
  if (!secrets) return;
  const secret = newSecret({ id: randomUUID(), value: randomString(64, `${ALNUM}-_`) });
  saveSecrets(clientId, [secret]);
  sendJson(res, 200, auth0Client(clientId, [secret]));
}

const OKTA_SECRETS = '/api/v1/apps/([^/]+)/credentials/secrets';
const GRAPH_APP = "/v1\\.0/applications(?:\\(appId='([^/]*)'\\)|/([^/()]+))";
const KEYCLOAK_CLIENT = '/admin/realms/([^/]+)/clients/([^/]+)';
const ADMIN_ROUTES = [
  [okta, 'GET', OKTA_SECRETS, oktaList],
  [okta, 'POST', OKTA_SECRETS, oktaCreate],
  [okta, 'GET', `${OKTA_SECRETS}/([^/]+)`, oktaGet],
  [okta, 'DELETE', `${OKTA_SECRETS}/([^/]+)`, oktaDelete],
  [okta, 'POST', `${OKTA_SECRETS}/([^/]+)/lifecycle/(activate|deactivate)`, oktaLifecycle],
  [graph, 'GET', '/v1\\.0/applications', graphList],
  [graph, 'GET', GRAPH_APP, graphGet],
  [graph, 'POST', `${GRAPH_APP}/addPassword`, graphAddPassword],
  [graph, 'POST', `${GRAPH_APP}/removePassword`, graphRemovePassword],
  [keycloak, 'GET', '/admin/realms/([^/]+)/clients', keycloakClients],
  [keycloak, 'GET', KEYCLOAK_CLIENT, keycloakClient],
  [keycloak, 'GET', `${KEYCLOAK_CLIENT}/client-secret`, keycloakSecret],
  [keycloak, 'POST', `${KEYCLOAK_CLIENT}/client-secret`, keycloakRegenerate],
  [keycloak, 'GET', `${KEYCLOAK_CLIENT}/client-secret/rotated`, keycloakRotated],
  [keycloak, 'DELETE', `${KEYCLOAK_CLIENT}/client-secret/rotated`, keycloakDeleteRotated],
  [auth0, 'GET', '/api/v2/clients/([^/]+)', auth0Get],
  [auth0, 'POST', '/api/v2/clients/([^/]+)/rotate-secret', auth0Rotate],
].map(([api, method, pattern, handle]) => ({
  api, method, pattern: new RegExp(`^${pattern}$`), handle,
}));

// The route for this request; {api, allowed} when the path exists for other methods only.
function findAdminRoute(method, path) {
  const routes = ADMIN_ROUTES.filter((route) => route.pattern.test(path));
  if (routes.length === 0) return null;
  return routes.find((route) => route.method === method)
    ?? { api: routes[0].api, allowed: routes.map((route) => route.method) };
}

async function adminEndpoint(req, res, route, path, url) {
  if (route.allowed) {
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: route.allowed.join(', ') });
    return;
  }
  const denial = await route.api.authorize(req);
  if (denial) {
    console.error(`idp: admin request refused (${denial.status}): ${req.method} ${path}: `
      + denial.reason);
    route.api.refuse(res, denial);
    return;
  }
  const text = (await readBody(req)).toString('utf8');
  let body = {};
  try {
    if (text.trim()) body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    route.api.badBody(res);
    return;
  }
  const params = route.pattern.exec(path).slice(1)
    .map((param) => (param === undefined ? undefined : safeDecode(param)));
  await exclusive(() => route.handle({
    req, res, params, query: url.searchParams, body,
  }));
}

// -- test-only endpoints ------------------------------------------------------------------

async function testEndpoint(req, res, path) {
  if (req.method === 'POST' && path === '/__test/rotate-keys') {
    const body = await readJson(req);
    return sendJson(res, 200, { kids: rotateKeys(body.keep_old === true) });
  }
  if (req.method === 'POST' && path === '/__test/id-token') {
    // Cognito issues ID tokens only when a user signs in, which this IdP does not do.
    const { tenant, client_id: clientId, username } = await readJson(req);
    return sendJson(res, 200, { id_token: await tenants.cognitoIdToken(tenant, clientId, username) });
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
  const secretsOf = /^\/__test\/secrets\/([^/]+)$/.exec(path);
  if (req.method === 'GET' && secretsOf) {
    const secrets = await exclusive(() => storedSecrets(safeDecode(secretsOf[1])));
    if (!secrets) return sendJson(res, 404, { error: 'not_found' });
    return sendJson(res, 200, secrets.map((secret) => ({
      id: secret.id,
      status: secret.status,
      created: secret.created,
      expires: secret.expires,
      sha256: sha256(secret.value).toString('hex'),
    })));
  }
  if (req.method === 'POST' && path === '/__test/secret-propagation') {
    const delayMs = (await readJson(req)).delay_ms;
    if (!(Number.isInteger(delayMs) && delayMs >= 0)) throw new Error('delay_ms must be an integer >= 0');
    propagationDelayMs = delayMs;
    return sendJson(res, 200, { delay_ms: propagationDelayMs });
  }
  if (req.method === 'POST' && path === '/__test/reset-secrets') {
    await exclusive(resetSecrets);
    return sendJson(res, 200, { delay_ms: propagationDelayMs });
  }
  return sendJson(res, 404, { error: 'not_found' });
}

function serve(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const path = url.pathname;
  const shaped = tenants.route(issuer, path);
  if (shaped) {
    tenantEndpoint(req, res, shaped);
    return;
  }
  if (path.startsWith('/__test/')) {
    testEndpoint(req, res, path).catch((err) => sendJson(res, 400, { error: String(err) }));
    return;
  }
  // Graph's applications(appId='...') arrives with its quotes and parentheses escaped or not.
  const adminPath = path.replace(/%2[789]|%3D/gi, (escaped) => decodeURIComponent(escaped));
  const route = findAdminRoute(req.method, adminPath);
  if (route) {
    adminEndpoint(req, res, route, adminPath, url).catch((err) => {
      console.error('idp: admin API failed', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
    return;
  }
  const alias = tokenAlias(path);
  if (alias?.realm !== undefined && alias.realm !== config.keycloak_realm) {
    sendJson(res, 404, { error: 'Realm does not exist' });
    return;
  }
  if (path === ROUTES.jwks) stats.jwks_requests += 1;
  else if (path === ROUTES.discovery) stats.discovery_requests += 1;
  else if (path === ROUTES.token || alias) stats.token_requests += 1;
  if ((path === ROUTES.token || alias) && req.method === 'POST') {
    tokenEndpoint(req, res, alias).catch((err) => {
      console.error('idp: token endpoint front failed', err);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
    return;
  }
  if (alias) req.url = ROUTES.token;
  if (path === ROUTES.jwks && tenants.list.length) {
    // The tenants' keys sit in the same keystore; the generic issuer publishes its own.
    const theirs = tenants.signingKids();
    rewriteJson(res, (status, doc) => (status === 200 && Array.isArray(doc.keys)
      ? { ...doc, keys: doc.keys.filter((key) => !theirs.has(key.kid)) } : doc));
  }
  handler(req, res);
}

const server = createServer(serve);

// A tenant that is the root of a host (Auth0) gets a port of its own, serving only its
// endpoints, as https://{tenant}.auth0.com/ does.
function tenantServer(tenant) {
  const own = createServer((req, res) => {
    const shaped = tenants.route(tenant.base, new URL(req.url, 'http://127.0.0.1').pathname);
    if (shaped) tenantEndpoint(req, res, shaped);
    else sendJson(res, 404, { error: 'not_found' });
  });
  own.on('error', (err) => fail(`server error: ${err.message}`));
  return own;
}

function listen(target, port) {
  return new Promise((resolve) => { target.listen(port, HOST, () => resolve(target.address().port)); });
}

const servers = [server];
server.on('error', (err) => fail(`server error: ${err.message}`));
(async () => {
  issuer = `http://${HOST}:${await listen(server, Number(config.port ?? 0))}`;
  const ports = new Map();
  for (const tenant of tenants.ownPort) {
    const own = tenantServer(tenant);
    servers.push(own);
    // tenants.route needs the base before the first request; 0 until listening.
    ports.set(tenant.name, await listen(own, 0));
  }
  tenants.place(issuer, (tenant) => `http://${HOST}:${ports.get(tenant.name)}`);
  try {
    rotateKeys(false);
  } catch (err) {
    fail(`cannot start provider: ${err.stack ?? err}`);
  }
  const ready = { ready: true, issuer, tenants: tenants.summary() };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
})();

function shutdown() {
  let open = servers.length;
  for (const each of servers) {
    each.close(() => {
      open -= 1;
      if (open === 0) process.exit(0);
    });
    each.closeAllConnections();
  }
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
// Set by the Python launcher: stop when the parent goes away (its end of stdin closes).
if (process.env.IDP_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}
