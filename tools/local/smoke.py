"""`make smoke`: the commands `make run` prints, played against the stack and checked.

The broker's command line runs as a real subprocess, as a task would run it; the API is
called over HTTP; a rotation goes through Secrets Manager. Each call is a row of a table
(step, call, expected, got); one unexpected result makes the run exit 1 and print the
functions' log.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from tools.local import provider_worlds, world
from tools.local.apigw import Flavor
from tools.local.stack import LocalStack

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 direct


@dataclass(frozen=True, slots=True)
class Row:
    step: str
    call: str
    expected: str
    got: str

    @property
    def ok(self) -> bool:
        return self.got == self.expected


def smoke(
    flavor: Flavor,
    cache_ttl: float,
    providers: list[str] | None = None,
    shared_cache: bool = False,
) -> int:
    """The generic sequence, then each provider's loop, one stack each; 1 on any surprise."""
    total = failures = 0
    providers = providers or ["generic"]
    shared = ", shared token cache" if shared_cache else ""
    with world.identity_provider(300, *providers) as idp:  # one IdP serves every world
        for provider in providers:
            log = io.StringIO()
            rows: list[Row] = []
            with LocalStack(
                flavor=flavor,
                cache_ttl=cache_ttl,
                log=log,
                provider=provider,
                idp=idp,
                shared_cache=shared_cache,
            ) as stack:
                steps = sequence(stack) if provider == "generic" else provider_sequence(stack)
                for step, call, expected, run in steps:
                    try:
                        got = run()
                    except Exception as e:  # noqa: BLE001 - a crash is a failed row, with why
                        got = f"error: {type(e).__name__}: {e}"
                    rows.append(Row(step, call, expected, got))
            at = "" if provider == "generic" else f" at {provider}"
            title = f"scopegate smoke{at} ({flavor} authorizer, cache TTL {cache_ttl:g} s{shared})"
            print(table(rows, title))
            failed = [row for row in rows if not row.ok]
            total, failures = total + len(rows), failures + len(failed)
            if failed:
                print(f"\n{len(failed)} of {len(rows)} calls did not give the expected result.")
                print("Function log:\n" + log.getvalue())
            print()
    if failures:
        return 1
    print(f"all {total} calls as expected")
    return 0


Step = tuple[str, str, str, Callable[[], str]]


def sequence(stack: LocalStack) -> list[Step]:
    """The calls, in order: (step, call, expected result, how to make it)."""
    tokens: dict[str, str] = {}  # "task scopes" -> the token the CLI printed

    def broker(who: str, expected: str) -> Step:
        task, scopes = who.split(" ", 1)

        def run() -> str:
            status, token = broker_cli(stack, task, scopes)
            if token:
                tokens[who] = token
            return status

        return ("broker", f"{task}: token_broker.client --scope '{scopes}'", expected, run)

    def api(who: str | None, request: str, expected: str, header: str | None = None) -> Step:
        method, path = request.split(" ", 1)

        def run() -> str:
            auth = header or (f"Bearer {tokens[who]}" if who else None)
            return call_api(stack.api_url + path, method, auth)

        label = f"{header or (who.split(' ')[0] + ' token' if who else 'no token')}: {request}"
        return ("API", label, expected, run)

    def rotate(client: str) -> Step:
        secret = world.UPSTREAM[client][0]

        def run() -> str:
            new = stack.rotate(client)["VersionId"]
            current = stack.secrets.get_secret_value(SecretId=secret, VersionStage="AWSCURRENT")
            return "new AWSCURRENT" if current["VersionId"] == new else "AWSCURRENT unchanged"

        return ("rotation", f"rotate-secret {secret}", "new AWSCURRENT", run)

    worker, reporting, ops = (
        "worker orders:read orders:write",
        "reporting orders:read",
        "ops admin ops",
    )
    no_route = "404 Not Found" if stack.flavor == "http" else "403 Missing Authentication Token"
    return [
        broker(worker, "token"),
        api(worker, "GET /orders/42", "200 writer"),
        api(worker, "POST /orders", "200 writer"),
        api(None, "GET /orders/42", "401 Unauthorized"),
        api(None, "GET /orders/42", "401 Unauthorized", header="Bearer not-a-jwt"),
        broker(reporting, "token"),
        api(reporting, "GET /orders", "200 reader"),
        api(reporting, "POST /orders", "403 Forbidden"),  # too few scopes
        api(reporting, "GET /orders/42/items", "403 Forbidden"),
        api(worker, "GET /reports", "403 Forbidden"),  # a route no rule grants
        api(worker, "GET /nowhere", no_route),  # not a route of the API
        broker("stranger orders:read", "refused: access_denied"),  # a role without a grant
        broker("reporting orders:write", "refused: invalid_scope"),  # not granted to it
        rotate("orders-admin"),  # replaces the secret at the IdP
        broker(ops, "token"),  # with the rotated secret
        api(ops, "DELETE /admin/users/7", "200 admin"),
        api(ops, "GET /orders", "403 Forbidden"),
    ]


def provider_sequence(stack: LocalStack) -> list[Step]:
    """The loop at a provider: the task's token from the broker opens what its scopes
    grant (200), nothing without a token (401) or beyond its scopes (403), and a real
    token of the provider shaped for another client or API is unauthenticated (401)."""
    at, tokens = stack.world, {}
    writer = at.clients["orders-writer"]
    scopes = at.scope("orders:read orders:write")

    def token() -> str:
        status, issued = broker_cli(stack, "worker", scopes)
        if issued:
            tokens["worker"] = issued
        return status

    def api(request: str, who: str | None) -> Callable[[], str]:
        method, path = request.split(" ", 1)

        def run() -> str:
            if who == "foreign":
                auth: str | None = (
                    f"Bearer {provider_worlds.foreign_token(stack.idp, stack.provider)}"
                )
            else:
                auth = f"Bearer {tokens[who]}" if who else None
            return call_api(stack.api_url + path, method, auth, at.client_claim)

        return run

    return [
        ("broker", f"worker: token_broker.client --scope '{scopes}'", "token", token),
        ("API", "worker token: GET /orders/42", f"200 {writer}", api("GET /orders/42", "worker")),
        ("API", "worker token: POST /orders", f"200 {writer}", api("POST /orders", "worker")),
        ("API", "no token: GET /orders/42", "401 Unauthorized", api("GET /orders/42", None)),
        (
            "API",
            "worker token: DELETE /admin/users/7",  # admin ops: not its scopes
            "403 Forbidden",
            api("DELETE /admin/users/7", "worker"),
        ),
        (
            "API",
            f"{at.foreign}: GET /orders/42",
            "401 Unauthorized",
            api("GET /orders/42", "foreign"),
        ),
    ]


def broker_cli(stack: LocalStack, task: str, scopes: str) -> tuple[str, str | None]:
    """Run `python -m token_broker.client` as the task would: ("token", token) or a refusal."""
    creds = world.TASKS[task]
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")} | {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_REGION": world.REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "PYTHONPATH": str(world.ROOT / "src"),
    }
    command = [sys.executable, "-m", "token_broker.client", stack.token_url, "--scope", scopes]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)
    if done.returncode == 0:
        return "token", done.stdout.strip()
    error = done.stderr.strip().split(":", 1)[0]
    return f"refused: {error}", None


def call_api(
    url: str, method: str, authorization: str | None, client_claim: str = "client_id"
) -> str:
    """ "STATUS who": on 200 the client the authorizer let in (the token's ``client_claim``,
    passed on as context), else the gateway's message."""
    request = urllib.request.Request(url, method=method)
    if authorization is not None:
        request.add_header("Authorization", authorization)
    try:
        with OPENER.open(request, timeout=10) as response:
            body = json.loads(response.read())
            return f"{response.status} {body['authorizer'].get(client_claim)}"
    except urllib.error.HTTPError as e:
        doc = json.loads(e.read() or b"{}")
        message = doc.get("message") or doc.get("Message") or ""
        if e.code == 403 and "not authorized" in message:
            message = "Forbidden"  # REST's AccessDenied text, HTTP's is "Forbidden"
        return f"{e.code} {message}"


def table(rows: list[Row], title: str) -> str:
    head = ("step", "call", "expected", "got", "")
    cells = [(r.step, r.call, r.expected, r.got, "ok" if r.ok else "UNEXPECTED") for r in rows]
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = [title, ""]
    for i, line in enumerate([head, *cells]):
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
