"""The shared token table in DynamoDB: one item per cache key, the token only encrypted.

An item (partition key ``pk``, a string) holds what one grant's environments share:

    pk            "token#" + SHA-256 hex of the cache key: names nothing of the grant
    expires_at    when DynamoDB's TTL may delete the item (epoch seconds): the token's
                  expiry, or for an item that holds only a lease, shortly after the lease
    data_key      the entry's data key, encrypted by KMS (see ``envelope``)
    sealed        access token, scope and exact expiry, AES-256-GCM under that data key
    valid_until   the token's exact expiry, for the lease condition (not a secret)
    lease_holder  who is asking the identity provider right now, and
    lease_until   until when (epoch seconds); both absent when nobody is

The cache key is the client's whole configuration (so a changed client never reuses a
token of its old self) and the sorted scopes, canonical JSON. Reads are strongly
consistent: a waiting environment must see the lease holder's token as soon as it is
written. Every DynamoDB or KMS failure is a ``SharedCacheError`` with a stable reason;
none of their messages holds a token.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from scopegate_core.aws import request_client
from token_broker.config import ClientConfig
from token_broker.envelope import Envelope, EnvelopeError, Sealed
from token_broker.token_cache import CachedToken

ITEM_PREFIX = "token#"
LEASE_ITEM_GRACE = 60  # seconds a lease-only item outlives its lease before TTL may take it


class SharedCacheError(Exception):
    """The table or KMS failed; ``reason``: ``table_error``, ``kms_error``, ``entry_invalid``."""

    def __init__(self, message: str, *, reason: str, code: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class SharedKey:
    """One grant's key in the table: the canonical cache key and its digest."""

    canonical: bytes  # the AES-GCM associated data
    digest: str  # in ``pk`` and in the KMS encryption context

    @property
    def pk(self) -> str:
        return ITEM_PREFIX + self.digest


def shared_key(client: ClientConfig, scopes: Sequence[str]) -> SharedKey:
    """The key of a token for ``client`` and ``scopes`` (order and repeats do not matter)."""
    document = {"v": 1, "client": asdict(client), "scopes": sorted(set(scopes))}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return SharedKey(canonical, hashlib.sha256(canonical).hexdigest())


@dataclass(frozen=True, slots=True)
class Entry:
    """What the table holds for a key: a token (maybe stale) and a lease (maybe over)."""

    token: CachedToken | None
    lease_holder: str | None
    lease_until: float  # 0.0 when no lease was ever taken


class TokenTable:
    """Items of the shared table; the boto3 client is made on first use."""

    def __init__(self, table: str, envelope: Envelope, client: Any = None) -> None:
        self.table = table
        self.envelope = envelope
        self._client = client

    def read(self, key: SharedKey) -> Entry:
        answer = self._call("get_item", Key=_pk(key), ConsistentRead=True)
        item = answer.get("Item")
        if not item:
            return Entry(None, None, 0.0)
        token = self._open(key, item) if "sealed" in item else None
        holder = item.get("lease_holder", {}).get("S")
        return Entry(token, holder, _number(item.get("lease_until"), 0.0))

    def take_lease(
        self, key: SharedKey, holder: str, *, now: float, until: float, needed: float
    ) -> bool:
        """Lease the key to ``holder`` until ``until``, unless a live lease or a token
        that still has ``needed`` (epoch seconds) to live is there. False: it is."""
        try:
            self._call(
                "update_item",
                Key=_pk(key),
                UpdateExpression=(
                    "SET lease_holder = :holder, lease_until = :until, "
                    "expires_at = if_not_exists(expires_at, :ttl)"
                ),
                ConditionExpression=(
                    "(attribute_not_exists(lease_until) OR lease_until < :now) AND "
                    "(attribute_not_exists(sealed) OR valid_until < :needed)"
                ),
                ExpressionAttributeValues={
                    ":holder": {"S": holder},
                    ":until": _n(until),
                    ":now": _n(now),
                    ":needed": _n(needed),
                    ":ttl": _n(math.ceil(until) + LEASE_ITEM_GRACE),
                },
            )
        except _ConditionFailed:
            return False
        return True

    def store(self, key: SharedKey, token: CachedToken) -> None:
        """Write the token, encrypted; the item's lease ends with it."""
        plaintext = json.dumps(
            {
                "access_token": token.access_token,
                "scope": token.scope,
                "expires_at": token.expires_at,
            },
            separators=(",", ":"),
        ).encode("utf-8")
        try:
            sealed = self.envelope.seal(key.digest, key.canonical, plaintext)
        except EnvelopeError as e:
            raise SharedCacheError(str(e), reason=e.reason, code=e.code) from e
        item = _pk(key) | {
            # The item goes no later than the token: a floor, so never after it expires.
            "expires_at": _n(math.floor(token.expires_at)),
            "valid_until": _n(token.expires_at),
            "data_key": {"B": sealed.encrypted_key},
            "sealed": {"B": sealed.blob},
        }
        self._call("put_item", Item=item)

    def release(self, key: SharedKey, holder: str) -> None:
        """End ``holder``'s lease (after a failed fetch) so that others need not wait."""
        with contextlib.suppress(_ConditionFailed):  # taken over already: not ours to end
            self._call(
                "update_item",
                Key=_pk(key),
                UpdateExpression="REMOVE lease_holder, lease_until",
                ConditionExpression="lease_holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )

    def _open(self, key: SharedKey, item: dict[str, Any]) -> CachedToken:
        try:
            sealed = Sealed(bytes(item["data_key"]["B"]), bytes(item["sealed"]["B"]))
            plaintext = self.envelope.open(key.digest, key.canonical, sealed)
            value = json.loads(plaintext)
            token, scope, expires = value["access_token"], value["scope"], value["expires_at"]
        except EnvelopeError as e:
            raise SharedCacheError(str(e), reason=e.reason, code=e.code) from e
        except (KeyError, TypeError, ValueError) as e:
            raise SharedCacheError("the entry is malformed", reason="entry_invalid") from e
        if not (
            isinstance(token, str)
            and isinstance(scope, str)
            and isinstance(expires, int | float)
            and not isinstance(expires, bool)
        ):
            raise SharedCacheError("the entry is malformed", reason="entry_invalid")
        return CachedToken(token, scope, float(expires))

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        if self._client is None:
            self._client = default_client()
        try:
            answer: dict[str, Any] = getattr(self._client, operation)(
                TableName=self.table, **kwargs
            )
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed from e
            raise SharedCacheError(
                f"DynamoDB {operation} on {self.table!r} failed: {code}",
                reason="table_error",
                code=code,
            ) from e
        return answer


class _ConditionFailed(Exception):
    """A conditional write found the item as the condition does not want it."""


def default_client() -> Any:
    # Shorter still: a table that does not answer quickly is skipped, the IdP asked.
    return request_client("dynamodb", connect_timeout=0.5, read_timeout=1.0)


def _pk(key: SharedKey) -> dict[str, Any]:
    return {"pk": {"S": key.pk}}


def _n(value: float) -> dict[str, str]:
    """A DynamoDB number, to the millisecond below (never later than ``value``)."""
    if isinstance(value, int):
        return {"N": str(value)}
    return {"N": f"{math.floor(value * 1000) / 1000:.3f}"}


def _number(attribute: Any, default: float) -> float:
    try:
        return float(attribute["N"])
    except (TypeError, KeyError, ValueError):
        return default
