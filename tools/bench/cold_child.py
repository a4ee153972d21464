"""One cold start, run by ``tools/bench/cold.py`` in a fresh process; not meant to be run by
hand. It is run as a script (``python -P``, not ``-m``), so nothing of ``tools`` is imported
with it.

    python tools/bench/cold_child.py authorizer
        import authorizer.handler (with AWS_LAMBDA_FUNCTION_NAME set, its init phase loads
        the config from AUTHORIZER_CONFIG and fetches the JWKS over HTTP from the parent on
        127.0.0.1) and answer one REST TOKEN request
    python tools/bench/cold_child.py pyjwt
        import jwt (PyJWT) and decode one token with a known public key

Inputs come from environment variables set by the parent: BENCH_TOKEN, BENCH_METHOD_ARN,
BENCH_PUBLIC_PEM and BENCH_AUDIENCE. The in-process timings are written as one JSON object
on stderr's last line; stdout (where the handler logs) is discarded by the parent.
Everything heavy is imported inside the functions, after the clock has started.
"""

from __future__ import annotations

import os
import sys
import time


def run_authorizer() -> dict[str, float]:
    start = time.perf_counter()
    from authorizer.handler import lambda_handler

    imported = time.perf_counter()
    event = {
        "type": "TOKEN",
        "authorizationToken": "Bearer " + os.environ["BENCH_TOKEN"],
        "methodArn": os.environ["BENCH_METHOD_ARN"],
    }
    response = lambda_handler(event, None)
    decided = time.perf_counter()
    effect = response["policyDocument"]["Statement"][0]["Effect"]
    if effect != "Allow":
        raise SystemExit(f"bench cold: expected an Allow statement first, got {effect!r}")
    return {
        "import_ms": (imported - start) * 1e3,
        "first_request_ms": (decided - imported) * 1e3,
        "to_decision_ms": (decided - start) * 1e3,
    }


def run_pyjwt() -> dict[str, float]:
    start = time.perf_counter()
    import jwt

    imported = time.perf_counter()
    claims = jwt.decode(
        os.environ["BENCH_TOKEN"],
        os.environ["BENCH_PUBLIC_PEM"],
        algorithms=["RS256"],
        audience=os.environ["BENCH_AUDIENCE"],
    )
    decided = time.perf_counter()
    if not claims.get("sub"):
        raise SystemExit("bench cold: PyJWT returned no 'sub'")
    return {
        "import_ms": (imported - start) * 1e3,
        "first_request_ms": (decided - imported) * 1e3,
        "to_decision_ms": (decided - start) * 1e3,
    }


def main() -> int:
    modes = {"authorizer": run_authorizer, "pyjwt": run_pyjwt}
    if len(sys.argv) != 2 or sys.argv[1] not in modes:
        print(f"usage: {sys.argv[0]} {'|'.join(modes)}", file=sys.stderr)
        return 2
    result = modes[sys.argv[1]]()
    import json

    print(json.dumps(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
