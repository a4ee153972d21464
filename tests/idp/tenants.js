// Provider-shaped tenants of the test identity provider: a Cognito user pool, an Entra ID
// tenant, an Okta custom authorization server, an Auth0 tenant and a Keycloak realm, each
// issuing access tokens exactly as that provider documents them. server.js wires this in:
// the same oidc-provider instance authenticates the clients and issues the tokens through
// its real client credentials grant; this module says, per tenant, where its endpoints
// live, how its token endpoint reads a request, what its tokens carry (header and claims,
// through oidc-provider's `formats.customizers.jwt`), what its token answer holds and what
// its JWKS publishes. Vendor pages each shape comes from (also cited in the test modules):
//
// - Cognito: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
//   (header kid + alg only; client_id, token_use "access", scope, no aud for M2M tokens),
//   .../amazon-cognito-user-pools-using-the-id-token.html (ID tokens: aud = app client id,
//   token_use "id"), .../token-endpoint.html (client credentials answer: access_token,
//   expires_in, token_type), .../cognito-user-pools-define-resource-servers.html
//   (scopes are "resource-server-identifier/scope-name"), keys at
//   {issuer}/.well-known/jwks.json (.../amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html).
// - Entra ID: https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
//   (typ "JWT", kid, x5t in v1.0 tokens; aud, azp/appid, roles, tid, oid, ver),
//   https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//   (scope "<resource>/.default", answer token_type / expires_in / ext_expires_in /
//   access_token), https://learn.microsoft.com/en-us/entra/identity-platform/signing-key-rollover
//   (keys without alg, with x5t and x5c; one key set for every tenant).
// - Okta: https://developer.okta.com/docs/guides/implement-client-creds/ (custom
//   authorization server /oauth2/{id}/v1/token, at least one custom scope),
//   https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS (metadata),
//   access tokens: header kid + alg, claims ver, jti "AT.", cid, scp (a list), sub.
// - Auth0: https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (aud a
//   list, azp, scope; RFC 9068 profile typ at+jwt with client_id),
//   https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis
//   ("Add Permissions in the Access Token": the permissions claim),
//   https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-set-properties (JWKS
//   with alg, x5c, x5t), the issuer ends with "/", client credentials need `audience`.
// - Keycloak: https://www.keycloak.org/docs/latest/server_admin/#_service_accounts (service
//   account tokens: azp, preferred_username service-account-*, realm_access, typ Bearer,
//   the realm's default client scopes "profile email" in scope),
//   https://www.keycloak.org/docs/latest/server_admin/#audience-support (no aud unless an
//   audience mapper adds one); keys at {issuer}/protocol/openid-connect/certs, with x5c,
//   x5t, x5t#S256 and an RSA-OAEP encryption key.

import {
  createHash, createPrivateKey, generateKeyPairSync, randomBytes, randomUUID,
} from 'node:crypto';

import { SignJWT } from 'jose';

import { selfSignedCertificate, thumbprints } from './x509.js';

export const TENANT_PROVIDERS = ['cognito', 'entra', 'okta', 'auth0', 'keycloak'];

// Default lifetimes, as each provider issues client credentials tokens out of the box.
const TTL = {
  cognito: 3600, entra: 3599, okta: 3600, auth0: 86400, keycloak: 300,
};

function stableUuid(...parts) {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-`
    + hex.slice(20, 32);
}

function opaque(bytes = 16) {
  return randomBytes(bytes).toString('base64url');
}

// An RSA signing key: its private JWK (for oidc-provider's keystore) and public members.
function rsaKey(kid, { certificate = null, use = 'sig', alg = 'RS256' } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let cert = null;
  let id = kid;
  if (certificate) {
    cert = selfSignedCertificate(privateKey, publicKey, certificate);
    id ??= thumbprints(cert).x5t; // Entra's kid is the certificate's thumbprint
  }
  const { n, e } = publicKey.export({ format: 'jwk' });
  return {
    kid: id,
    alg,
    use,
    private: { ...privateKey.export({ format: 'jwk' }), alg, use, kid: id },
    public: { kty: 'RSA', n, e },
    cert,
  };
}

function certMembers(key) {
  return key.cert ? { x5c: [key.cert.toString('base64')], ...thumbprints(key.cert) } : {};
}

function strings(value, what, fail) {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item && !/\s/.test(item))) {
    fail(`${what} must be a list of strings without spaces`);
  }
  return value;
}

function text(value, what, fail, fallback) {
  const result = value ?? fallback;
  if (typeof result !== 'string' || !result || /[\s/?#]/.test(result)) {
    fail(`${what} must be a non-empty string without spaces, '/', '?' or '#'`);
  }
  return result;
}

// -- one module per provider's behaviour, as data and small functions ----------------------

const cognito = {
  setup(tenant, spec, fail) {
    tenant.poolId = text(spec.user_pool_id, `tenants.${tenant.name}.user_pool_id`, fail, 'eu-west-1_AbCdEf012');
    const servers = spec.resource_servers ?? [{ identifier: 'orders-api', scopes: ['read', 'write'] }];
    const scopes = servers.flatMap((server) => strings(server.scopes, 'resource server scopes', fail)
      .map((scope) => `${server.identifier}/${scope}`));
    tenant.prefix = `/${tenant.poolId}`;
    // Access and ID tokens are signed with different keys (the ID token page says so).
    tenant.keys = [rsaKey(randomBytes(32).toString('base64')), rsaKey(randomBytes(32).toString('base64'))];
    tenant.apis = [{ audience: null, scopes }];
  },
  endpoints(tenant, base) {
    const issuer = base + tenant.prefix;
    return {
      issuer,
      discovery: `${issuer}/.well-known/openid-configuration`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      // Cognito serves it on the user pool domain; here it sits under the issuer.
      token_endpoint: `${issuer}/oauth2/token`,
    };
  },
  jwks: (tenant) => tenant.keys.map((key) => ({
    alg: 'RS256', e: key.public.e, kid: key.kid, kty: 'RSA', n: key.public.n, use: 'sig',
  })),
  // No scope: every custom scope the app client is allowed.
  adapt(tenant, form, client) {
    if (!form.get('scope')) form.set('scope', client.scope ?? '');
    form.set('resource', tenant.apis[0].resource);
    return null;
  },
  token(tenant, api, base) {
    return {
      header: { typ: undefined },
      payload: {
        sub: base.client_id,
        token_use: 'access',
        scope: base.scope,
        auth_time: base.iat,
        iss: tenant.endpoints.issuer,
        exp: base.exp,
        iat: base.iat,
        version: 2,
        jti: randomUUID(),
        client_id: base.client_id,
      },
    };
  },
  // RFC 6749 5.1: scope may be left out when it is what was asked for; Cognito leaves it out.
  answer: ({ access_token: accessToken, expires_in: expiresIn, token_type: tokenType }) => ({
    access_token: accessToken, expires_in: expiresIn, token_type: tokenType,
  }),
};

function entraError(status, error, code, description) {
  return {
    status,
    body: {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} `
        + `Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString(),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
  };
}

let entraKeys = null; // one key set for every Entra tenant, as Entra signs for all with it

const entra = {
  setup(tenant, spec, fail) {
    tenant.tenantId = text(spec.tenant_id, `tenants.${tenant.name}.tenant_id`, fail);
    tenant.prefix = `/${tenant.tenantId}`;
    entraKeys ??= [rsaKey(null, { certificate: 'accounts.accesscontrol.windows.net' })];
    tenant.keys = entraKeys;
    tenant.apis = (spec.apis ?? []).map((api, i) => {
      const where = `tenants.${tenant.name}.apis[${i}]`;
      if (![1, 2].includes(api.version ?? 2)) fail(`${where}.version must be 1 or 2`);
      return {
        appId: text(api.app_id, `${where}.app_id`, fail),
        appIdUri: api.app_id_uri ?? null,
        version: api.version ?? 2,
        scopes: strings(api.roles ?? [], `${where}.roles`, fail),
        // accessTokenAcceptedVersion 2: aud is the API's client id; 1: the URI asked for.
        audience: (api.version ?? 2) === 2 ? api.app_id : (api.app_id_uri ?? api.app_id),
      };
    });
  },
  endpoints(tenant, base) {
    const root = base + tenant.prefix;
    return {
      issuer: `${root}/v2.0`,
      issuer_v1: `${root}/`,
      discovery: `${root}/v2.0/.well-known/openid-configuration`,
      discovery_v1: `${root}/.well-known/openid-configuration`,
      jwks_uri: `${root}/discovery/v2.0/keys`,
      jwks_uri_v1: `${root}/discovery/keys`,
      token_endpoint: `${root}/oauth2/v2.0/token`,
    };
  },
  jwks: (tenant, v1) => tenant.keys.map((key) => ({
    kty: 'RSA',
    use: 'sig',
    kid: key.kid,
    x5t: key.kid,
    n: key.public.n,
    e: key.public.e,
    x5c: certMembers(key).x5c,
    ...(v1 ? {} : { issuer: tenant.endpoints.issuer }),
  })),
  // Client credentials take exactly one "<application ID URI or app id>/.default" scope and
  // grant every app role the client holds on that API; nothing narrower can be asked for.
  adapt(tenant, form, client) {
    const scope = (form.get('scope') ?? '').trim();
    if (form.has('resource')) {
      return entraError(400, 'invalid_request', 901002, "The 'resource' request parameter is not supported.");
    }
    const items = scope.split(/\s+/).filter(Boolean);
    if (items.length !== 1 || !items[0].endsWith('/.default')) {
      return entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is `
        + 'not valid. Client credential flows must have a scope value with /.default suffixed '
        + 'to the resource identifier (application ID URI).');
    }
    const wanted = items[0].slice(0, -'/.default'.length);
    const api = tenant.apis.find((candidate) => wanted === candidate.appIdUri || wanted === candidate.appId);
    if (!api) {
      return entraError(400, 'invalid_resource', 500011, `The resource principal named ${wanted} `
        + `was not found in the tenant named ${tenant.tenantId}. This can happen if the application `
        + 'has not been installed by the administrator of the tenant or consented to by any user '
        + 'in the tenant. You might have sent your authentication request to the wrong tenant.');
    }
    const held = new Set((client.scope ?? '').split(' '));
    form.set('resource', api.resource);
    form.set('scope', api.scopes.filter((role) => held.has(role)).join(' '));
    return null;
  },
  token(tenant, api, base) {
    const oid = stableUuid('entra-service-principal', tenant.tenantId, base.client_id);
    const roles = base.scope ? base.scope.split(' ') : undefined;
    const common = {
      aud: api.audience,
      iat: base.iat,
      nbf: base.iat,
      exp: base.exp,
      aio: opaque(40),
      oid,
      rh: `0.${opaque(24)}.`,
      roles,
      sub: oid,
      tid: tenant.tenantId,
      uti: opaque(16),
    };
    if (api.version === 1) {
      const iss = tenant.endpoints.issuer_v1;
      return {
        header: { typ: 'JWT', x5t: tenant.keys[0].kid },
        payload: {
          ...common, iss, idp: iss, appid: base.client_id, appidacr: '1', ver: '1.0',
        },
      };
    }
    return {
      header: { typ: 'JWT' },
      payload: {
        ...common, iss: tenant.endpoints.issuer, azp: base.client_id, azpacr: '1', ver: '2.0',
      },
    };
  },
  answer: ({ access_token: accessToken, expires_in: expiresIn }) => ({
    token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken,
  }),
};

const okta = {
  setup(tenant, spec, fail) {
    tenant.serverId = text(spec.auth_server_id, `tenants.${tenant.name}.auth_server_id`, fail, 'aus1orders');
    tenant.prefix = `/oauth2/${tenant.serverId}`;
    tenant.keys = [rsaKey(opaque(32))];
    tenant.apis = [{
      audience: spec.audience ?? 'api://orders',
      scopes: strings(spec.scopes ?? [], `tenants.${tenant.name}.scopes`, fail),
    }];
  },
  endpoints(tenant, base) {
    const issuer = base + tenant.prefix;
    return {
      issuer,
      discovery: `${issuer}/.well-known/openid-configuration`,
      discovery_oauth: `${issuer}/.well-known/oauth-authorization-server`,
      jwks_uri: `${issuer}/v1/keys`,
      token_endpoint: `${issuer}/v1/token`,
    };
  },
  jwks: (tenant) => tenant.keys.map((key) => ({
    kty: 'RSA', alg: 'RS256', kid: key.kid, use: 'sig', e: key.public.e, n: key.public.n,
  })),
  adapt(tenant, form) {
    if (!form.get('scope')) {
      return {
        status: 400,
        body: {
          error: 'invalid_scope',
          error_description: "The authorization server resource does not have any configured "
            + "default scopes, 'scope' must be provided.",
        },
      };
    }
    form.set('resource', tenant.apis[0].resource);
    return null;
  },
  token(tenant, api, base) {
    return {
      header: { typ: undefined },
      payload: {
        ver: 1,
        jti: `AT.${opaque(32)}`,
        iss: tenant.endpoints.issuer,
        aud: api.audience,
        iat: base.iat,
        exp: base.exp,
        cid: base.client_id,
        scp: base.scope ? base.scope.split(' ') : [],
        sub: base.client_id,
      },
    };
  },
  answer: (body) => ({
    token_type: 'Bearer', expires_in: body.expires_in, access_token: body.access_token, scope: body.scope,
  }),
};

const DIALECTS = ['access_token', 'access_token_authz', 'rfc9068_profile', 'rfc9068_profile_authz'];

const auth0 = {
  ownPort: true, // an Auth0 issuer is the root of its host: https://{tenant}.auth0.com/
  setup(tenant, spec, fail) {
    tenant.prefix = '';
    tenant.keys = [rsaKey(opaque(16), { certificate: `${tenant.name}.auth0.com` })];
    tenant.apis = (spec.apis ?? []).map((api, i) => {
      const where = `tenants.${tenant.name}.apis[${i}]`;
      const dialect = api.dialect ?? 'access_token_authz';
      if (!DIALECTS.includes(dialect)) fail(`${where}.dialect must be one of ${DIALECTS.join(', ')}`);
      if (typeof api.identifier !== 'string' || !api.identifier) fail(`${where}.identifier is required`);
      return {
        audience: api.identifier,
        dialect,
        scopes: strings(api.scopes ?? [], `${where}.scopes`, fail),
      };
    });
  },
  endpoints: (tenant, base) => ({
    issuer: `${base}/`,
    discovery: `${base}/.well-known/openid-configuration`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    token_endpoint: `${base}/oauth/token`,
  }),
  jwks: (tenant) => tenant.keys.map((key) => ({
    alg: 'RS256', kty: 'RSA', use: 'sig', n: key.public.n, e: key.public.e, kid: key.kid, ...certMembers(key),
  })),
  adapt(tenant, form, client) {
    const audience = form.get('audience');
    const deny = (description) => ({ status: 403, body: { error: 'access_denied', error_description: description } });
    if (!audience) return deny('No audience parameter was provided, and no default audience has been configured');
    const api = tenant.apis.find((candidate) => candidate.audience === audience);
    if (!api) return deny(`Service not found: ${audience}`);
    const held = new Set((client.scope ?? '').split(' ').filter((scope) => api.scopes.includes(scope)));
    const asked = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const missing = asked.filter((scope) => !held.has(scope));
    if (missing.length) return deny(`Client has not been granted scopes: ${missing.join(' ')}`);
    form.delete('audience');
    form.set('resource', api.resource);
    // No scope: every scope the client grant for this API holds.
    form.set('scope', asked.length ? asked.join(' ') : [...held].join(' '));
    return null;
  },
  token(tenant, api, base) {
    const scopes = base.scope ? base.scope.split(' ') : [];
    const rfc9068 = api.dialect.startsWith('rfc9068');
    const payload = {
      iss: tenant.endpoints.issuer,
      sub: `${base.client_id}@clients`,
      aud: [api.audience],
      iat: base.iat,
      exp: base.exp,
      ...(rfc9068 ? { client_id: base.client_id, jti: opaque(16) } : { azp: base.client_id }),
      scope: base.scope,
      ...(rfc9068 ? {} : { gty: 'client-credentials' }),
      ...(api.dialect.endsWith('_authz') ? { permissions: scopes } : {}),
    };
    return { header: { typ: rfc9068 ? 'at+jwt' : 'JWT' }, payload };
  },
  answer: (body) => ({
    access_token: body.access_token, scope: body.scope, expires_in: body.expires_in, token_type: 'Bearer',
  }),
};

const keycloak = {
  setup(tenant, spec, fail) {
    tenant.realm = text(spec.realm, `tenants.${tenant.name}.realm`, fail, 'orders');
    tenant.prefix = `/realms/${tenant.realm}`;
    tenant.defaultScopes = strings(spec.default_scopes ?? ['profile', 'email'], 'default_scopes', fail);
    tenant.keys = [rsaKey(opaque(32), { certificate: tenant.realm })];
    tenant.encryptionKey = rsaKey(opaque(32), { certificate: tenant.realm, use: 'enc', alg: 'RSA-OAEP' });
    const audience = spec.audience ?? null;
    tenant.apis = [{
      audience,
      scopes: [...strings(spec.scopes ?? [], `tenants.${tenant.name}.scopes`, fail)],
    }];
  },
  endpoints(tenant, base) {
    const issuer = base + tenant.prefix;
    return {
      issuer,
      discovery: `${issuer}/.well-known/openid-configuration`,
      jwks_uri: `${issuer}/protocol/openid-connect/certs`,
      token_endpoint: `${issuer}/protocol/openid-connect/token`,
    };
  },
  jwks: (tenant) => [...tenant.keys, tenant.encryptionKey].map((key) => ({
    kid: key.kid, kty: 'RSA', alg: key.alg, use: key.use, n: key.public.n, e: key.public.e, ...certMembers(key),
  })),
  adapt(tenant, form) {
    form.set('resource', tenant.apis[0].resource);
    return null;
  },
  scopeOf: (tenant, granted) => [...tenant.defaultScopes, ...(granted ? granted.split(' ') : [])].join(' '),
  token(tenant, api, base) {
    const payload = {
      exp: base.exp,
      iat: base.iat,
      jti: randomUUID(),
      iss: tenant.endpoints.issuer,
      aud: api.audience ?? undefined,
      sub: stableUuid('keycloak-service-account', tenant.realm, base.client_id),
      typ: 'Bearer',
      azp: base.client_id,
      acr: '1',
      realm_access: { roles: [`default-roles-${tenant.realm}`, 'offline_access', 'uma_authorization'] },
      scope: keycloak.scopeOf(tenant, base.scope),
      clientHost: '127.0.0.1',
      email_verified: false,
      preferred_username: `service-account-${base.client_id}`,
      clientAddress: '127.0.0.1',
      client_id: base.client_id,
    };
    return { header: { typ: 'JWT' }, payload };
  },
  answer: (body, tenant) => ({
    access_token: body.access_token,
    expires_in: body.expires_in,
    refresh_expires_in: 0,
    token_type: 'Bearer',
    'not-before-policy': 0,
    scope: keycloak.scopeOf(tenant, body.scope),
  }),
};

const PROVIDERS = {
  cognito, entra, okta, auth0, keycloak,
};

// -- the tenants of one test identity provider ------------------------------------------------

export class Tenants {
  constructor(specs, clients, fail, { reservedRealm }) {
    this.byName = new Map();
    this.byResource = new Map();
    if (specs === undefined || specs === null) specs = {};
    if (typeof specs !== 'object' || Array.isArray(specs)) fail('IDP_CONFIG.tenants must be a mapping');
    for (const [name, spec] of Object.entries(specs)) {
      const shape = PROVIDERS[spec?.provider];
      if (!shape) fail(`tenants.${name}.provider must be one of ${TENANT_PROVIDERS.join(', ')}`);
      const tenant = {
        name, provider: spec.provider, shape, ttl: spec.ttl ?? TTL[spec.provider],
      };
      shape.setup(tenant, spec, fail);
      tenant.apis.forEach((api, i) => {
        api.resource = `urn:scopegate:tenant:${name}:${i}`;
        this.byResource.set(api.resource, { tenant, api });
      });
      if (tenant.provider === 'keycloak' && tenant.realm === reservedRealm) {
        fail(`tenants.${name}.realm ${reservedRealm} is the realm of the Keycloak admin API alias`);
      }
      this.byName.set(name, tenant);
    }
    for (const client of clients) {
      if (client.tenant !== undefined && !this.byName.has(client.tenant)) {
        fail(`client ${client.client_id} names tenant ${client.tenant}, which is not configured`);
      }
    }
  }

  get list() {
    return [...this.byName.values()];
  }

  // Tenants that are the root of a host of their own (Auth0): each gets a port.
  get ownPort() {
    return this.list.filter((tenant) => tenant.shape.ownPort);
  }

  // Where each tenant's endpoints live, once the listening ports are known.
  place(mainBase, portBase) {
    for (const tenant of this.list) {
      tenant.base = tenant.shape.ownPort ? portBase(tenant) : mainBase;
      tenant.endpoints = tenant.shape.endpoints(tenant, tenant.base);
      tenant.paths = new Map(Object.entries(tenant.endpoints)
        .filter(([kind]) => !kind.startsWith('issuer'))
        .map(([kind, url]) => [new URL(url).pathname, kind]));
    }
  }

  summary() {
    return Object.fromEntries(this.list.map((tenant) => [tenant.name, {
      provider: tenant.provider, ...tenant.endpoints,
    }]));
  }

  scopes() {
    return this.list.flatMap((tenant) => tenant.apis.flatMap((api) => api.scopes));
  }

  signingKeys() {
    const seen = new Set();
    return this.list.flatMap((tenant) => tenant.keys).filter((key) => {
      if (seen.has(key.kid)) return false;
      seen.add(key.kid);
      return true;
    }).map((key) => key.private);
  }

  signingKids() {
    return new Set(this.signingKeys().map((key) => key.kid));
  }

  // What a request to `path` on the server of `base` is, for a tenant; null if none.
  route(base, path) {
    for (const tenant of this.list) {
      const kind = tenant.base === base ? tenant.paths?.get(path) : undefined;
      if (kind) return { tenant, kind };
    }
    return null;
  }

  document(tenant, kind) {
    const { endpoints } = tenant;
    if (kind.startsWith('jwks_uri')) return { keys: tenant.shape.jwks(tenant, kind === 'jwks_uri_v1') };
    const v1 = kind === 'discovery_v1';
    return {
      issuer: v1 ? endpoints.issuer_v1 : endpoints.issuer,
      token_endpoint: endpoints.token_endpoint,
      jwks_uri: v1 ? endpoints.jwks_uri_v1 : endpoints.jwks_uri,
      grant_types_supported: ['client_credentials'],
      response_types_supported: ['code', 'token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: [...new Set(tenant.apis.flatMap((api) => api.scopes))],
    };
  }

  // The token request's form as the tenant's provider reads it, rewritten for
  // oidc-provider (resource indicator and scope); or the provider's refusal.
  adapt(tenant, form, client) {
    return tenant.shape.adapt(tenant, form, client);
  }

  // oidc-provider's getResourceServerInfo for a tenant's API; undefined if not one.
  resourceInfo(resource, client) {
    const found = this.byResource.get(resource);
    if (!found) return undefined;
    if (client?.tenant !== found.tenant.name) return null;
    return {
      scope: found.api.scopes.join(' '),
      // oidc-provider wants an audience for JWT access tokens; token() drops it where the
      // provider sends none.
      audience: found.api.audience ?? resource,
      accessTokenTTL: found.tenant.ttl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256', kid: found.tenant.keys[0].kid } },
    };
  }

  // formats.customizers.jwt: the provider's header and claims for a tenant's token.
  customize(token, jwt) {
    const found = this.byResource.get(token.resourceServer?.identifier());
    if (!found) return;
    const { tenant, api } = found;
    const { header, payload } = tenant.shape.token(tenant, api, jwt.payload);
    for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
    if (payload.aud === undefined) {
      // oidc-provider refuses a JWT access token without aud (RFC 9068 requires one), but
      // Cognito and Keycloak issue them: an aud it can see that JSON.stringify leaves out.
      Object.defineProperty(payload, 'aud', {
        value: 'none', enumerable: false, writable: true, configurable: true,
      });
    }
    jwt.header = header;
    jwt.payload = payload;
  }

  answer(tenant, body) {
    return tenant.shape.answer(body, tenant);
  }

  // A Cognito ID token for an app client of a user pool, as a user's sign-in returns it.
  async cognitoIdToken(name, clientId, username = 'jane') {
    const tenant = this.byName.get(name);
    if (tenant?.provider !== 'cognito') throw new Error(`${name} is not a Cognito user pool`);
    const key = tenant.keys[1];
    const now = Math.floor(Date.now() / 1000);
    const sub = stableUuid('cognito-user', tenant.poolId, username);
    return new SignJWT({
      sub,
      aud: clientId,
      email_verified: true,
      event_id: randomUUID(),
      token_use: 'id',
      auth_time: now,
      iss: tenant.endpoints.issuer,
      'cognito:username': username,
      exp: now + 3600,
      iat: now,
      jti: randomUUID(),
      origin_jti: randomUUID(),
      email: `${username}@example.com`,
    })
      .setProtectedHeader({ kid: key.kid, alg: 'RS256' })
      .sign(createPrivateKey({ key: key.private, format: 'jwk' }));
  }
}
