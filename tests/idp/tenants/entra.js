// A Microsoft Entra ID tenant. Shapes from:
// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
//   (typ "JWT", kid, x5t in v1.0 tokens; aud, azp/appid, roles, tid, oid, ver),
// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//   (scope "<resource>/.default"; the answer: token_type, expires_in, ext_expires_in,
//   access_token), https://learn.microsoft.com/en-us/entra/identity-platform/signing-key-rollover
//   (keys without alg, with x5t and x5c; one key set for every tenant).

import { randomUUID } from 'node:crypto';

import {
  certMembers, opaque, rsaKey, stableUuid, strings, text,
} from './common.js';

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
  ttl: 3599, // its default lifetime for client credentials tokens
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

export default entra;
