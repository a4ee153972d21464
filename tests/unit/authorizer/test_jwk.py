"""JWK loading, key/algorithm agreement, signature checks, and the key set lookup."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from authorizer.errors import InvalidSignature, KeyMismatch, KeyNotFound
from authorizer.jwk import JwkError, KeySet, VerificationKey, load_jwk, load_jwks
from authorizer.jws import ALGORITHMS, b64url_decode, parse, verify_signature
from tests.support.signing import KEY_FOR_ALG, P256_ORDER, b64url, jwk_of, private_key, sign

CLAIMS = {"sub": "alice"}


def public_jwk(kind: str, kid: str | None = "k1", alg: str | None = None) -> dict[str, object]:
    return jwk_of(private_key(kind).public_key(), kid, alg)


def key(kind: str, kid: str | None = "k1", alg: str | None = None) -> VerificationKey:
    return load_jwk(public_jwk(kind, kid, alg))


def signed(alg: str, kind: str | None = None) -> tuple[bytes, bytes]:
    """(signing input, signature) of a fresh token."""
    jws = parse(sign({"alg": alg}, CLAIMS, private_key(kind or KEY_FOR_ALG[alg])))
    return jws.signing_input, jws.signature


# -- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kty", "crv"),
    [
        ("RSA2048", "RSA", None),
        ("RSA3072", "RSA", None),
        ("P-256", "EC", "P-256"),
        ("P-384", "EC", "P-384"),
        ("P-521", "EC", "P-521"),
        ("Ed25519", "OKP", "Ed25519"),
        ("Ed448", "OKP", "Ed448"),
    ],
)
def test_public_jwks_of_every_supported_kind_load(kind: str, kty: str, crv: str | None) -> None:
    loaded = key(kind, "kid-1")
    assert (loaded.kid, loaded.alg, loaded.kty, loaded.crv) == ("kid-1", None, kty, crv)
    assert loaded.algorithms <= ALGORITHMS


def test_the_jwk_alg_is_kept() -> None:
    assert key("RSA2048", alg="PS256").alg == "PS256"


def test_a_1024_bit_rsa_key_is_not_loaded() -> None:
    with pytest.raises(JwkError, match="2048"):
        key("RSA1024")


@pytest.mark.parametrize("e", [1, 2, 65536, 0])
def test_an_rsa_exponent_that_is_even_or_one_is_not_loaded(e: int) -> None:
    jwk = public_jwk("RSA2048")
    jwk["e"] = b64url(e.to_bytes(max(1, (e.bit_length() + 7) // 8)))
    with pytest.raises(JwkError):
        load_jwk(jwk)


def test_an_oct_key_is_never_loaded() -> None:
    with pytest.raises(JwkError):
        load_jwk({"kty": "oct", "k": b64url(b"s" * 32), "alg": "HS256", "kid": "k1"})
    with pytest.raises(JwkError, match="oct"):
        load_jwk({"kty": "oct", "kid": "k1"})


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_a_jwk_publishing_private_members_is_not_loaded(member: str) -> None:
    jwk = {**public_jwk("P-256"), member: "AAAA"}
    with pytest.raises(JwkError, match="private"):
        load_jwk(jwk)


@pytest.mark.parametrize("use", ["enc", "", "SIG", None, ["sig"]])
def test_a_jwk_whose_use_is_not_sig_is_not_loaded(use: object) -> None:
    with pytest.raises(JwkError, match="use"):
        load_jwk({**public_jwk("P-256"), "use": use})


def test_use_sig_and_key_ops_verify_are_accepted() -> None:
    assert load_jwk({**public_jwk("P-256"), "use": "sig", "key_ops": ["sign", "verify"]})


@pytest.mark.parametrize("ops", [["encrypt"], ["sign"], [], "verify", None])
def test_key_ops_without_verify_is_not_loaded(ops: object) -> None:
    with pytest.raises(JwkError, match="key_ops"):
        load_jwk({**public_jwk("P-256"), "key_ops": ops})


@pytest.mark.parametrize("alg", ["HS256", "none", "RSA-OAEP", "ES521", "RS1", "rs256", 256])
def test_a_jwk_alg_outside_the_allow_list_is_not_loaded(alg: object) -> None:
    with pytest.raises(JwkError):
        load_jwk({**public_jwk("RSA2048"), "alg": alg})


@pytest.mark.parametrize(
    ("kind", "alg"),
    [("P-256", "RS256"), ("P-256", "ES384"), ("RSA2048", "ES256"), ("Ed25519", "PS256")],
)
def test_a_jwk_alg_that_contradicts_its_key_type_is_not_loaded(kind: str, alg: str) -> None:
    with pytest.raises(JwkError):
        key(kind, alg=alg)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "secp256k1", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "crv": "X25519", "x": b64url(bytes(32))},
        {"kty": "RSA", "crv": "P-256", "n": "AQAB", "e": "AQAB"},
        {"kty": "rsa", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "x": "AAAA", "y": "AAAA"},
        {"x": "AAAA"},
        {"kty": 1},
    ],
)
def test_unsupported_kty_or_crv_is_not_loaded(jwk: dict[str, object]) -> None:
    with pytest.raises(JwkError):
        load_jwk(jwk)


def test_an_ec_point_not_on_the_curve_is_not_loaded() -> None:
    jwk = public_jwk("P-256")
    y = bytearray(b64url_decode(str(jwk["y"])))
    y[-1] ^= 1
    with pytest.raises(JwkError, match="invalid"):
        load_jwk({**jwk, "y": b64url(bytes(y))})


@pytest.mark.parametrize("coordinate", ["x", "y"])
def test_ec_coordinates_must_have_the_exact_length(coordinate: str) -> None:
    jwk = public_jwk("P-256")
    raw = b64url_decode(str(jwk[coordinate]))
    for wrong in (b"\x00" + raw, raw[1:], raw + b"\x00"):
        with pytest.raises(JwkError, match="length"):
            load_jwk({**jwk, coordinate: b64url(wrong)})


@pytest.mark.parametrize("member", ["n", "e", "x"])
def test_key_members_must_be_canonical_base64url(member: str) -> None:
    jwk = public_jwk("Ed25519" if member == "x" else "RSA2048")
    value = str(jwk[member])
    for wrong in (value + "=" * (-len(value) % 4 or 4), value.replace("A", "+"), 12, None):
        if wrong == value:
            continue
        with pytest.raises(JwkError):
            load_jwk({**jwk, member: wrong})


def test_a_jwk_that_is_not_an_object_is_not_loaded() -> None:
    with pytest.raises(JwkError):
        load_jwk(["kty", "RSA"])  # type: ignore[arg-type]  # the wrong type is the test


def test_verification_keys_built_by_hand_are_checked_too() -> None:
    rsa_key = private_key("RSA2048").public_key()
    with pytest.raises(JwkError):
        VerificationKey("k", None, "EC", "P-256", rsa_key)
    with pytest.raises(JwkError):
        VerificationKey("k", None, "EC", "P-384", private_key("P-256").public_key())
    with pytest.raises(JwkError):
        VerificationKey("k", None, "RSA", None, private_key("RSA1024").public_key())
    with pytest.raises(JwkError):
        VerificationKey("k", "ES256", "RSA", None, rsa_key)
    assert VerificationKey("k", "RS256", "RSA", None, rsa_key).algorithms == {"RS256"}


# -- key and algorithm agreement ----------------------------------------------------------


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_each_algorithm_verifies_with_its_own_key(alg: str) -> None:
    key(KEY_FOR_ALG[alg]).verify(alg, *signed(alg))


def test_eddsa_verifies_with_ed448_too() -> None:
    key("Ed448").verify("EdDSA", *signed("EdDSA", "Ed448"))


def test_a_jwk_alg_disagreeing_with_the_token_alg_is_a_key_mismatch() -> None:
    pinned = key("RSA2048", alg="RS256")
    with pytest.raises(KeyMismatch):
        pinned.verify("PS256", *signed("PS256"))  # a genuine PS256 signature by that key
    pinned.verify("RS256", *signed("RS256"))


@pytest.mark.parametrize(
    ("kind", "alg"),
    [
        ("P-256", "ES384"),
        ("P-256", "ES512"),
        ("P-384", "ES256"),
        ("P-256", "RS256"),
        ("RSA2048", "ES256"),
        ("RSA2048", "EdDSA"),
        ("Ed25519", "ES256"),
        ("RSA2048", "HS256"),
        ("RSA2048", "none"),
    ],
)
def test_a_key_of_the_wrong_type_or_curve_is_a_key_mismatch(kind: str, alg: str) -> None:
    with pytest.raises(KeyMismatch):
        key(kind).verify(alg, b"a.b", b"\x00" * 64)


# -- signatures ---------------------------------------------------------------------------


def test_an_ecdsa_der_signature_is_refused() -> None:
    signing_input = b"header.payload"
    ec_private = private_key("P-256")
    assert isinstance(ec_private, ec.EllipticCurvePrivateKey)
    der = ec_private.sign(signing_input, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature, match="r \\|\\| s"):
        key("P-256").verify("ES256", signing_input, der)


@pytest.mark.parametrize("length", [0, 63, 65, 66, 96, 128])
def test_an_ecdsa_signature_of_the_wrong_length_is_refused(length: int) -> None:
    signing_input, sig = signed("ES256")
    wrong = (sig + sig)[:length]
    with pytest.raises(InvalidSignature):
        key("P-256").verify("ES256", signing_input, wrong)


@pytest.mark.parametrize(
    ("r", "s"),
    [
        (0, 0),
        (0, 1),
        (1, 0),
        (P256_ORDER, 1),
        (1, P256_ORDER),
        (P256_ORDER, P256_ORDER),
        (2**256 - 1, 2**256 - 1),
    ],
)
def test_ecdsa_r_or_s_zero_or_not_below_the_order_is_refused(r: int, s: int) -> None:
    with pytest.raises(InvalidSignature):
        key("P-256").verify("ES256", b"h.p", r.to_bytes(32) + s.to_bytes(32))


def test_ecdsa_r_or_s_shifted_by_the_order_is_refused() -> None:
    signing_input, sig = signed("ES256")
    r, s = int.from_bytes(sig[:32]), int.from_bytes(sig[32:])
    shifted = [(r + P256_ORDER, s), (r, s + P256_ORDER)]
    candidates = [(r2, s2) for r2, s2 in shifted if max(r2, s2) < 2**256]
    for r2, s2 in candidates:  # same value modulo n, so a lax verifier would accept
        with pytest.raises(InvalidSignature):
            key("P-256").verify("ES256", signing_input, r2.to_bytes(32) + s2.to_bytes(32))
    key("P-256").verify("ES256", signing_input, sig)


@pytest.mark.parametrize("salt", [0, 20, 64, padding.PSS.MAX_LENGTH])
def test_pss_verifies_only_with_the_digest_length_salt(salt: int) -> None:
    signing_input = b"header.payload"
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), salt)
    rsa_private = private_key("RSA2048")
    assert isinstance(rsa_private, rsa.RSAPrivateKey)
    sig = rsa_private.sign(signing_input, pss, hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key("RSA2048").verify("PS256", signing_input, sig)
    good = rsa_private.sign(
        signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()
    )
    key("RSA2048").verify("PS256", signing_input, good)


@pytest.mark.parametrize(
    ("signed_as", "checked_as"),
    [("RS256", "PS256"), ("PS256", "RS256"), ("RS256", "RS384"), ("PS512", "PS384")],
)
def test_an_rsa_signature_checked_with_another_scheme_or_hash_is_refused(
    signed_as: str, checked_as: str
) -> None:
    signing_input, sig = signed(signed_as)
    with pytest.raises(InvalidSignature):
        key("RSA2048").verify(checked_as, signing_input, sig)


@pytest.mark.parametrize("change", ["truncate", "extend", "prepend_zero", "flip"])
def test_an_altered_rsa_signature_is_refused(change: str) -> None:
    signing_input, sig = signed("RS256")
    altered = {
        "truncate": sig[:-1],
        "extend": sig + b"\x00",
        "prepend_zero": b"\x00" + sig,
        "flip": sig[:-1] + bytes([sig[-1] ^ 1]),
    }[change]
    with pytest.raises(InvalidSignature):
        key("RSA2048").verify("RS256", signing_input, altered)


def _signature_with_a_leading_zero(alg: str, kind: str) -> tuple[bytes, bytes]:
    """A real signature whose first byte is zero (one in 256: PSS salts are random, and
    PKCS#1 v1.5 signatures differ by message)."""
    for n in range(20_000):
        jws = parse(sign({"alg": alg}, {"sub": "alice", "n": n}, private_key(kind)))
        if jws.signature[0] == 0:
            return jws.signing_input, jws.signature
    raise AssertionError("no signature with a leading zero byte")  # pragma: no cover


@pytest.mark.parametrize("kind", ["RSA2048", "RSA3072"])
@pytest.mark.parametrize("alg", ["RS256", "PS256", "PS384", "PS512"])
def test_an_rsa_signature_shorter_than_the_modulus_is_refused(alg: str, kind: str) -> None:
    # RFC 8017 section 8.1.2 step 1 (and 8.2.2): a signature is exactly k octets, k the
    # modulus length. cryptography accepts a PSS signature with its leading zero dropped.
    signing_input, sig = _signature_with_a_leading_zero(alg, kind)
    verifying = key(kind)
    verifying.verify(alg, signing_input, sig)  # the full-length form verifies
    with pytest.raises(InvalidSignature):
        verifying.verify(alg, signing_input, sig[1:])


@pytest.mark.parametrize("kind", ["Ed25519", "Ed448"])
def test_an_altered_eddsa_signature_is_refused(kind: str) -> None:
    signing_input, sig = signed("EdDSA", kind)
    for altered in (sig[:-1] + bytes([sig[-1] ^ 1]), sig[:-1], sig + b"\x00"):
        with pytest.raises(InvalidSignature):
            key(kind).verify("EdDSA", signing_input, altered)


def test_a_signature_by_another_key_of_the_same_kind_is_refused() -> None:
    jws = parse(sign({"alg": "RS256"}, CLAIMS, private_key("RSA2048:other")))
    with pytest.raises(InvalidSignature):
        verify_signature(jws, key("RSA2048"))


def test_invalid_signature_is_chained_to_the_cryptography_error() -> None:
    signing_input, sig = signed("ES256")
    with pytest.raises(InvalidSignature) as info:
        key("P-256").verify("ES256", signing_input + b"x", sig)
    assert type(info.value.__cause__).__name__ == "InvalidSignature"
    assert info.value.reason == "signature_invalid"


# -- key sets -----------------------------------------------------------------------------


def jwks(*jwk_list: object) -> KeySet:
    return load_jwks({"keys": list(jwk_list)})


def test_get_finds_the_key_by_exact_kid() -> None:
    keys = jwks(public_jwk("RSA2048", "a"), public_jwk("RSA2048:other", "b"))
    assert keys.get("b", "RS256").public_key == private_key("RSA2048:other").public_key()
    assert keys.get("a", "RS256").public_key == private_key("RSA2048").public_key()
    assert (len(keys), keys.kids) == (2, ("a", "b"))


def test_kid_is_matched_exactly() -> None:
    keys = jwks(public_jwk("P-256", "Key-1"))
    for near in ("key-1", "Key-1 ", "Key", "Key-10"):
        with pytest.raises(KeyNotFound):
            keys.get(near, "ES256")


def test_an_unknown_kid_is_key_not_found() -> None:
    with pytest.raises(KeyNotFound) as info:
        jwks(public_jwk("P-256", "a")).get("b", "ES256")
    assert info.value.reason == "kid_unknown"


def test_a_known_kid_with_the_wrong_alg_is_a_key_mismatch() -> None:
    with pytest.raises(KeyMismatch):
        jwks(public_jwk("P-256", "a")).get("a", "ES384")


def test_a_token_without_kid_uses_the_only_compatible_key() -> None:
    keys = jwks(public_jwk("P-256", "ec"), public_jwk("RSA2048", "rsa"))
    assert keys.get(None, "ES256").kid == "ec"
    assert keys.get(None, "PS384").kid == "rsa"


def test_a_token_without_kid_is_refused_when_several_keys_fit() -> None:
    keys = jwks(public_jwk("P-256", "a"), public_jwk("P-256:other", "b"))
    with pytest.raises(KeyNotFound) as info:
        keys.get(None, "ES256")
    assert info.value.reason == "key_ambiguous"


def test_a_token_without_kid_is_refused_when_no_key_fits() -> None:
    with pytest.raises(KeyNotFound):
        jwks(public_jwk("RSA2048", "a")).get(None, "ES256")


def test_duplicate_kids_that_both_fit_are_ambiguous() -> None:
    keys = jwks(public_jwk("P-256", "same"), public_jwk("P-256:other", "same"))
    with pytest.raises(KeyNotFound, match="several"):
        keys.get("same", "ES256")


def test_duplicate_kids_of_different_types_are_told_apart_by_alg() -> None:
    keys = jwks(public_jwk("P-256", "same"), public_jwk("RSA2048", "same"))
    assert keys.get("same", "ES256").kty == "EC"
    assert keys.get("same", "RS256").kty == "RSA"


def test_a_pinned_jwk_alg_narrows_the_lookup() -> None:
    keys = jwks(public_jwk("RSA2048", "a", alg="PS256"))
    assert keys.get("a", "PS256").alg == "PS256"
    with pytest.raises(KeyMismatch):
        keys.get("a", "RS256")


def test_unusable_entries_are_skipped_and_reported_without_key_material() -> None:
    secret = b64url(b"symmetric-secret-value-000000000")
    keys = jwks(
        {"kty": "oct", "k": secret, "kid": "hmac"},
        {**public_jwk("P-256", "enc"), "use": "enc"},
        {**public_jwk("P-256", "priv"), "d": secret},
        public_jwk("RSA1024", "small"),
        "not an object",
        public_jwk("Ed25519", "good"),
    )
    assert (len(keys), keys.kids) == (1, ("good",))
    assert len(keys.skipped) == 5
    assert all(secret not in reason for reason in keys.skipped)
    assert "hmac" in keys.skipped[0]


@pytest.mark.parametrize(
    "doc",
    [None, [], "keys", {"keys": {}}, {"keys": None}, {"key": []}, {"keys": "[]"}],
)
def test_a_document_that_is_not_a_jwks_raises(doc: object) -> None:
    with pytest.raises(JwkError, match="JWKS"):
        load_jwks(doc)


def test_an_empty_jwks_is_a_key_set_that_finds_nothing() -> None:
    keys = load_jwks(json.loads('{"keys": []}'))
    assert len(keys) == 0
    with pytest.raises(KeyNotFound):
        keys.get(None, "RS256")
