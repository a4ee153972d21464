"""Strict compact JWS parsing (RFC 7515) for the signature layer.

``parse`` accepts exactly one spelling of each segment: three canonical, unpadded
base64url segments, a UTF-8 JSON object header naming an algorithm from ``ALGORITHMS``,
and (for JWTs) a JSON object payload. That makes the encoding unique, not the token: a
signature need not be. Anyone holding an ECDSA-signed token can turn its signature
``(r, s)`` into ``(r, n - s)``, which verifies just as well (real signers produce both
forms, so neither is refused). Two different strings can therefore carry the same signed
header and payload, and nothing may use the token string as the token's identity (for
replay checks, revocation, counting); what a string may key is only "this exact string
passed full verification" (see ``decision``, which remembers verified tokens). Header
members that point at keys (``jwk``, ``jku``, ``x5u``, ``x5c``) are never read: keys come
only from the issuer's configured JWKS. Every failure raises a ``TokenRejected``
subclass whose message never quotes the token.
"""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

import orjson

from authorizer.errors import AlgorithmNotAllowed, MalformedToken, UnsupportedHeader

if TYPE_CHECKING:
    from authorizer.jwk import VerificationKey

ALGORITHMS: frozenset[str] = frozenset(
    ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
)
"""Every algorithm this package can ever verify; issuers narrow it further."""

MAX_TOKEN_LENGTH = 16384

_URLSAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# base64url -> base64, every other byte (padding, '+', '/', whitespace...) -> '!', which
# strict decoding refuses: one C-level pass checks the alphabet.
_TO_STANDARD = bytes(_STANDARD[_URLSAFE.index(c)] if c in _URLSAFE else 0x21 for c in range(256))
_PAD = (b"", b"", b"==", b"=")
# By len % 4: the last characters whose unused low bits are zero (canonical encodings).
# Length 1 is impossible, so no last character will do.
_CANONICAL_LAST: tuple[frozenset[int], ...] = (
    frozenset(),
    frozenset(),
    frozenset(b"AQgw"),
    frozenset(b"AEIMQUYcgkosw048"),
)

# Headers repeat across tokens (one per signing key), so parsed headers are kept by their
# exact encoded text; bounded, and only headers that passed every check are kept.
_HEADER_CACHE_SIZE = 64
_header_cache: dict[bytes, tuple[Mapping[str, object], str, str | None]] = {}


# The parsed tokens, like the other values built on every request (events.AuthRequest,
# verifier.VerifiedToken, decision.Decision), are NamedTuples: immutable as a frozen
# dataclass is, and built in about a fifth of the time (a frozen dataclass sets each field
# through object.__setattr__; ``make bench`` counts it).
class RawJws(NamedTuple):
    """A structurally valid compact JWS whose payload is kept as bytes (not yet verified)."""

    header: Mapping[str, object]  # read-only: shared by every token with this header
    payload: bytes
    signing_input: bytes
    signature: bytes
    alg: str
    kid: str | None


class CompactJws(NamedTuple):
    """A structurally valid JWT: header and payload are JSON objects (not yet verified)."""

    header: Mapping[str, object]  # read-only: shared by every token with this header
    payload: dict[str, object]
    signing_input: bytes
    signature: bytes
    alg: str
    kid: str | None


def b64url_decode(text: str) -> bytes:
    """Decode canonical unpadded base64url; raise ``ValueError`` for any other spelling."""
    return _decode(text.encode("ascii"))  # UnicodeEncodeError is a ValueError


def _decode(segment: bytes) -> bytes:
    rem = len(segment) & 3
    if rem and segment[-1] not in _CANONICAL_LAST[rem]:
        raise ValueError("not canonical base64url")
    return binascii.a2b_base64(segment.translate(_TO_STANDARD) + _PAD[rem], strict_mode=True)


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate member name")
    return obj


def _constant(name: str) -> object:
    raise ValueError("NaN and Infinity are not JSON")


def _finite(text: str) -> float:
    """``1e400`` reads as ``inf`` in Python, a value no JSON answer can carry again: refuse
    it like ``Infinity`` itself (RFC 8259 section 6 leaves such numbers to the parser)."""
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError("a number beyond the range of a double")
    return value


# ``raw_decode`` after ``str.strip``: ``decode`` spends two regex passes on whitespace.
_JSON = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_finite)
_SCAN = _JSON.scan_once  # type: ignore[attr-defined]  # StopIteration: no value at all


def _json_object(data: bytes, part: str) -> dict[str, object]:
    """The JSON object ``data`` holds, read strictly (``_strict_json_object``).

    Issuers write compact JSON, so most segments are exactly what orjson writes for the
    value it reads from them. Such a segment is read by orjson, about a third of the cost
    of the strict reader (``make bench``), and it is provably the strict reading: a text
    that is byte for byte the serialization of a value has no duplicate member, no
    whitespace, no NaN and no number orjson rounded (``1e400``, integers beyond 64 bits,
    ``-0`` are all written differently), so the strict reader returns the same value.
    Every other segment, and everything orjson refuses, goes to the strict reader,
    which accepts or refuses it exactly as before."""
    try:
        value = orjson.loads(data)
        if type(value) is dict and orjson.dumps(value) == data:
            return value
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # dumps stops at depth 254
        pass
    return _strict_json_object(data, part)


def _strict_json_object(data: bytes, part: str) -> dict[str, object]:
    try:
        text = data.decode("utf-8").strip(" \t\n\r")  # RFC 8259 whitespace only
        value, end = _SCAN(text, 0)  # raw_decode's C scanner, without its Python frame
    except (ValueError, RecursionError, StopIteration) as e:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedToken(f"the {part} is not valid UTF-8 JSON") from e
    if end != len(text):
        raise MalformedToken(f"the {part} has data after its JSON value")
    if type(value) is not dict:
        raise MalformedToken(f"the {part} is not a JSON object")
    return value


def _check_header(header: dict[str, object]) -> tuple[str, str | None]:
    alg = header.get("alg")
    if type(alg) is not str:
        raise UnsupportedHeader("the header has no string 'alg'")
    if alg not in ALGORITHMS:  # "none", "NONE", HS*, anything unknown
        raise AlgorithmNotAllowed("the header's 'alg' is not a supported algorithm")
    kid = header.get("kid")
    if type(kid) is not str:
        if "kid" in header:  # null counts as present
            raise MalformedToken("the header's 'kid' is not a string")
        kid = None
    if "crit" in header:
        crit = header["crit"]
        if (
            type(crit) is not list
            or not crit
            or any(type(name) is not str or name not in header for name in crit)
        ):
            raise UnsupportedHeader("the header's 'crit' is malformed")
        raise UnsupportedHeader("the header's 'crit' names extensions we do not implement")
    if "b64" in header and header["b64"] is not True:
        raise UnsupportedHeader("unencoded payloads (RFC 7797) are not accepted")
    if "typ" in header and type(header["typ"]) is not str:
        raise MalformedToken("the header's 'typ' is not a string")
    return alg, kid


def _new_header(segment: bytes) -> tuple[Mapping[str, object], str, str | None]:
    try:
        header = _json_object(_decode(segment), "header")
    except ValueError as e:  # binascii.Error is a ValueError
        raise MalformedToken("the header is not canonical base64url") from e
    alg, kid = _check_header(header)
    if len(_header_cache) >= _HEADER_CACHE_SIZE:
        _header_cache.clear()
    found = (MappingProxyType(header), alg, kid)  # read-only: callers cannot alter it
    _header_cache[segment] = found
    return found


_NOT_THREE = "not three base64url segments separated by '.'"
_Parts = tuple[Mapping[str, object], str, str | None, bytes, bytes, bytes]


def _split(token: str, max_length: int) -> _Parts:
    """Check all but the payload's JSON: header, alg, kid, payload, signature, signing input."""
    if type(token) is not str:
        raise MalformedToken("the token is not a string")
    if len(token) > max_length:
        raise MalformedToken("the token is longer than allowed")
    try:
        data = token.encode("ascii")
    except UnicodeEncodeError as e:
        raise MalformedToken("the token is not ASCII") from e
    # Two partitions, not ``split``: a tenth of its cost on a token (``make bench``). The
    # signing input is what precedes the last '.'; a fourth segment stays in ``body``,
    # whose decoding refuses the '.'.
    signing_input, _, sig = data.rpartition(b".")
    head, dot, body = signing_input.partition(b".")
    # The payload may be empty at this level (RFC 7515 allows it); ``parse`` then
    # rejects it as not a JSON object.
    if not head or not dot or not sig:
        raise MalformedToken(_NOT_THREE)
    header, alg, kid = _header_cache.get(head) or _new_header(head)
    try:
        payload, signature = _decode(body), _decode(sig)
    except ValueError as e:  # binascii.Error is a ValueError
        if b"." in body:
            raise MalformedToken(_NOT_THREE) from None
        raise MalformedToken("a segment is not canonical base64url") from e
    return header, alg, kid, payload, signature, signing_input


def parse(token: str, *, max_length: int = MAX_TOKEN_LENGTH) -> CompactJws:
    """Parse a compact JWS whose payload is a JSON object (a JWT); nothing is verified."""
    header, alg, kid, payload, signature, signing_input = _split(token, max_length)
    claims = _json_object(payload, "payload")
    return CompactJws(header, claims, signing_input, signature, alg, kid)


def parse_raw(token: str, *, max_length: int = MAX_TOKEN_LENGTH) -> RawJws:
    """Parse a compact JWS with an arbitrary (possibly empty) payload; nothing is verified.

    For non-JWT payloads such as test vectors; the same header and encoding rules apply.
    """
    header, alg, kid, payload, signature, signing_input = _split(token, max_length)
    return RawJws(header, payload, signing_input, signature, alg, kid)


def verify_signature(jws: CompactJws | RawJws, key: VerificationKey) -> None:
    """Verify ``jws`` under ``key``; raise ``KeyMismatch`` or ``InvalidSignature``."""
    key.verify(jws.alg, jws.signing_input, jws.signature)
