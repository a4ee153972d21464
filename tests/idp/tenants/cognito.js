// An Amazon Cognito user pool. Shapes from:
// https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
//   (header kid + alg only; client_id, token_use "access", scope, no aud for M2M tokens),
// .../amazon-cognito-user-pools-using-the-id-token.html (ID tokens: aud = app client id,
//   token_use "id", signed with another key), .../token-endpoint.html (the client
//   credentials answer: access_token, expires_in, token_type),
// .../cognito-user-pools-define-resource-servers.html (scopes are
//   "resource-server-identifier/scope-name"), keys at {issuer}/.well-known/jwks.json
//   (.../amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html).

import { createPrivateKey, randomBytes, randomUUID } from 'node:crypto';

import { SignJWT } from 'jose';

import { rsaKey, stableUuid, strings, text } from './common.js';

const cognito = {
  ttl: 3600, // its default lifetime for client credentials tokens
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
  // The ID token a user's sign-in at an app client returns (client credentials never do).
  idToken(tenant, clientId, username) {
    const key = tenant.keys[1];
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      sub: stableUuid('cognito-user', tenant.poolId, username),
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
  },
};

export default cognito;
