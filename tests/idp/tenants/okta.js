// An Okta custom authorization server. Shapes from:
// https://developer.okta.com/docs/guides/implement-client-creds/ (/oauth2/{id}/v1/token,
//   at least one custom scope), https://developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS
//   (metadata); access tokens: header kid + alg, claims ver, jti "AT.", cid, scp (a list), sub.

import {
  opaque, rsaKey, strings, text,
} from './common.js';

const okta = {
  ttl: 3600, // its default lifetime for client credentials tokens
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

export default okta;
