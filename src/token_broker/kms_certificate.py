"""A self-signed X.509 certificate for a KMS signing key, signed in KMS.

Microsoft Entra ID registers certificates, not bare public keys, as client credentials,
and finds the one an assertion is signed with by the certificate's thumbprint (``x5t``
in the header). KMS holds only a key pair; a certificate is a statement signed by a
private key, so one has to be made. ``cryptography`` builds and signs certificates only
with keys it holds, so the certificate is first built and signed with a throwaway key of
the same type (which fixes every field, the signature algorithm included), and then its
to-be-signed part is signed in KMS and the throwaway signature replaced: the result is
the same certificate KMS's key would have produced, which ``certificate()`` checks before
returning it.
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from cryptography.x509.oid import NameOID

from token_broker.errors import BrokerError
from token_broker.kms_signer import KmsSigner, PublicSigningKey


class CertificateError(BrokerError):
    """The certificate KMS signed does not verify (it never should)."""

    reason = "certificate_invalid"


def certificate(
    signer: KmsSigner, key_id: str, *, common_name: str, days: int, now: datetime.datetime
) -> x509.Certificate:
    """A certificate for the key ``key_id`` names, valid from a minute before ``now``."""
    key = signer.public_key(key_id)
    public = load_der_public_key(key.spki)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    draft = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(_throwaway(key), hashes.SHA256())
    )
    signed = _resigned(draft, signer.sign(key, draft.tbs_certificate_bytes, jws=False))
    _verify(signed, key)
    return signed


def x5t(cert: x509.Certificate) -> str:
    """The ``x5t`` header value: base64url SHA-1 of the certificate's DER (RFC 7515)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha1(der, usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _throwaway(key: PublicSigningKey) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if key.alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _resigned(draft: x509.Certificate, signature: bytes) -> x509.Certificate:
    """``draft`` with its signature replaced (Certificate ::= SEQUENCE { tbsCertificate,
    signatureAlgorithm, signatureValue BIT STRING }, RFC 5280 section 4.1)."""
    der = draft.public_bytes(serialization.Encoding.DER)
    body = _contents(der, 0)
    tbs = draft.tbs_certificate_bytes
    algorithm_end = len(tbs) + _element_length(body, len(tbs))
    algorithm = body[len(tbs) : algorithm_end]
    bits = _tlv(0x03, b"\x00" + signature)  # no unused bits
    return x509.load_der_x509_certificate(_tlv(0x30, tbs + algorithm + bits))


def _verify(cert: x509.Certificate, key: PublicSigningKey) -> None:
    public = load_der_public_key(key.spki)
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(
                cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA256()
            )
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise CertificateError("KMS's signature does not verify the certificate") from e


def _tlv(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def _header(data: bytes, offset: int) -> tuple[int, int]:
    """(header size, content size) of the DER element at ``offset``."""
    first = data[offset + 1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[offset + 2 : offset + 2 + count], "big")


def _contents(data: bytes, offset: int) -> bytes:
    header, size = _header(data, offset)
    return data[offset + header : offset + header + size]


def _element_length(data: bytes, offset: int) -> int:
    header, size = _header(data, offset)
    return header + size
