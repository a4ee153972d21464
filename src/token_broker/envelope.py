"""Envelope encryption of shared-cache entries: KMS data keys, AES-256-GCM, cached keys.

Each entry is encrypted under a 256-bit data key from ``kms:GenerateDataKey``; the entry
keeps the data key only as KMS encrypted it. Both layers are bound to the entry's cache
key: the KMS encryption context holds its digest (and a fixed ``purpose``, which the
template's IAM condition requires), and the AES-GCM associated data holds the cache key
itself. A ciphertext copied to another item therefore fails to decrypt, at KMS or, when
the data key is cached, at AES-GCM.

Data keys are cached, as the AWS Encryption SDK's caching materials manager would: a
key for encrypting is reused for one cache key for at most ``max_age`` seconds and
``MAX_USES`` entries, and a decrypted key is remembered per (encrypted key, context) for
``max_age`` seconds. So KMS is asked about once per grant per token lifetime to encrypt
and once per environment per token to decrypt. Why not the SDK itself: docs/broker.md,
"Shared token cache", has the measurements (cold start and cost per entry).

Random 96-bit nonces are safe here: a data key encrypts at most ``MAX_USES`` entries,
far below the 2**32 messages NIST SP 800-38D allows under one key with random nonces.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PURPOSE = "scopegate-broker-token"  # the encryption context value IAM conditions require
CONTEXT_PURPOSE = "purpose"
CONTEXT_CACHE_KEY = "cache_key"
DATA_KEY_MAX_AGE = 900.0  # seconds a data key is used or remembered
MAX_USES = 1000  # entries encrypted under one data key
MAX_KEYS = 256  # data keys remembered, each way
FORMAT = b"\x01"  # the sealed blob's first byte: version 1 (nonce, then ciphertext + tag)
NONCE_BYTES = 12
_NOT_OURS = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class EnvelopeError(Exception):
    """KMS refused or failed, or an entry does not decrypt; ``reason`` says which."""

    def __init__(self, message: str, *, reason: str, code: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True, repr=False)
class Sealed:
    """An encrypted entry: the data key as KMS encrypted it, and the AES-GCM blob."""

    encrypted_key: bytes
    blob: bytes

    def __repr__(self) -> str:
        return f"Sealed({len(self.blob)} bytes)"


@dataclass(slots=True, repr=False)
class _DataKey:
    plaintext: bytes
    encrypted: bytes
    created: float
    uses: int = 0

    def __repr__(self) -> str:
        return "_DataKey(...)"


class Envelope:
    """Seals and opens entries under one KMS key; the boto3 client is made on first use."""

    def __init__(
        self,
        kms_key: str,
        client: Any = None,
        *,
        max_age: float = DATA_KEY_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kms_key = kms_key
        self._client = client
        self.max_age = max_age
        self._clock = clock
        self._encrypting: OrderedDict[str, _DataKey] = OrderedDict()
        self._decrypted: OrderedDict[tuple[bytes, str], tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.kms_calls = 0  # for tests and the benchmark

    def seal(self, digest: str, aad: bytes, plaintext: bytes) -> Sealed:
        """Encrypt ``plaintext`` for the entry whose cache key is ``aad`` (digest ``digest``)."""
        key = self._key_for_sealing(digest)
        nonce = os.urandom(NONCE_BYTES)
        blob = FORMAT + nonce + AESGCM(key.plaintext).encrypt(nonce, plaintext, aad)
        return Sealed(key.encrypted, blob)

    def open(self, digest: str, aad: bytes, sealed: Sealed) -> bytes:
        """The plaintext, or ``EnvelopeError`` (reason ``entry_invalid``) if it is not ours."""
        blob = sealed.blob
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT:
            raise EnvelopeError("the entry is not in a known format", reason="entry_invalid")
        key = self._key_for_opening(digest, sealed.encrypted_key)
        nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag as e:
            raise EnvelopeError("the entry does not decrypt", reason="entry_invalid") from e

    def _key_for_sealing(self, digest: str) -> _DataKey:
        now = self._clock()
        with self._lock:
            key = self._encrypting.get(digest)
            if key is not None and now - key.created < self.max_age and key.uses < MAX_USES:
                key.uses += 1
                return key
        answer = self._kms(
            "generate_data_key",
            KeyId=self.kms_key,
            KeySpec="AES_256",
            EncryptionContext=context(digest),
        )
        key = _DataKey(bytes(answer["Plaintext"]), bytes(answer["CiphertextBlob"]), now, 1)
        with self._lock:
            self._encrypting[digest] = key
            _trim(self._encrypting)
            self._decrypted[(key.encrypted, digest)] = (now, key.plaintext)
            _trim(self._decrypted)
        return key

    def _key_for_opening(self, digest: str, encrypted: bytes) -> bytes:
        now = self._clock()
        with self._lock:
            cached = self._decrypted.get((encrypted, digest))
            if cached is not None and now - cached[0] < self.max_age:
                return cached[1]
        answer = self._kms(
            "decrypt",
            CiphertextBlob=encrypted,
            KeyId=self.kms_key,
            EncryptionContext=context(digest),
        )
        plaintext = bytes(answer["Plaintext"])
        with self._lock:
            self._decrypted[(encrypted, digest)] = (now, plaintext)
            _trim(self._decrypted)
        return plaintext

    def _kms(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if self._client is None:
            from token_broker.kms_signer import default_client

            self._client = default_client()
        self.kms_calls += 1
        try:
            answer: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            # A data key encrypted for another context (a moved entry) or under another key
            # is refused so: the entry is not ours, KMS itself is fine.
            reason = "entry_invalid" if code in _NOT_OURS else "kms_error"
            raise EnvelopeError(f"KMS {operation} failed: {code}", reason=reason, code=code) from e
        return answer


def context(digest: str) -> dict[str, str]:
    """The KMS encryption context of one entry."""
    return {CONTEXT_PURPOSE: PURPOSE, CONTEXT_CACHE_KEY: digest}


def _trim(cache: OrderedDict[Any, Any]) -> None:
    while len(cache) > MAX_KEYS:
        cache.popitem(last=False)
