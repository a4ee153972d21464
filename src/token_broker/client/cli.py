"""``scopegate-token`` (or ``python -m token_broker.client``): print a broker token for shells."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from token_broker.client.broker_client import BrokerClient
from token_broker.client.endpoint import URL_ENV
from token_broker.client.errors import BrokerClientError
from token_broker.client.request import scope_list

PROG = "scopegate-token"  # the console script of the scopegate-client wheel


def main(argv: list[str] | None = None, *, prog: str = PROG) -> int:
    """0 with the token printed, 1 refused, 2 usage (``argv``: None reads ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Ask the scopegate broker for an access token, signed with this "
        "machine's AWS credentials (the default chain: environment, profile, task role).",
    )
    parser.add_argument("url", nargs="?", help=f"the broker's /token URL (default: ${URL_ENV})")
    parser.add_argument("--scope", help="space separated scopes (default: all granted)")
    parser.add_argument("--client", help="the upstream client, when you have several grants")
    parser.add_argument("--resource", help="RFC 8707 resource (must match the client's)")
    parser.add_argument("--audience", help="audience (must match the client's)")
    parser.add_argument("--region", help="AWS region, when the URL's host does not name one")
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    try:
        args = parser.parse_args(argv)
        url = args.url or os.environ.get(URL_ENV)
        if not url:
            parser.error(f"no broker URL: pass one or set {URL_ENV}")
        try:
            broker = BrokerClient(url, region=args.region)
            scope_list(args.scope)
        except ValueError as e:
            parser.error(str(e))
    except SystemExit as e:  # argparse has printed the usage already
        return e.code if isinstance(e.code, int) else 2
    try:
        token = broker.get_token_response(
            args.scope, client=args.client, resource=args.resource, audience=args.audience
        )
    except BrokerClientError as e:
        print(f"{e.error}: {e.description}", file=sys.stderr)
        return 1
    if args.json:
        answer = {
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_in": max(0, round(token.expires_at - time.time())),
            "scope": token.scope,
        }
        print(json.dumps(answer))
    else:
        print(token.access_token)
    return 0
