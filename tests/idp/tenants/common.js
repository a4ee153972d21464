// Helpers shared by the provider-shaped tenants (one module per provider beside this one).

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

import { selfSignedCertificate, thumbprints } from './x509.js';

export function stableUuid(...parts) {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-`
    + hex.slice(20, 32);
}

export function opaque(bytes = 16) {
  return randomBytes(bytes).toString('base64url');
}

// An RSA signing key: its private JWK (for oidc-provider's keystore) and public members.
export function rsaKey(kid, { certificate = null, use = 'sig', alg = 'RS256' } = {}) {
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

export function certMembers(key) {
  return key.cert ? { x5c: [key.cert.toString('base64')], ...thumbprints(key.cert) } : {};
}

export function strings(value, what, fail) {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item && !/\s/.test(item))) {
    fail(`${what} must be a list of strings without spaces`);
  }
  return value;
}

export function text(value, what, fail, fallback) {
  const result = value ?? fallback;
  if (typeof result !== 'string' || !result || /[\s/?#]/.test(result)) {
    fail(`${what} must be a non-empty string without spaces, '/', '?' or '#'`);
  }
  return result;
}
