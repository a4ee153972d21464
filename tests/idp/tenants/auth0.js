// An Auth0 tenant. Shapes from:
// https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (aud a list,
//   azp, scope; the RFC 9068 profile: typ at+jwt, client_id),
// https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis
//   ("Add Permissions in the Access Token": the permissions claim),
// https://auth0.com/docs/secure/tokens/json-web-tokens/json-web-key-set-properties (JWKS
//   with alg, x5c, x5t), https://auth0.com/docs/flows/call-your-api-using-the-client-credentials-flow
//   (client credentials name the API by `audience`); the issuer is the root of its host, "/".

import {
  certMembers, opaque, rsaKey, strings,
} from './common.js';

const DIALECTS = ['access_token', 'access_token_authz', 'rfc9068_profile', 'rfc9068_profile_authz'];

const auth0 = {
  ttl: 86400, // its default lifetime for client credentials tokens
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

export default auth0;
