// Self-signed X.509 certificates for the provider-shaped JWKS (this directory): Entra ID, Auth0
// and Keycloak publish each signing key with its certificate chain (`x5c`) and thumbprint
// (`x5t`). Node can parse certificates but not make them, so this builds the DER of a v3
// certificate (RFC 5280 section 4.1) for an RSA key, signed with SHA-256; nothing in the
// tests trusts these certificates: they exist so the JWKS entries look like the vendors'.

import { createHash, randomBytes, sign } from 'node:crypto';

function derLength(length) {
  if (length < 0x80) return Buffer.from([length]);
  const bytes = [];
  for (let rest = length; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag, ...parts) {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

const sequence = (...parts) => der(0x30, ...parts);
const set = (...parts) => der(0x31, ...parts);
const NULL = Buffer.from([0x05, 0x00]);

function objectId(dotted) {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) chunk.unshift(0x80 | (value & 0x7f));
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

function integer(bytes) {
  const body = bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
  return der(0x02, body);
}

function utcTime(date) {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return der(0x17, Buffer.from(`${text}Z`, 'ascii'));
}

const SHA256_WITH_RSA = sequence(objectId('1.2.840.113549.1.1.11'), NULL);
const DAY_MS = 86400000;

// The DER of a certificate for `publicKey`, issued by and to CN=`commonName`.
export function selfSignedCertificate(privateKey, publicKey, commonName) {
  const name = sequence(set(sequence(objectId('2.5.4.3'), der(0x0c, Buffer.from(commonName)))));
  const now = Date.now();
  const serial = randomBytes(12);
  serial[0] &= 0x7f;
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))), // version 3
    integer(serial),
    SHA256_WITH_RSA,
    name,
    sequence(utcTime(new Date(now - DAY_MS)), utcTime(new Date(now + 365 * DAY_MS))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  return sequence(tbs, SHA256_WITH_RSA, der(0x03, Buffer.from([0]), signature));
}

// RFC 7517 4.8 `x5t` (SHA-1) and 4.9 `x5t#S256` of a DER certificate, base64url.
export function thumbprints(certificate) {
  return {
    x5t: createHash('sha1').update(certificate).digest('base64url'),
    'x5t#S256': createHash('sha256').update(certificate).digest('base64url'),
  };
}
