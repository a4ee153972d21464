"""``python -m authorizer explain CONFIG --token TOKEN METHOD PATH``: the decision for one
request and why. It exits 0 whatever the decision, non-zero only for bad input."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from authorizer.claims import scopes_of
from authorizer.config import IssuerConfig
from authorizer.decision import Authorizer
from authorizer.errors import ConfigError, TokenRejected
from authorizer.fetch import HttpJsonFetcher
from authorizer.sources import load_file
from authorizer.verifier import Verifier

EXPLAIN_ARN = "arn:aws:execute-api:us-east-1:123456789012:explain/$default"


def _event(api: str, method: str, path: str, token: str) -> dict[str, Any]:
    header = {"Authorization": f"Bearer {token}"}
    if api == "websocket":
        return {"type": "REQUEST", "methodArn": f"{EXPLAIN_ARN}/$connect", "headers": header}
    arn = f"{EXPLAIN_ARN}/{method.upper()}{path if path.startswith('/') else '/' + path}"
    if api == "http":
        return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "headers": header}
    return {"type": "TOKEN", "methodArn": arn, "authorizationToken": f"Bearer {token}"}


def scope_sources(claims: dict[str, Any], issuer: IssuerConfig) -> str:
    """Which claims gave the scopes: ``orders:read (from scp)``."""
    parts = []
    for name in issuer.scope_claims:
        if name not in claims:
            continue
        try:
            found = scopes_of(claims, dataclasses.replace(issuer, scope_claims=(name,)))
        except TokenRejected:
            continue
        parts.append(f"{' '.join(sorted(found)) or '(none)'} (from {name})")
    return "; ".join(parts) or f"- (none of {', '.join(issuer.scope_claims)} is present)"


def explain(path: str, token: str, method: str, route_path: str, api: str) -> int:
    try:
        config = load_file(Path(path).absolute())  # the command line: relative to the cwd
    except ConfigError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 2
    authorizer = Authorizer(config, Verifier(config.issuers, HttpJsonFetcher()))
    decision = authorizer.decide(_event(api, method, route_path, token))
    print(f"decision: {decision.effect} ({decision.reason})")
    print(f"route:    {decision.route or '-'}")
    if decision.claim is not None:
        print(f"claim:    {decision.claim}")
    if decision.detail is not None:
        print(f"why:      {decision.detail}")
    if decision.token is not None:
        claims = decision.token.claims
        issuer = next(i for i in config.issuers if i.issuer == decision.token.issuer)
        print(f"issuer:   {decision.token.issuer} (provider {issuer.provider})")
        print(f"sub:      {claims.get('sub')}")
        print(f"scopes:   {' '.join(sorted(decision.token.scopes)) or '-'}")
        print(f"          {scope_sources(claims, issuer)}")
    if decision.response is not None:
        print("response: " + json.dumps(decision.response, indent=2))
    return 0
