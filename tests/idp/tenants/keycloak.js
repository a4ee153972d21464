// A Keycloak realm. Shapes from:
// https://www.keycloak.org/docs/latest/server_admin/#_service_accounts (service account
//   tokens: azp, preferred_username service-account-*, realm_access, typ Bearer, the
//   realm's default client scopes "profile email" in scope),
// https://www.keycloak.org/docs/latest/server_admin/#audience-support (no aud unless an
//   audience mapper adds one); keys at {issuer}/protocol/openid-connect/certs, with x5c,
//   x5t, x5t#S256, and an RSA-OAEP encryption key.

import { randomUUID } from 'node:crypto';

import {
  certMembers, opaque, rsaKey, stableUuid, strings, text,
} from './common.js';

const keycloak = {
  ttl: 300, // its default lifetime for client credentials tokens
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

export default keycloak;
