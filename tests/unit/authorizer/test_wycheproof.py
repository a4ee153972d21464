"""Wycheproof JSON web signature and key vectors against the signature layer.

Every ``invalid`` case must be rejected. Every ``valid`` case must be accepted, unless its
algorithm is outside ``ALGORITHMS`` (HS*: counted as skipped, and still rejected) or it
is one of the ``DEVIATIONS`` listed below, where we are stricter on purpose. The payloads
are not JWT claim sets, so cases go through ``parse_raw`` (same rules, payload as bytes).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from authorizer.errors import TokenRejected
from authorizer.jwk import JwkError, KeySet, load_jwk, load_jwks
from authorizer.jws import ALGORITHMS, parse_raw, verify_signature
from tests.support.paths import VECTORS

WYCHEPROOF = VECTORS / "wycheproof"

# Valid in Wycheproof, refused by us: a JWK's own "alg" must equal the token's alg
# (RFC 7517 4.4, RFC 8725 3.1), and a JWK whose "alg" names no algorithm is not loaded.
DEVIATIONS = {
    346: "JWK alg PS256, token alg PS384",
    347: "JWK alg 'ES521' is not an algorithm (ES512 is)",
    350: "JWK alg PS256, token alg PS384",
    351: "JWK alg 'ES521' is not an algorithm (ES512 is)",
}


@dataclass
class Tally:
    accepted: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # valid, but alg outside ALGORITHMS
    deviations: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def report(self, name: str) -> str:
        return (
            f"{name}: {len(self.accepted)} accepted, {len(self.rejected)} rejected "
            f"({len(self.deviations)} of them deliberate deviations), "
            f"{len(self.skipped)} valid cases skipped (alg outside the allow-list)"
        )


def vectors(name: str) -> dict[str, Any]:
    path = WYCHEPROOF / name
    if not path.is_file():
        pytest.fail(f"Wycheproof vectors missing: expected {path}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def header_alg(jws: object) -> object:
    """The case's alg, decoded leniently: only to classify a case, never to decide it."""
    try:
        head = str(jws).split(".")[0]
        return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))).get("alg")
    except (ValueError, AttributeError):
        return None


def accepts(keys: KeySet, jws: object) -> bool:
    try:
        raw = parse_raw(jws)  # type: ignore[arg-type]  # JSON-serialized cases are dicts
        verify_signature(raw, keys.get(raw.kid, raw.alg))
    except TokenRejected:
        return False
    return True


def run(groups: list[dict[str, Any]], load: Any) -> Tally:
    tally = Tally()
    for group in groups:
        try:
            keys = load(group["public"]) if "public" in group else KeySet([])
        except JwkError:
            keys = KeySet([])  # a refused key: every case of the group must be rejected
        for case in group["tests"]:
            tc, valid, alg = case["tcId"], case["result"] == "valid", header_alg(case["jws"])
            accepted = accepts(keys, case["jws"])
            (tally.accepted if accepted else tally.rejected).append(tc)
            if accepted and not valid:
                tally.wrong.append(f"tc {tc} ({case['comment']}) invalid but accepted")
            elif valid and not accepted:
                if alg not in ALGORITHMS and str(alg).startswith("HS"):
                    tally.skipped.append(tc)
                elif tc in DEVIATIONS:
                    tally.deviations.append(tc)
                else:
                    tally.wrong.append(f"tc {tc} ({case['comment']}) valid but rejected")
            elif valid and tc in DEVIATIONS:
                tally.wrong.append(f"tc {tc} listed as a deviation but accepted")
    return tally


def test_json_web_signature_vectors() -> None:
    data = vectors("json_web_signature_test.json")
    tally = run(data["testGroups"], lambda jwk: KeySet([load_jwk(jwk)]))
    print(tally.report("json_web_signature_test"))
    assert tally.wrong == []
    assert len(tally.accepted) + len(tally.rejected) == data["numberOfTests"] == 401
    assert (len(tally.accepted), len(tally.rejected), len(tally.skipped)) == (32, 369, 10)
    assert sorted(tally.deviations) == sorted(DEVIATIONS)


def test_json_web_key_vectors() -> None:
    data = vectors("json_web_key_test.json")
    tally = run(data["testGroups"], load_jwks)
    print(tally.report("json_web_key_test"))
    assert tally.wrong == []
    assert len(tally.accepted) + len(tally.rejected) == data["numberOfTests"] == 26
    assert (len(tally.accepted), len(tally.rejected), len(tally.skipped)) == (1, 25, 4)
    assert tally.deviations == []


def _key_groups() -> dict[str, dict[str, Any]]:
    groups = vectors("json_web_key_test.json")["testGroups"]
    return {g["comment"]: g for g in groups if "public" in g}


@pytest.mark.parametrize(
    ("group", "reason"),
    [
        ("jws_rsa_roca_key", "ROCA"),
        ("keysize_too_small", "2048"),
        ("exponentOne", "exponent"),
        ("wrong_algorithm", "alg"),
        ("invalid_algorithm", "alg"),
        ("invalid_use", "use"),
        ("invalid_point", "invalid"),
        ("wrong_curve", "length"),
        ("wrong_kty", "unsupported kty"),
    ],
)
def test_refused_wycheproof_keys_are_skipped_for_the_right_reason(group: str, reason: str) -> None:
    keys = load_jwks(_key_groups()[group]["public"])
    assert len(keys) == 0
    assert len(keys.skipped) == 1
    assert reason in keys.skipped[0]


def test_private_and_symmetric_wycheproof_keys_are_never_loaded() -> None:
    """Every JWK in the ``private`` sets that carries ``d`` or ``k`` is refused."""
    refused = 0
    for name in ("json_web_signature_test.json", "json_web_key_test.json"):
        for group in vectors(name)["testGroups"]:
            private = group["private"]
            for jwk in private.get("keys", [private]):
                if "d" in jwk or "k" in jwk:
                    with pytest.raises(JwkError):
                        load_jwk(jwk)
                    refused += 1
    assert refused == 50
