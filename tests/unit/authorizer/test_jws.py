"""The compact JWS parser: one spelling per segment, and every header trick refused."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from authorizer import jws as jws_module
from authorizer.errors import (
    AlgorithmNotAllowed,
    InvalidSignature,
    KeyNotFound,
    MalformedToken,
    TokenRejected,
    UnsupportedHeader,
)
from authorizer.jwk import KeySet, load_jwk
from authorizer.jws import ALGORITHMS, CompactJws, b64url_decode, parse, parse_raw, verify_signature
from tests.support.signing import KEY_FOR_ALG, b64url, jwk_of, private_key, sign

CLAIMS = {"iss": "https://idp.example.com", "sub": "alice", "exp": 2_000_000_000}
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def token(alg: str = "RS256", **header: object) -> str:
    return sign({"alg": alg, "kid": "k1", **header}, CLAIMS, private_key(KEY_FOR_ALG[alg]))


def segments(tok: str) -> list[str]:
    return tok.split(".")


def rejoin(*parts: str) -> str:
    return ".".join(parts)


def raw_token(header: bytes, payload: bytes = b'{"sub":"alice"}', sig: bytes = b"sig") -> str:
    return rejoin(b64url(header), b64url(payload), b64url(sig))


def with_last_char_bits_set(segment: str) -> str:
    """The same segment with nonzero unused low bits in its last character."""
    last = B64URL.index(segment[-1])
    unused = {2: 0b1111, 3: 0b11}[len(segment) % 4]
    return segment[:-1] + B64URL[last | unused]


# -- what is accepted ---------------------------------------------------------------------


def test_ALGORITHMS_is_exactly_the_asymmetric_set() -> None:
    assert sorted(ALGORITHMS) == sorted(
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
    )


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_a_token_signed_with_each_algorithm_parses_and_verifies(alg: str) -> None:
    jws = parse(token(alg))
    key = load_jwk(jwk_of(private_key(KEY_FOR_ALG[alg]).public_key(), "k1", alg))
    verify_signature(jws, key)
    assert (jws.alg, jws.kid, jws.payload) == (alg, "k1", CLAIMS)


def test_parse_exposes_header_payload_and_signing_input() -> None:
    tok = token("ES256", typ="at+jwt")
    jws = parse(tok)
    head, body, sig = segments(tok)
    assert jws == CompactJws(
        header={"alg": "ES256", "kid": "k1", "typ": "at+jwt"},
        payload=CLAIMS,
        signing_input=f"{head}.{body}".encode(),
        signature=b64url_decode(sig),
        alg="ES256",
        kid="k1",
    )


def test_a_token_without_kid_has_kid_none() -> None:
    tok = sign({"alg": "ES256"}, CLAIMS, private_key("P-256"))
    assert parse(tok).kid is None


@pytest.mark.parametrize("typ", ["JWT", "at+jwt", "application/at+jwt", "anything"])
def test_any_string_typ_is_accepted(typ: str) -> None:
    assert parse(token(typ=typ)).header["typ"] == typ


def test_b64_true_is_the_default_and_accepted() -> None:
    assert parse(token(b64=True)).header["b64"] is True


def test_whitespace_inside_the_json_header_is_fine() -> None:
    tok = sign(b'{ "alg" : "ES256",\n\t"kid":"k1" }', CLAIMS, private_key("P-256"), alg="ES256")
    assert parse(tok).alg == "ES256"


def test_parse_raw_keeps_any_payload_even_empty() -> None:
    tok = sign({"alg": "ES256"}, b"", private_key("P-256"))
    raw = parse_raw(tok)
    assert raw.payload == b""
    verify_signature(raw, load_jwk(jwk_of(private_key("P-256").public_key(), None)))
    with pytest.raises(MalformedToken):
        parse(tok)  # a JWT payload must be a JSON object


def test_parsed_tokens_are_frozen() -> None:
    jws = parse(token())
    with pytest.raises(AttributeError):
        jws.alg = "none"  # type: ignore[misc]  # writing a frozen field is the test


def test_changing_a_parsed_header_does_not_change_the_next_parse() -> None:
    """Parsed headers are shared by tokens with the same header: they are read-only."""
    tok = token("ES256")
    with pytest.raises(TypeError):
        parse(tok).header["alg"] = "none"  # type: ignore[index]  # a read-only mapping
    with pytest.raises(AttributeError):
        parse(tok).header.clear()  # type: ignore[attr-defined]  # it has no clear: the test
    assert parse(tok).header == {"alg": "ES256", "kid": "k1"}


def test_the_parsed_header_cache_stays_bounded() -> None:
    for i in range(500):
        parse(token("ES256", kid=f"k{i}"))
    assert len(jws_module._header_cache) <= jws_module._HEADER_CACHE_SIZE


def test_json_whitespace_around_the_header_is_fine_but_trailing_data_is_not() -> None:
    assert parse(raw_token(b' \r\n\t{"alg":"ES256"}\n ')).alg == "ES256"
    for trailing in (b'{"alg":"ES256"}{}', b'{"alg":"ES256"} x', b'{"alg":"ES256"}\x0c'):
        with pytest.raises(MalformedToken):
            parse(raw_token(trailing))


# -- algorithm attacks --------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_casing_is_refused(alg: str) -> None:
    unsigned = sign({"alg": alg}, CLAIMS, None)
    with pytest.raises(MalformedToken):
        parse(unsigned)  # the empty signature alone is enough
    with pytest.raises(AlgorithmNotAllowed):
        parse(unsigned + "AAAA")


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_signed_with_the_rsa_public_key_is_refused(alg: str) -> None:
    public = private_key("RSA2048").public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    forged = sign({"alg": alg, "kid": "k1"}, CLAIMS, pem)
    with pytest.raises(AlgorithmNotAllowed):
        parse(forged)


@pytest.mark.parametrize("alg", ["rs256", "ES256K", "RSA-OAEP", "Ed25519", "", "PS256 "])
def test_unknown_algorithms_are_refused(alg: str) -> None:
    with pytest.raises(AlgorithmNotAllowed):
        parse(raw_token(json.dumps({"alg": alg}).encode()))


@pytest.mark.parametrize("header", [b"{}", b'{"alg":null}', b'{"alg":["RS256"]}', b'{"alg":1}'])
def test_a_header_without_a_string_alg_is_refused(header: bytes) -> None:
    with pytest.raises(UnsupportedHeader):
        parse(raw_token(header))


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c"])
def test_embedded_key_headers_never_choose_the_key(member: str) -> None:
    attacker = private_key("P-256:attacker")
    victim_keys = KeySet([load_jwk(jwk_of(private_key("P-256").public_key(), "k1"))])
    embedded = {
        "jwk": jwk_of(attacker.public_key(), "k1"),
        "jku": "https://attacker.example/keys",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": ["MIIBattackerCert"],
    }[member]
    forged = sign({"alg": "ES256", "kid": "k1", member: embedded}, CLAIMS, attacker)
    jws = parse(forged)  # the member is tolerated, never read
    with pytest.raises(InvalidSignature):
        verify_signature(jws, victim_keys.get(jws.kid, jws.alg))


@pytest.mark.parametrize("kid", ["../../etc/passwd", "/dev/null", "k1' OR '1'='1", "k1\x00", ""])
def test_a_hostile_kid_is_only_a_lookup_that_fails(kid: str) -> None:
    jws = parse(token("ES256", kid=kid))
    keys = KeySet([load_jwk(jwk_of(private_key("P-256").public_key(), "k1"))])
    with pytest.raises(KeyNotFound):
        keys.get(jws.kid, jws.alg)


@pytest.mark.parametrize("kid", [1, None, ["k1"], {"k": 1}, True])
def test_a_non_string_kid_is_malformed(kid: object) -> None:
    with pytest.raises(MalformedToken):
        parse(raw_token(json.dumps({"alg": "ES256", "kid": kid}).encode()))


def test_a_non_string_typ_is_malformed() -> None:
    with pytest.raises(MalformedToken):
        parse(token(typ=["JWT"]))


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "exp", [1], ["missing"]])
def test_any_crit_header_is_refused(crit: object) -> None:
    with pytest.raises(UnsupportedHeader):
        parse(token(crit=crit, exp=1, b64=True))


@pytest.mark.parametrize("b64", [False, "false", 0, None])
def test_unencoded_payload_b64_is_refused(b64: object) -> None:
    with pytest.raises(UnsupportedHeader):
        parse(token(b64=b64))


# -- tampering ----------------------------------------------------------------------------


def _verify(tok: str, alg: str = "ES256") -> None:
    jws = parse(tok)
    verify_signature(jws, load_jwk(jwk_of(private_key(KEY_FOR_ALG[alg]).public_key(), "k1")))


def test_a_tampered_signature_is_refused() -> None:
    head, body, sig = segments(token("ES256"))
    raw = bytearray(b64url_decode(sig))
    raw[5] ^= 1
    with pytest.raises(InvalidSignature):
        _verify(rejoin(head, body, b64url(bytes(raw))))


def test_a_tampered_payload_is_refused() -> None:
    head, _, sig = segments(token("ES256"))
    with pytest.raises(InvalidSignature):
        _verify(rejoin(head, b64url(json.dumps({**CLAIMS, "sub": "mallory"}).encode()), sig))


def test_a_tampered_header_is_refused() -> None:
    _, body, sig = segments(token("ES256"))
    head = b64url(json.dumps({"alg": "ES256", "kid": "k1", "typ": "JWT"}).encode())
    with pytest.raises(InvalidSignature):
        _verify(rejoin(head, body, sig))


def test_a_signature_moved_to_another_payload_is_refused() -> None:
    head, _, sig = segments(token("ES256"))
    _, other_body, _ = segments(sign({"alg": "ES256"}, {"sub": "bob"}, private_key("P-256")))
    with pytest.raises(InvalidSignature):
        _verify(rejoin(head, other_body, sig))


# -- outer form ---------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 4, 5])
def test_anything_but_three_segments_is_malformed(count: int) -> None:
    head, body, sig = segments(token())
    parts = [head, body, sig, sig, sig][:count]
    with pytest.raises(MalformedToken, match="not three base64url segments"):
        parse(rejoin(*parts))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_an_empty_segment_is_malformed(which: int) -> None:
    parts = segments(token())
    parts[which] = ""
    with pytest.raises(MalformedToken):
        parse(rejoin(*parts))


@pytest.mark.parametrize("tok", ["", ".", "..", "...", "a.b", " "])
def test_degenerate_strings_are_malformed(tok: str) -> None:
    with pytest.raises(MalformedToken):
        parse(tok)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_base64_padding_is_refused(which: int) -> None:
    parts = segments(token())
    parts[which] += "=" * (-len(parts[which]) % 4 or 4)
    with pytest.raises(MalformedToken):
        parse(rejoin(*parts))


@pytest.mark.parametrize("char", ["+", "/", "=", " ", "\n", "\t", "%", "é", "\x00", "."])
def test_characters_outside_base64url_are_refused(char: str) -> None:
    head, body, sig = segments(token())
    with pytest.raises(MalformedToken):
        parse(rejoin(head, body[:10] + char + body[10:], sig))


@pytest.mark.parametrize("where", ["lead", "trail"])
def test_surrounding_whitespace_is_refused(where: str) -> None:
    tok = token()
    with pytest.raises(MalformedToken):
        parse(" " + tok if where == "lead" else tok + "\n")


def test_standard_base64_of_the_same_bytes_is_refused() -> None:
    payload = b64url(b'{"sub":"?>?>?>"}')  # encodes with '-' and '_'
    assert "-" in payload or "_" in payload
    standard = payload.replace("-", "+").replace("_", "/")
    with pytest.raises(MalformedToken):
        parse(rejoin(b64url(b'{"alg":"ES256"}'), standard, "AAAA"))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_non_canonical_base64_with_unused_bits_set_is_refused(which: int) -> None:
    parts = [b64url(b'{"alg":"ES256","x":"a"}'), b64url(b'{"sub":"alic"}'), b64url(bytes(64))]
    assert [len(p) % 4 for p in parts] == [3, 3, 2]  # every segment has unused bits
    parse(rejoin(*parts))  # the canonical spelling parses
    altered = with_last_char_bits_set(parts[which])
    lenient = base64.urlsafe_b64decode(altered + "=" * (-len(altered) % 4))
    assert lenient == b64url_decode(parts[which])  # a lax decoder sees the same bytes
    parts[which] = altered
    with pytest.raises(MalformedToken):
        parse(rejoin(*parts))


def test_a_segment_of_impossible_length_is_refused() -> None:
    head, body, sig = segments(token())
    body = body + "A" * ((1 - len(body)) % 4)
    assert len(body) % 4 == 1
    with pytest.raises(MalformedToken):
        parse(rejoin(head, body, sig))


def test_an_oversized_token_is_refused_before_any_decoding() -> None:
    big = token(filler="x" * 20000)
    with pytest.raises(MalformedToken, match="longer"):
        parse(big)
    assert parse(big, max_length=len(big)).alg == "RS256"
    with pytest.raises(MalformedToken, match="longer"):
        parse(token(), max_length=100)


@pytest.mark.parametrize("value", [None, b"a.b.c", 123, ["a", "b", "c"]])
def test_a_non_string_token_is_malformed(value: object) -> None:
    with pytest.raises(MalformedToken):
        parse(value)  # type: ignore[arg-type]  # what no caller should pass: the test


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        (b'{"alg":"ES256","alg":"none"}', b'{"sub":"a"}'),
        (b'{"alg":"ES256","kid":"a","kid":"b"}', b'{"sub":"a"}'),
        (b'{"alg":"ES256"}', b'{"sub":"alice","sub":"admin"}'),
        (b'{"alg":"ES256"}', b'{"a":{"x":1,"x":2}}'),
    ],
)
def test_duplicate_json_member_names_are_refused(header: bytes, payload: bytes) -> None:
    with pytest.raises(MalformedToken, match="JSON"):
        parse(raw_token(header, payload))


@pytest.mark.parametrize("header", [b'["alg","ES256"]', b'"ES256"', b"1", b"null", b"true"])
def test_a_header_that_is_not_a_json_object_is_refused(header: bytes) -> None:
    with pytest.raises(MalformedToken, match="header"):
        parse(raw_token(header))


@pytest.mark.parametrize("payload", [b"[]", b'"claims"', b"1", b"null", b"foo", b"{"])
def test_a_payload_that_is_not_a_json_object_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedToken, match="payload"):
        parse(raw_token(b'{"alg":"ES256"}', payload))


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_refused(constant: bytes) -> None:
    with pytest.raises(MalformedToken):
        parse(raw_token(b'{"alg":"ES256"}', b'{"exp":' + constant + b"}"))


@pytest.mark.parametrize(
    "header",
    [
        b'{"alg":"ES256","kid":"\xff"}',  # not UTF-8
        '{"alg":"ES256"}'.encode("utf-16"),  # JSON allows it, JWS does not
        b'\xef\xbb\xbf{"alg":"ES256"}',  # UTF-8 byte order mark
    ],
)
def test_a_header_that_is_not_utf8_json_is_refused(header: bytes) -> None:
    with pytest.raises(MalformedToken):
        parse(raw_token(header))


def test_json_nested_too_deeply_for_the_parser_is_refused_not_crashed() -> None:
    payload = b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(MalformedToken):  # RecursionError inside json, reported as malformed
        parse(raw_token(b'{"alg":"ES256"}', payload), max_length=200_000)


# -- error messages -----------------------------------------------------------------------


def test_error_messages_never_quote_the_token() -> None:
    secretish = b64url(b'{"sub":"alice-secret-subject","pw":"hunter2"}')
    head = b64url(b'{"alg":"none","kid":"secret-kid"}')
    bad = [
        rejoin(head, secretish, "AAAA"),
        rejoin(b64url(b'{"alg":"ES256"}'), secretish + "=", "AAAA"),
        rejoin(b64url(b'{"alg":"ES256"}'), secretish, "AAAA", "AAAA"),
        rejoin(b64url(b'{"alg":"ES256","crit":["secret-kid"]}'), secretish, "AAAA"),
        rejoin(b64url(b'["secret-kid"]'), secretish, "AAAA"),
    ]
    for tok in bad:
        with pytest.raises(TokenRejected) as info:
            parse(tok)
        text = str(info.value)
        for forbidden in (secretish, head, "secret", "hunter2", "alice"):
            assert forbidden not in text


# -- properties ---------------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_base64url_round_trips(data: bytes) -> None:
    assert b64url_decode(b64url(data)) == data


@given(st.text(alphabet=B64URL + "=+/ ", max_size=40))
def test_every_decodable_string_is_the_one_canonical_encoding(text: str) -> None:
    try:
        data = b64url_decode(text)
    except ValueError:
        return
    assert b64url(data) == text


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)
_headers = st.dictionaries(
    st.sampled_from(["alg", "kid", "crit", "b64", "typ", "jwk", "x5c"]),
    st.sampled_from([*sorted(ALGORITHMS), "none", "HS256"]) | _json_values,
    max_size=4,
)
_segments = st.one_of(
    st.binary(max_size=40).map(b64url),
    (_headers | _json_values).map(lambda v: b64url(json.dumps(v).encode())),
    st.text(alphabet=B64URL + "=+/ .", max_size=20),
)


@given(st.text(max_size=300) | st.lists(_segments, min_size=1, max_size=4).map(".".join))
def test_parse_only_ever_returns_or_rejects(text: str) -> None:
    with contextlib.suppress(TokenRejected):
        parse(text)


_SIGNED = token("ES256")


@given(st.integers(0, len(_SIGNED) - 1), st.sampled_from(B64URL + "."))
def test_no_single_character_change_yields_a_valid_token(position: int, char: str) -> None:
    if _SIGNED[position] == char:
        return
    mutated = _SIGNED[:position] + char + _SIGNED[position + 1 :]
    with pytest.raises(TokenRejected):
        _verify(mutated)


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1.5E+309"])
def test_numbers_beyond_a_double_are_refused_like_infinity(number: bytes) -> None:
    with pytest.raises(MalformedToken):
        parse(raw_token(b'{"alg":"ES256"}', b'{"exp":2000000000,"n":' + number + b"}"))


def test_ordinary_floats_still_parse() -> None:
    jws = parse(raw_token(b'{"alg":"ES256"}', b'{"exp":2000000000.5,"n":1e308}'))
    assert jws.payload == {"exp": 2000000000.5, "n": 1e308}


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # beyond orjson's 64-bit integers
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # lone surrogates included: json writes them, orjson refuses them
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _reading(data: bytes) -> object:
    try:
        return jws_module._json_object(data, "payload")
    except MalformedToken:
        return MalformedToken


def _strict_reading(data: bytes) -> object:
    try:
        return jws_module._strict_json_object(data, "payload")
    except MalformedToken:
        return MalformedToken


@given(
    st.dictionaries(st.text(), _JSON_VALUES, max_size=6),
    st.sampled_from(["compact", "spaced", "ascii", "duplicated"]),
)
def test_the_fast_json_reader_reads_exactly_what_the_strict_one_does(
    value: dict[str, object], spelling: str
) -> None:
    """orjson reads a segment only where that is provably the strict reading (jws module):
    for any object, however it is written, both readers accept the same value or both
    refuse it (duplicated: the first member written twice, which both must refuse)."""
    text = {
        "compact": json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        "spaced": json.dumps(value, ensure_ascii=False),
        "ascii": json.dumps(value, separators=(",", ":")),
        "duplicated": json.dumps(value, separators=(",", ":"), ensure_ascii=False),
    }[spelling]
    if spelling == "duplicated" and value:
        first = json.dumps(dict([next(iter(value.items()))]), separators=(",", ":"))[1:-1]
        text = "{" + first + "," + text[1:]
    data = text.encode("utf-8", "surrogatepass")
    expected = _strict_reading(data)
    assert repr(_reading(data)) == repr(expected)  # int stays int, float float
    if spelling == "duplicated" and value:
        assert expected is MalformedToken


@pytest.mark.parametrize("depth", [253, 254, 300, 1023, 1024, 1100])
@pytest.mark.parametrize("part", ["header", "payload"])
def test_deep_json_gets_the_strict_readers_answer_not_a_crash(depth: int, part: str) -> None:
    """orjson reads deeper than it writes (it refuses to write past depth 254): such a
    segment goes to the strict reader, which reads it like any other."""
    deep = b'"d":' + b"[" * depth + b"]" * depth
    header = b'{"alg":"ES256",' + deep + b"}" if part == "header" else b'{"alg":"ES256"}'
    payload = b'{"sub":"a",' + deep + b"}" if part == "payload" else b'{"sub":"a"}'
    parsed = parse(raw_token(header, payload))
    nested: object = (parsed.header if part == "header" else parsed.payload)["d"]
    for _ in range(depth - 1):
        assert type(nested) is list
        assert len(nested) == 1
        nested = nested[0]
    assert nested == []
