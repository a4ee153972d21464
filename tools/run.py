"""`make run`: the whole of scopegate on 127.0.0.1, until Ctrl-C. `make smoke`: check it.

Starts tools/local/stack.py (the test identity provider, moto's server for Secrets Manager
and SSM, a local API Gateway with the demo API behind the authorizer and the broker at
POST /token), prints its URLs and commands to paste, and serves until interrupted; the
functions' log lines follow on stdout, as `sam local` would show them.

With ``--smoke`` it plays those commands itself (the broker's CLI as a real subprocess,
the API calls over HTTP, a rotation through Secrets Manager), prints a table of calls and
results, and exits 1 if any result is not the expected one; then it starts the stack at
each identity provider users run (Cognito, Entra ID, Okta, Auth0, Keycloak: the test
IdP's provider-shaped tenants) and plays the loop there: task -> broker -> the provider's
token -> authorizer -> API, 200, 401 and 403, and a token shaped for another client or
API than configured, 401.

``--provider`` starts the stack at one of them (``make run PROVIDER=entra``), or, with
``--smoke``, checks that one only.

``--shared-cache`` (``make run SHARED_CACHE=1``) turns the broker's shared token cache on:
a DynamoDB table and a KMS key in moto, as ``BrokerSharedCache=dynamodb`` deploys them.

    PYTHONPATH=src:. python -m tools.run [--smoke] [--provider NAME]
                                         [--flavor rest-token|rest-request|http]
                                         [--cache-ttl SECONDS] [--shared-cache]

(``make run ARGS="--flavor http --cache-ttl 0"`` passes options; the banner is
tools/local/banner.py's, the smoke run tools/local/smoke.py's.)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import get_args

from tools.local import provider_worlds
from tools.local.apigw import Flavor
from tools.local.banner import banner
from tools.local.smoke import smoke
from tools.local.stack import LocalStack

DESCRIPTION = "the whole of scopegate on 127.0.0.1, until Ctrl-C (--smoke: checked)"


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.run", description=DESCRIPTION)
    parser.add_argument("--smoke", action="store_true", help="run the sequence, then exit")
    parser.add_argument("--flavor", choices=get_args(Flavor), default="rest-token")
    parser.add_argument("--cache-ttl", type=float, default=300.0, help="0 turns it off")
    parser.add_argument(
        "--provider",
        choices=provider_worlds.PROVIDERS,
        help="the identity provider the world stands at (default generic; smoke: all)",
    )
    parser.add_argument(
        "--shared-cache", action="store_true", help="the broker's token table (moto's DynamoDB)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines locally
    if args.smoke:
        providers = [args.provider] if args.provider else list(provider_worlds.PROVIDERS)
        return smoke(args.flavor, args.cache_ttl, providers, args.shared_cache)
    for signum in (signal.SIGINT, signal.SIGTERM):  # even where a shell ignores SIGINT
        signal.signal(signum, _interrupt)
    try:
        with LocalStack(
            flavor=args.flavor,
            cache_ttl=args.cache_ttl,
            provider=args.provider or "generic",
            shared_cache=args.shared_cache,
        ) as stack:
            print(banner(stack), flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:  # the `with` has stopped everything it started
        print("stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    for other in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the stop
        signal.signal(other, signal.SIG_IGN)
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
