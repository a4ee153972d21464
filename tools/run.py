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

    PYTHONPATH=src:. python tools/run.py [--smoke] [--provider NAME]
                                         [--flavor rest-token|rest-request|http]
                                         [--cache-ttl SECONDS] [--shared-cache]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "src", ROOT):  # `python tools/run.py` puts only tools/ on the path
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from tools.local import world  # noqa: E402
from tools.local.apigw import Flavor  # noqa: E402
from tools.local.stack import LocalStack  # noqa: E402

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 direct
PYTHON = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="run the sequence, then exit")
    parser.add_argument("--flavor", choices=get_args(Flavor), default="rest-token")
    parser.add_argument("--cache-ttl", type=float, default=300.0, help="0 turns it off")
    parser.add_argument(
        "--provider",
        choices=world.PROVIDERS,
        help="the identity provider the world stands at (default generic; smoke: all)",
    )
    parser.add_argument(
        "--shared-cache", action="store_true", help="the broker's token table (moto's DynamoDB)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines locally
    if args.smoke:
        providers = [args.provider] if args.provider else list(world.PROVIDERS)
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


def banner(stack: LocalStack) -> str:
    """The URLs and the commands to paste into another shell."""
    if stack.provider != "generic":
        return provider_banner(stack)
    worker = world.TASKS["worker"]
    api, token_url = stack.api_url, stack.token_url
    cli = f"PYTHONPATH=src {PYTHON} -m token_broker.client {token_url}"
    ttl = f"cache TTL {stack.cache_ttl:g} s" if stack.cache_ttl else "no cache"
    secret, _, _, _ = world.UPSTREAM["orders-writer"]
    shared, scan = "", ""
    if stack.shared_cache is not None:
        table, alias = stack.shared_cache
        label = "broker's shared token cache (moto)".ljust(46)
        shared = f"\n  {label}table {table}, key {alias}"
        scan = f"""

  # the broker's token table: one item per grant, the token only encrypted
  PYTHONPATH=src {PYTHON} -c 'import boto3; [print(sorted(i)) for i in boto3.client( \\
      "dynamodb", region_name="{world.REGION}", endpoint_url="{stack.aws_url}").scan( \\
      TableName="{table}")["Items"]]'"""
    return f"""
scopegate is running on 127.0.0.1 ({stack.flavor} authorizer, {ttl}). Ctrl-C stops it.

  API, the demo backend behind the authorizer   {api}/orders/42
  token broker (SigV4, local demo credentials)  {token_url}
  identity provider (issuer)                    {stack.idp.issuer}
  AWS: moto's Secrets Manager, SSM, Lambda      {stack.aws_url}{shared}

Paste into another shell, from {ROOT}:

  # be the ECS task {worker.role}/{worker.session}: its local demo credentials
  export AWS_ACCESS_KEY_ID={worker.access_key} AWS_SECRET_ACCESS_KEY={worker.secret_key} \\
         AWS_SESSION_TOKEN={worker.session_token} AWS_REGION={world.REGION}

  # a token from the broker, then the API with it: 200
  TOKEN=$({cli} --scope "orders:read orders:write")
  curl -i -w '\\n' -H "Authorization: Bearer $TOKEN" {api}/orders/42

  # no token: 401
  curl -i -w '\\n' {api}/orders/42

  # too few scopes (orders:read only) for POST /orders: 403
  READ=$({cli} --scope orders:read)
  curl -i -w '\\n' -X POST -H "Authorization: Bearer $READ" {api}/orders

  # rotate its client secret at the identity provider, through Secrets Manager (with the
  # AWS CLI: rotate-secret --secret-id ID --rotation-lambda-arn ARN; moto needs the ARN)
  PYTHONPATH=src {PYTHON} -c 'import boto3; print(boto3.client("secretsmanager", \\
      region_name="{world.REGION}", endpoint_url="{stack.aws_url}").rotate_secret(SecretId="{
        secret
    }", \\
      RotationLambdaARN="{stack.rotation_arn}")["VersionId"])'

  # tokens keep coming (a new one, orders:write only, from the IdP): 200
  WRITE=$({cli} --scope orders:write)
  curl -i -w '\\n' -H "Authorization: Bearer $WRITE" {api}/orders/42/items{scan}

Routes: {", ".join(route.key for route in stack.api.routes)}. Other tasks: {
        ", ".join(
            f"{t.role}/{t.session} ({t.access_key})" for t in world.TASKS.values() if t != worker
        )
    }; same secret key pattern. Function logs follow.
"""


NAMES = {
    "cognito": "Amazon Cognito",
    "entra": "Microsoft Entra ID",
    "okta": "Okta",
    "auth0": "Auth0",
    "keycloak": "Keycloak",
}


def provider_banner(stack: LocalStack) -> str:
    """The banner of a world at a provider-shaped tenant: its URLs and the same loop."""
    worker, at, name = world.TASKS["worker"], stack.world, NAMES[stack.provider]
    api, token_url = stack.api_url, stack.token_url
    cli = f"PYTHONPATH=src {PYTHON} -m token_broker.client {token_url}"
    ttl = f"cache TTL {stack.cache_ttl:g} s" if stack.cache_ttl else "no cache"
    issuer = json.dumps(stack.authorizer_config["issuers"][0])
    rows = [
        ("API, the demo backend behind the authorizer", f"{api}/orders/42"),
        ("token broker (SigV4, local demo credentials)", token_url),
        (f"identity provider (issuer), shaped as {name}", stack.issuer),
        ("its token endpoint", stack.idp.tenant(stack.provider)["token_endpoint"]),
        ("AWS: moto's Secrets Manager, SSM, Lambda", stack.aws_url),
    ]
    width = max(len(label) for label, _ in rows) + 3
    urls = "\n".join(f"  {label.ljust(width)}{url}" for label, url in rows)
    return f"""
scopegate is running on 127.0.0.1 with {name} as identity provider ({stack.flavor}
authorizer, {ttl}). Ctrl-C stops it.

{urls}

The authorizer's issuer: {issuer}

Paste into another shell, from {ROOT}:

  # be the ECS task {worker.role}/{worker.session}: its local demo credentials
  export AWS_ACCESS_KEY_ID={worker.access_key} AWS_SECRET_ACCESS_KEY={worker.secret_key} \\
         AWS_SESSION_TOKEN={worker.session_token} AWS_REGION={world.REGION}

  # a token from the broker ({name}-shaped), then the API with it: 200
  TOKEN=$({cli} --scope "{at.scope("orders:read orders:write")}")
  curl -i -w '\\n' -H "Authorization: Bearer $TOKEN" {api}/orders/42

  # no token: 401
  curl -i -w '\\n' {api}/orders/42

  # a route its scopes do not grant (admin ops): 403
  curl -i -w '\\n' -X DELETE -H "Authorization: Bearer $TOKEN" {api}/admin/users/7

Routes: {", ".join(route.key for route in stack.api.routes)}.
Secret rotation is shown with the default provider (make run). Function logs follow.
"""


# -- smoke -------------------------------------------------------------------------------


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
                log=log,  # type: ignore[arg-type]
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
                auth: str | None = f"Bearer {world.foreign_token(stack.idp, stack.provider)}"
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
        "PYTHONPATH": str(ROOT / "src"),
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


if __name__ == "__main__":
    sys.exit(main())
