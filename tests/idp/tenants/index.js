// Provider-shaped tenants of the test identity provider: a Cognito user pool, an Entra ID
// tenant, an Okta custom authorization server, an Auth0 tenant and a Keycloak realm, each
// issuing access tokens exactly as that provider documents them (one module per provider
// in this directory, each citing the vendor pages its shape comes from). server.js wires this in:
// the same oidc-provider instance authenticates the clients and issues the tokens through
// its real client credentials grant; this module says, per tenant, where its endpoints
// live, how its token endpoint reads a request, what its tokens carry (header and claims,
// through oidc-provider's `formats.customizers.jwt`), what its token answer holds and what
// its JWKS publishes.

import auth0 from './auth0.js';
import cognito from './cognito.js';
import entra from './entra.js';
import keycloak from './keycloak.js';
import okta from './okta.js';

export const TENANT_PROVIDERS = ['cognito', 'entra', 'okta', 'auth0', 'keycloak'];

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
        name, provider: spec.provider, shape, ttl: spec.ttl ?? shape.ttl,
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
    return tenant.shape.idToken(tenant, clientId, username);
  }
}
