"""Speed figures for the authorizer (``make bench``); exits 1 when a target is missed.

Every figure is a ratio to a floor measured in the same run, so the targets hold on any
machine. Shared machines are noisy and noise only adds time, so the in-process figures
come from many short timeit batches, each run between two batches of the floor (floor,
A, floor, B, floor, A, ...), and compare fastest batch with fastest batch over the same
span of time. The cold-start figures alternate the two kinds of fresh process and compare
the medians of their wall times (a process start is too coarse for a minimum to mean much).

1. ``Verifier.verify`` (parse, signature, claims; keys cached) against the floor: one
   ``cryptography`` RS256 signature check of the same token.
2. A whole warm REST TOKEN invocation of ``authorizer.handler.lambda_handler`` (50 routes,
   INFO log line and metrics flush included, JWKS fetched over HTTP from 127.0.0.1)
   against the same floor; verify-only, decide-only and log+metrics shown alongside.
3. Cold start to the first decision (a fresh process that imports the handler, loads the
   config, fetches the JWKS and answers one request) against a fresh process that imports
   PyJWT and decodes one token with a known key. The children are ``tools/bench_cold.py``.

The table goes to stdout, followed by the figures as JSON on the last line
(``--json PATH`` also writes them to a file).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import io
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from authorizer.config import validate
from authorizer.verifier import CACHE_SIZE, Verifier

ROOT = Path(__file__).resolve().parents[1]
COLD_SCRIPT = ROOT / "tools" / "bench_cold.py"

TARGET_VERIFY = 1.8  # Verifier.verify / floor
TARGET_HANDLER = 3.0  # warm lambda_handler / floor
TARGET_COLD = 1.8  # cold authorizer process / cold PyJWT process (medians)

BATCH_SECONDS = 0.01  # one timeit batch of a contestant
REFERENCE_BATCH_SECONDS = 0.005  # one timeit batch of the floor, between contestants
ROUNDS = 100  # batches per in-process contestant (~9 s in all)
COLD_RUNS = 15  # fresh processes of each kind, alternating
COLD_WARMUPS = 2  # untimed runs of each kind first (bytecode cache, page cache)

ISSUER = "https://idp.example.com/oauth2/default"
AUDIENCE = "api://orders"
KID = "bench-rsa-2048"
SCOPE = "orders:read orders:write products:read customers:read"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/GET/orders/42"
EXPECTED_ROUTE = "GET /orders/{id}"

# Variables that would change what the handler does; removed for the bench and its children.
_ENV_REMOVED = (
    "AUTHORIZER_CONFIG_FILE",
    "AUTHORIZER_CONFIG_PARAMETER",
    "AWS_LAMBDA_FUNCTION_NAME",  # would prefetch at import and look for X-Ray
    "POWERTOOLS_DEV",  # would disable metrics
    "POWERTOOLS_METRICS_DISABLED",
    "POWERTOOLS_LOG_LEVEL",  # the default level (INFO) is what is measured
    "AWS_LAMBDA_LOG_LEVEL",
    "LOG_LEVEL",
)


# ---------------------------------------------------------------------------- fixtures


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64json(obj: object) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


@dataclass(frozen=True)
class Fixture:
    """One RSA 2048 key, its JWKS and PEM, and one valid access token signed with it."""

    public_key: rsa.RSAPublicKey
    jwks: dict[str, Any]
    public_pem: str
    token: str
    signing_input: bytes
    signature: bytes
    fresh_tokens: list[str]  # distinct tokens, more than the verifier's cache holds


# Three disjoint pools (one per figure that needs new tokens), each twice the verified-token
# cache: cycling through a pool never finds a token still cached.
FRESH_TOKENS = 3 * 2 * CACHE_SIZE


def make_fixture() -> Fixture:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    numbers = public.public_numbers()
    jwk = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": KID,
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8)),
        "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8)),
    }
    now = int(time.time())
    header = {"alg": "RS256", "typ": "at+jwt", "kid": KID}
    claims = {
        "iss": ISSUER,
        "sub": "00u1a2b3c4d5e6f7g8h9",
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": "AT.6f1d2c3b4a5968778695a4b3c2d1e0f1",
        "client_id": "0oa9z8y7x6w5v4u3t2s1",
        "scope": SCOPE,
    }
    signing_input = f"{b64json(header)}.{b64json(claims)}".encode("ascii")
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    fresh = []
    for n in range(FRESH_TOKENS):
        body = f"{b64json(header)}.{b64json({**claims, 'jti': f'AT.{n:032x}'})}".encode("ascii")
        fresh.append(
            f"{body.decode()}.{b64url(private.sign(body, padding.PKCS1v15(), hashes.SHA256()))}"
        )
    return Fixture(
        public,
        {"keys": [jwk]},
        pem,
        f"{signing_input.decode()}.{b64url(signature)}",
        signing_input,
        signature,
        fresh,
    )


def routes_config() -> list[dict[str, Any]]:
    """50 routes of a plausible shop API: literals, {params}, two {proxy+}, ANY, all_scopes."""
    rules: list[tuple[str, list[str]]] = [
        ("GET /orders", ["orders:read"]),
        ("POST /orders", ["orders:write"]),
        ("GET /orders/search", ["orders:read"]),
        ("GET /orders/{id}", ["orders:read"]),
        ("PUT /orders/{id}", ["orders:write"]),
        ("DELETE /orders/{id}", ["orders:admin"]),
        ("GET /orders/{id}/items", ["orders:read"]),
        ("POST /orders/{id}/items", ["orders:write"]),
        ("GET /orders/{id}/items/{itemId}", ["orders:read"]),
        ("DELETE /orders/{id}/items/{itemId}", ["orders:write"]),
        ("POST /orders/{id}/cancel", ["orders:write", "support:write"]),
        ("GET /customers", ["customers:read"]),
        ("POST /customers", ["customers:write"]),
        ("GET /customers/me", ["profile"]),
        ("GET /customers/{id}", ["customers:read"]),
        ("PATCH /customers/{id}", ["customers:write"]),
        ("DELETE /customers/{id}", ["customers:admin"]),
        ("GET /customers/{id}/orders", ["customers:read", "orders:read"]),
        ("GET /customers/{id}/addresses", ["customers:read"]),
        ("POST /customers/{id}/addresses", ["customers:write"]),
        ("GET /products", ["products:read"]),
        ("POST /products", ["products:write"]),
        ("GET /products/categories", ["products:read"]),
        ("GET /products/categories/{category}", ["products:read"]),
        ("GET /products/{id}", ["products:read"]),
        ("PUT /products/{id}", ["products:write"]),
        ("DELETE /products/{id}", ["products:admin"]),
        ("GET /products/{id}/reviews", ["products:read"]),
        ("POST /products/{id}/reviews", ["reviews:write"]),
        ("GET /inventory", ["inventory:read"]),
        ("GET /inventory/{sku}", ["inventory:read"]),
        ("PUT /inventory/{sku}", ["inventory:write"]),
        ("POST /inventory/{sku}/reservations", ["inventory:write", "orders:write"]),
        ("GET /invoices", ["billing:read"]),
        ("POST /invoices", ["billing:write"]),
        ("GET /invoices/{id}", ["billing:read"]),
        ("GET /invoices/{id}/pdf", ["billing:read"]),
        ("POST /payments", ["payments:write"]),
        ("GET /payments/{id}", ["payments:read"]),
        ("POST /payments/{id}/refunds", ["payments:refund"]),
        ("GET /shipments", ["shipping:read"]),
        ("POST /shipments", ["shipping:write"]),
        ("GET /shipments/{id}", ["shipping:read"]),
        ("GET /shipments/{id}/tracking", ["shipping:read", "orders:read"]),
        ("GET /reports/sales", ["reports:read"]),
        ("GET /reports/inventory", ["reports:read"]),
        ("GET /files/{proxy+}", ["files:read"]),
        ("OPTIONS /orders", ["orders:read"]),
        ("GET /health", ["monitoring"]),
    ]
    routes: list[dict[str, Any]] = [{"route": r, "scopes": s} for r, s in rules]
    routes.append({"route": "ANY /admin/{proxy+}", "all_scopes": ["admin", "ops"]})
    assert len(routes) == 50
    return routes


def handler_config(jwks_uri: str) -> dict[str, Any]:
    return {
        "issuers": [
            {
                "issuer": ISSUER,
                "audiences": [AUDIENCE, "api://billing"],
                "algorithms": ["RS256", "ES256"],
                "jwks_uri": jwks_uri,
                "leeway_seconds": 30,
            }
        ],
        "routes": routes_config(),
        "context_claims": ["sub", "client_id", "scope"],
    }


class _FakeFetcher:
    """In-memory ``JsonFetcher``: the JWKS without any I/O."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.calls = 0

    def get_json(self, url: str) -> Any:
        self.calls += 1
        return self.doc


class JwksServer:
    """Serves the JWKS at http://127.0.0.1:PORT/jwks from a daemon thread; counts fetches."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                server.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.hits = 0
        self._httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# ----------------------------------------------------------------------------- timing


class Sandwich:
    """Times callables against a reference, batch by batch: ref, A, ref, B, ref, A, ref, ...

    Noise on a shared machine only ever adds time, so each callable is represented by its
    fastest batch, and the reference batches, spread evenly between the others, give a
    fastest floor taken over the same span of time. The median of the per-batch ratios
    (contestant / mean of its two neighbouring reference batches) is kept for the JSON.
    """

    def __init__(self, reference: Callable[[], object]) -> None:
        self._reference = _calibrated(reference, REFERENCE_BATCH_SECONDS)
        self._contestants: dict[str, tuple[timeit.Timer, int]] = {}
        self.reference_samples: list[float] = []  # seconds per call, one per batch
        self.samples: dict[str, list[float]] = {}
        self.paired: dict[str, list[float]] = {}

    def add(self, name: str, fn: Callable[[], object]) -> None:
        self._contestants[name] = _calibrated(fn, BATCH_SECONDS)
        self.samples[name] = []
        self.paired[name] = []

    def run(self, rounds: int) -> None:
        before = self._time_reference()
        for _ in range(rounds):
            for name, (timer, number) in self._contestants.items():
                seconds = timer.timeit(number) / number
                after = self._time_reference()
                self.samples[name].append(seconds)
                self.paired[name].append(2 * seconds / (before + after))
                before = after

    def _time_reference(self) -> float:
        timer, number = self._reference
        seconds = timer.timeit(number) / number
        self.reference_samples.append(seconds)
        return seconds

    @property
    def floor(self) -> float:
        """The reference's fastest batch, seconds per call."""
        return min(self.reference_samples)

    def best(self, name: str) -> float:
        """The callable's fastest batch, seconds per call."""
        return min(self.samples[name])

    def raw(self, name: str) -> dict[str, float]:
        """Figures for the JSON only: median batch, median of the paired ratios."""
        return {
            "median_us": round(statistics.median(self.samples[name]) * 1e6, 2),
            "median_floor_us": round(statistics.median(self.reference_samples) * 1e6, 2),
            "paired_median_ratio": round(statistics.median(self.paired[name]), 3),
        }


def _calibrated(fn: Callable[[], object], batch_seconds: float) -> tuple[timeit.Timer, int]:
    """A timer for ``fn`` and the number of calls that takes about ``batch_seconds``."""
    timer = timeit.Timer(fn)
    number = 1
    while (elapsed := timer.timeit(number)) < batch_seconds / 5:
        number *= 2
    return timer, max(1, math.ceil(number * batch_seconds / elapsed))


@contextlib.contextmanager
def output_to(path: str) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path``; stdout is line buffered as in Lambda."""
    stdout = sys.stdout
    line_buffered = stdout.line_buffering if isinstance(stdout, io.TextIOWrapper) else None
    stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        if isinstance(stdout, io.TextIOWrapper):
            stdout.reconfigure(line_buffering=True)
        yield
    finally:
        stdout.flush()
        sys.stderr.flush()
        if isinstance(stdout, io.TextIOWrapper) and line_buffered is not None:
            stdout.reconfigure(line_buffering=line_buffered)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


# ---------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figure:
    name: str
    seconds: float
    floor: float | None = None  # seconds; the ratio's denominator
    target: float | None = None  # the largest ratio that passes; None: information only
    unit: str = "us"
    raw: dict[str, float] | None = None  # extra figures for the JSON only

    @property
    def ratio(self) -> float | None:
        return None if self.floor is None else self.seconds / self.floor

    @property
    def passed(self) -> bool | None:
        ratio = self.ratio
        return None if self.target is None or ratio is None else ratio <= self.target

    def as_json(self) -> dict[str, Any]:
        ratio = self.ratio
        scale = _SCALE[self.unit]
        return {
            "name": self.name.strip(),
            "unit": self.unit,
            "value": round(self.seconds * scale, 2),
            "floor": None if self.floor is None else round(self.floor * scale, 2),
            "ratio": None if ratio is None else round(ratio, 3),
            "target": self.target,
            "pass": self.passed,
            **({"raw": self.raw} if self.raw else {}),
        }


_SCALE = {"us": 1e6, "ms": 1e3}
_UNIT_TEXT = {"us": "µs", "ms": "ms"}


def render(figures: list[Figure]) -> str:
    width = max(len(f.name) for f in figures)
    lines = [f"{'figure':<{width}}  {'value':>11}  {'floor':>11}  {'ratio':>6}  target  result"]
    for f in figures:
        scale, unit = _SCALE[f.unit], _UNIT_TEXT[f.unit]
        floor = "" if f.floor is None else f"{f.floor * scale:8.1f} {unit}"
        ratio = "" if f.ratio is None else f"{f.ratio:5.2f}x"
        target = "" if f.target is None else f"≤{f.target:.1f}x"
        result = {True: "PASS", False: "FAIL", None: "info"}[f.passed]
        lines.append(
            f"{f.name:<{width}}  {f.seconds * scale:8.1f} {unit}  {floor:>11}  {ratio:>6}  "
            f"{target:>6}  {result}"
        )
    return "\n".join(lines)


def finish(figures: list[Any], started: float, json_path: str | None) -> int:
    """Print the verdict and the figures as one JSON line (and to ``json_path``); exit code."""
    failed = [f.name.strip() for f in figures if f.passed is False]
    elapsed = time.perf_counter() - started
    print(f"{'FAIL: ' + ', '.join(failed) if failed else 'all targets met'} ({elapsed:.0f} s)")
    report = {
        "figures": [f.as_json() for f in figures],
        "ok": not failed,
        "seconds": round(elapsed, 1),
    }
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, separators=(",", ":"), ensure_ascii=False))
    return 1 if failed else 0


def progress(text: str) -> None:
    print(f"# {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------- in-process figures


def prepare_environment(config: dict[str, Any]) -> None:
    for name in _ENV_REMOVED:
        os.environ.pop(name, None)
    os.environ["AUTHORIZER_CONFIG"] = json.dumps(config)
    os.environ["POWERTOOLS_METRICS_NAMESPACE"] = "scopegate-bench"


def rest_token_event(token: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN}


def check_handler_output(handler: ModuleType, event: dict[str, Any], scratch: Path) -> None:
    """One invocation into a file: the decision log line and the EMF metrics must be there."""
    log = scratch / "handler-output.log"
    with output_to(str(log)):
        response = handler.lambda_handler(event, None)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    decisions = [d for d in lines if d.get("message") == "decision"]
    if not decisions or decisions[-1].get("decision") != "allow":
        raise SystemExit(f"bench: no INFO 'decision' allow line in the handler output: {lines}")
    if not any("_aws" in d for d in lines):
        raise SystemExit("bench: the handler flushed no EMF metrics (are metrics disabled?)")
    if response["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        raise SystemExit(f"bench: the token was not allowed: {response}")


def in_process(fx: Fixture, server: JwksServer, scratch: Path) -> list[Figure]:
    # 1. The library with an in-memory fetcher.
    fetcher = _FakeFetcher(fx.jwks)
    issuers = validate(
        {
            "issuers": [{"issuer": ISSUER, "audiences": [AUDIENCE], "jwks_uri": ISSUER + "/keys"}],
            "routes": [{"route": "GET /orders", "scopes": ["orders:read"]}],
        }
    ).issuers
    verifier = Verifier(issuers, fetcher)
    if verifier.verify(fx.token).claims["sub"] != "00u1a2b3c4d5e6f7g8h9" or fetcher.calls != 1:
        raise SystemExit("bench: Verifier.verify did not verify the token as expected")

    # 2. The handler, configured through the environment before it is imported.
    prepare_environment(handler_config(server.url))
    import authorizer.handler as handler

    event = rest_token_event(fx.token)
    check_handler_output(handler, event, scratch)
    decision = handler.runtime.decide(event)
    if decision.effect != "allow" or decision.route != EXPECTED_ROUTE:
        raise SystemExit(f"bench: expected allow on {EXPECTED_ROUTE}, got {decision}")
    if server.hits != 1:
        raise SystemExit(f"bench: expected one JWKS fetch over HTTP, saw {server.hits}")
    authorizer = handler.runtime.authorizer
    assert authorizer is not None

    public_key, signature, signing_input = fx.public_key, fx.signature, fx.signing_input
    pool = 2 * CACHE_SIZE
    fresh = itertools.cycle(fx.fresh_tokens[:pool])
    fresh_handler = itertools.cycle(fx.fresh_tokens[pool : 2 * pool])
    fresh_events = itertools.cycle([rest_token_event(t) for t in fx.fresh_tokens[2 * pool :]])
    lambda_handler = handler.lambda_handler

    def floor() -> None:
        public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())

    with output_to(os.devnull):
        bench = Sandwich(floor)
        bench.add("verify", lambda: verifier.verify(next(fresh)))
        bench.add("handler", lambda: lambda_handler(event, None))
        bench.add("handler_fresh", lambda: lambda_handler(next(fresh_events), None))
        bench.add("handler_verify", lambda: authorizer.verifier.verify(next(fresh_handler)))
        bench.add("decide", lambda: handler.runtime.decide(event))
        bench.add("route", lambda: authorizer.routes.match("rest", "GET", "/orders/42"))
        bench.run(ROUNDS)
    if server.hits != 1:
        raise SystemExit(f"bench: the keys were fetched again while timing ({server.hits})")

    floor_s, best = bench.floor, bench.best

    def figure(label: str, name: str, target: float | None = None) -> Figure:
        return Figure(label, best(name), floor_s, target, raw=bench.raw(name))

    def difference(label: str, minuend: str, subtrahend: str) -> Figure:
        return Figure(label, max(0.0, best(minuend) - best(subtrahend)), floor_s)

    return [
        Figure("floor: cryptography RS256 verify", floor_s),
        figure("Verifier.verify (keys cached, every token new)", "verify", TARGET_VERIFY),
        figure("warm lambda_handler, REST TOKEN, same token", "handler", TARGET_HANDLER),
        figure("warm lambda_handler, REST TOKEN, new token", "handler_fresh"),
        figure("  verify only (new token)", "handler_verify"),
        figure("  decide only (runtime.decide)", "decide"),
        figure("  route match only (RouteTable.match, 50 routes)", "route"),
        difference(
            "  new-token handler minus verify (event, route, policy, log)",
            "handler_fresh",
            "handler_verify",
        ),
        difference("  log + metrics (handler minus decide)", "handler", "decide"),
    ]


def compile_cost() -> tuple[float, int]:
    """Seconds to compile the imported ``authorizer`` modules from source (best of 3)."""
    files = sorted(
        {
            Path(m.__file__)
            for name, m in sys.modules.items()
            if (name == "authorizer" or name.startswith("authorizer.")) and m.__file__
        }
    )
    sources = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        for path, text in sources:
            compile(text, path, "exec", dont_inherit=True)
        best = min(best, time.perf_counter() - start)
    return best, len(sources)


# -------------------------------------------------------------------------- cold start


def child_environment(fx: Fixture, pycache: str) -> dict[str, str]:
    env = dict(os.environ)  # prepare_environment has already run
    env.update(
        PYTHONPATH=os.pathsep.join((str(ROOT / "src"), str(ROOT))),
        # A private bytecode cache, warmed before timing, so both children (and every
        # library) start from cached bytecode whatever PYTHONDONTWRITEBYTECODE says.
        PYTHONPYCACHEPREFIX=pycache,
        BENCH_TOKEN=fx.token,
        BENCH_METHOD_ARN=METHOD_ARN,
        BENCH_PUBLIC_PEM=fx.public_pem,
        BENCH_AUDIENCE=AUDIENCE,
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(mode: str, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall seconds from spawn to exit, and the child's own timings."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(COLD_SCRIPT), mode],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - start
    stderr = done.stderr.decode(errors="replace").strip()
    if done.returncode != 0 or not stderr:
        raise SystemExit(f"bench: cold {mode} child failed ({done.returncode}):\n{stderr}")
    return wall, json.loads(stderr.splitlines()[-1])


def cold_start(fx: Fixture, server: JwksServer) -> list[Figure]:
    pycache = tempfile.mkdtemp(prefix="scopegate-bench-pycache-")
    try:
        env = child_environment(fx, pycache)
        for _ in range(COLD_WARMUPS):
            run_child("authorizer", env)
            run_child("pyjwt", env)
        hits = server.hits
        walls: dict[str, list[float]] = {"authorizer": [], "pyjwt": []}
        inner: dict[str, list[dict[str, float]]] = {"authorizer": [], "pyjwt": []}
        for i in range(COLD_RUNS):
            order = ("authorizer", "pyjwt") if i % 2 == 0 else ("pyjwt", "authorizer")
            for mode in order:
                wall, timings = run_child(mode, env)
                walls[mode].append(wall)
                inner[mode].append(timings)
        if server.hits - hits != COLD_RUNS:
            raise SystemExit("bench: each cold authorizer should have fetched the JWKS once")
    finally:
        shutil.rmtree(pycache, ignore_errors=True)
    ours, theirs = statistics.median(walls["authorizer"]), statistics.median(walls["pyjwt"])

    def median(mode: str, key: str) -> float:
        return statistics.median(t[key] for t in inner[mode]) / 1e3

    theirs_inner = median("pyjwt", "to_decision_ms")
    return [
        Figure("cold process: authorizer (median wall)", ours, theirs, TARGET_COLD, "ms"),
        Figure("  floor: cold process import jwt + decode", theirs, unit="ms"),
        Figure(
            "  authorizer in-process to first decision",
            median("authorizer", "to_decision_ms"),
            theirs_inner,
            unit="ms",
        ),
        Figure("    import authorizer.handler", median("authorizer", "import_ms"), unit="ms"),
        Figure(
            "    first request (config, JWKS over HTTP, decide)",
            median("authorizer", "first_request_ms"),
            unit="ms",
        ),
        Figure("  PyJWT in-process import + decode", theirs_inner, unit="ms"),
    ]


# -------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args()
    started = time.perf_counter()

    fx = make_fixture()
    with JwksServer(fx.jwks) as server, tempfile.TemporaryDirectory() as scratch:
        progress(f"in-process: {ROUNDS} batches of each figure, each between two floor batches")
        figures = in_process(fx, server, Path(scratch))
        progress(f"cold start: {COLD_RUNS} fresh processes of each kind, alternating")
        figures += cold_start(fx, server)
    compile_s, compiled = compile_cost()
    figures.append(
        Figure(f"  compiling src/authorizer from source ({compiled} files)", compile_s, unit="ms")
    )

    print(render(figures))
    print(
        f"in-process: fastest of {ROUNDS} batches each, floor batches interleaved; "
        f"cold: medians of {COLD_RUNS} wall times (spawn to exit) each"
    )
    return finish(figures, started, args.json)


if __name__ == "__main__":
    sys.exit(main())
