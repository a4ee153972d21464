"""What `make run` prints at start: the stack's URLs and the commands to paste into another
shell (a task's credentials, a token from the broker, the API with and without it, a
rotation), for the default world or a provider's tenant."""

from __future__ import annotations

import json
import os
import sys

from tools.local import world
from tools.local.stack import LocalStack

PYTHON = (
    os.path.relpath(sys.executable, world.ROOT)
    if sys.executable.startswith(str(world.ROOT))
    else "python"
)
ROOT = world.ROOT


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
