"""A small load run through the local stack (``make bench``); exits 1 on any error.

Starts tools/local/stack.py (REST TOKEN authorizer, cache TTL 300 s) here and gets tokens
for the worker, reporting and ops tasks from the broker. Each scenario runs in a child
process (this script with ``--client``, off the stack's GIL): N threads sending requests
back to back for a fixed time, a new connection per request, timed with perf_counter.

1. ``API, cache on``: (token, method, path) round-robin from a list drawn from the e2e
   table (tests/e2e/test_flow.py EXPECTED), 200s and 403s; a wrong status is an error.
2. ``API, cache off``: the same, the gateway's cache TTL set to 0 (it is read per
   request), so every request runs the authorizer.
3. ``broker POST /token``: a fresh SigV4-signed request each time (the client's cache
   cleared), answered from the broker's token cache; a token of other scopes is an error.

Reported: requests, rps, p50/p99 latency, errors (exceptions included); for the API also
the gateway's authorizer calls and cache hits. Clients, gateway, moto and IdP share one
(here shared, 2-core) machine, so rps and latency compare only within one run on one
machine: figures, not pass/fail. The only target: zero errors, some requests.

    python -m tools.bench.load [--clients 8] [--seconds 10]   (PYTHONPATH=src:.)
"""

from __future__ import annotations

import argparse
import http.client
import io
import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

# task -> the scopes it asks the broker for
TOKENS = {"worker": "orders:read orders:write", "reporting": "orders:read", "ops": "admin ops"}
CALLS = [  # (task whose token is sent, method, path, expected status): test_flow's EXPECTED
    ("worker", "GET", "/orders/42", 200),
    ("reporting", "POST", "/orders", 403),
    ("ops", "DELETE", "/admin/users/7", 200),
    ("worker", "POST", "/orders", 200),
    ("reporting", "GET", "/orders/42/items", 403),
    ("ops", "GET", "/orders", 403),
    ("reporting", "GET", "/orders", 200),
    ("worker", "GET", "/admin/settings", 403),
    ("ops", "GET", "/admin/settings", 200),
    ("worker", "GET", "/reports", 403),
]
BROKER_TASK = "worker"


# ------------------------------------------------------------------ the client process


def api_request(url: str, calls: list[list[Any]], first: int) -> Any:
    """One request function per thread: the next (token, route) of ``calls`` each time."""
    parts = urlsplit(url)
    turn = itertools.islice(itertools.cycle(calls), first, None)

    def request() -> str | None:
        token, method, path, expected = next(turn)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=15)
        try:
            conn.request(method, path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != expected:
            return f"{method} {path}: {response.status}, expected {expected}"
        return None

    return request


def broker_request(url: str, keys: list[str], scopes: str) -> Any:
    """One request function per thread: a fresh signed POST /token each time."""
    from botocore.credentials import Credentials

    from token_broker.client import BrokerClient

    credentials = Credentials(*keys)
    client = BrokerClient(url, region="us-east-1", credentials_provider=lambda: credentials)
    wanted = set(scopes.split())

    def request() -> str | None:
        client.clear_cache()
        token = client.get_token_response(scopes)
        return None if set(token.scope.split()) == wanted else f"scope {token.scope!r}"

    return request


def run_clients(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec["clients"]`` threads, each looping ``spec["seconds"]``; latencies and errors."""
    n, seconds = spec["clients"], spec["seconds"]
    if spec["kind"] == "api":
        requests = [api_request(spec["url"], spec["calls"], i) for i in range(n)]
    else:
        requests = [broker_request(spec["url"], spec["keys"], spec["scopes"]) for _ in range(n)]
    latencies: list[float] = []
    errors: list[str] = []
    start: list[float] = []  # set once, when all threads are ready
    ends: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n, action=lambda: start.append(time.perf_counter()))

    def loop(request: Any) -> None:
        mine: list[float] = []
        failed: list[str] = []
        barrier.wait()
        deadline = start[0] + seconds
        while (sent := time.perf_counter()) < deadline:
            try:
                error = request()
            except Exception as e:  # noqa: BLE001 - a failed request is counted, with why
                error = f"{type(e).__name__}: {e}"
            mine.append(time.perf_counter() - sent)
            if error:
                failed.append(error)
        with lock:
            latencies.extend(mine)
            errors.extend(failed)
            ends.append(sent)

    threads = [threading.Thread(target=loop, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "errors": errors, "elapsed": max(ends) - start[0]}


# ------------------------------------------------------------------- the stack process


def load(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` in a child process (this script with ``--client``)."""
    done = subprocess.run(
        [sys.executable, "-m", "tools.bench.load", "--client"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=spec["seconds"] + 120,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench load: the client process failed:\n{done.stderr}")
    return dict(json.loads(done.stdout))


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list, in milliseconds."""
    index = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[index] * 1000 if ordered else 0.0


def scenario(name: str, spec: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    ordered, elapsed = sorted(result["latencies"]), result["elapsed"]
    return {
        "name": name,
        "clients": spec["clients"],
        "seconds": round(elapsed, 2),
        "requests": len(ordered),
        "rps": round(len(ordered) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "errors": len(result["errors"]),
        "error_samples": result["errors"][:5],
    }


def progress(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


def run(clients: int, seconds: float) -> list[dict[str, Any]]:
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # no EMF lines
    from tools.local import world
    from tools.local.stack import LocalStack

    progress("starting the local stack (IdP, moto, gateway)")
    rows = []
    with LocalStack(flavor="rest-token", cache_ttl=300.0, log=io.StringIO()) as stack:
        tokens = {task: stack.broker_client(task).get_token(s) for task, s in TOKENS.items()}
        calls = [[tokens[task], method, path, status] for task, method, path, status in CALLS]
        common = {"clients": clients, "seconds": seconds}
        api = {"kind": "api", "url": stack.api_url, "calls": calls, **common}
        for name, ttl in (("API, cache on", 300.0), ("API, cache off", 0.0)):
            progress(f"{name}: {clients} clients for {seconds:g} s")
            stack.api.cache_ttl = ttl
            stack.api.flush_cache()
            calls_before, hits_before = stack.api.authorizer_calls, stack.api.cache_hits
            rows.append(scenario(name, api, load(api)))
            rows[-1]["authorizer_calls"] = stack.api.authorizer_calls - calls_before
            rows[-1]["cache_hits"] = stack.api.cache_hits - hits_before
        task = world.TASKS[BROKER_TASK]
        keys = [task.access_key, task.secret_key, task.session_token]
        broker = {"kind": "broker", "url": stack.token_url, "keys": keys, **common}
        broker["scopes"] = TOKENS[BROKER_TASK]
        progress(f"broker POST /token: {clients} clients for {seconds:g} s")
        idp_before = stack.idp.stats()["token_requests"]
        rows.append(scenario("broker POST /token", broker, load(broker)))
        rows[-1]["idp_token_requests"] = stack.idp.stats()["token_requests"] - idp_before
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    keys = ["name", "clients", "seconds", "requests", "rps", "p50_ms", "p99_ms", "errors"]
    keys += ["authorizer_calls", "cache_hits"]
    head = ["scenario", *(key.replace("_", " ") for key in keys[1:])]
    cells = [[str(row.get(key, "-")) for key in keys] for row in rows]
    widths = [max(len(line[i]) for line in [head, *cells]) for i in range(len(head))]
    lines = []
    for name, *figures in [head, ["-" * w for w in widths], *cells]:
        right = [f.rjust(w) for f, w in zip(figures, widths[1:], strict=True)]
        lines.append("  ".join([name.ljust(widths[0]), *right]))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per scenario")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:  # the child: a spec on stdin, the results on stdout
        print(json.dumps(run_clients(json.load(sys.stdin))))
        return 0
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients and --seconds must be positive")
    started = time.perf_counter()
    rows = run(args.clients, args.seconds)
    print(render(rows))
    print("rps and latency: figures for this run on this machine, not targets")
    failed = [row["name"] for row in rows if row["errors"] or not row["requests"]]
    for row in rows:
        for sample in row["error_samples"]:
            print(f"  {row['name']}: {sample}")
    elapsed = time.perf_counter() - started
    print(f"{'FAIL: ' + ', '.join(failed) if failed else 'no errors'} ({elapsed:.0f} s)")
    report = {"scenarios": rows, "ok": not failed, "seconds": round(elapsed, 1)}
    print(json.dumps(report, separators=(",", ":"), ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
