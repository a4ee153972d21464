"""The whole of scopegate on 127.0.0.1, with no AWS account: what `make run` starts.

    identity provider   tests/idp (oidc-provider, node), the demo clients of world.py, at
                        the generic issuer or at one provider-shaped tenant (``provider``:
                        cognito, entra, okta, auth0, keycloak)
    AWS                 moto's server: Secrets Manager (client secrets), SSM (both configs),
                        Lambda and IAM (only so that RotateSecret finds the rotation function),
                        with ``shared_cache`` DynamoDB and KMS (the broker's token table)
    gateway             one HTTP server: POST /token goes to the broker behind SigV4
                        (broker_gateway.py), every other path to the demo API behind
                        the authorizer (apigw.py)

The three functions run in this process, each through its real entry point
(``handle(runtime, event, context)``, which ``lambda_handler`` calls), with a runtime of
its own that reads its config from SSM and its secrets from Secrets Manager, both moto's,
over HTTP, as in Lambda. Nothing here touches ``os.environ``, so a stack can run inside a
test process.

    with LocalStack(flavor="rest-token", cache_ttl=300) as stack:
        token = stack.broker_client("worker").get_token("orders:read")
        urllib.request.urlopen(stack.api_url + "/orders/42")  # with the token
"""

from __future__ import annotations

import io
import json
from contextlib import ExitStack
from typing import Any, Self

import boto3
from botocore.config import Config

from token_broker.client import BrokerClient
from tools.local import provider_worlds, world
from tools.local.apigw import Flavor, ProtectedApi
from tools.local.broker_gateway import LocalBrokerGateway
from tools.local.function_logs import function_logs_to, metrics_off
from tools.local.http_server import HttpServer, Reply, Request
from tools.local.idp import IdentityProvider
from tools.local.lambda_proxy import LambdaContext
from tools.local.moto_server import MOTO_KEYS, moto_server
from tools.local.rotation_function import RotationFunction
from tools.local.service import Service


class LocalStack(Service):
    """Start with ``with LocalStack(...) as stack`` (or start()/stop()); see the module doc.

    ``flavor`` is the API's authorizer type (rest-token, rest-request or http), ``cache_ttl``
    the authorizer result cache's TTL (0 turns it off), ``min_remaining`` the broker's
    ``min_remaining_seconds`` (above the IdP's token lifetime, every request reaches the
    IdP), ``token_ttl`` the IdP's access token lifetime, ``provider`` the identity provider
    the world stands at (provider_worlds.PROVIDERS), ``shared_cache`` turns the broker's
    shared token cache on (a table and a KMS key in moto, as the template's
    ``BrokerSharedCache=dynamodb`` makes them). ``log`` receives the functions' log lines
    (default: left where they are, stdout).
    """

    def __init__(
        self,
        *,
        flavor: Flavor = "rest-token",
        cache_ttl: float = 300.0,
        min_remaining: int | None = None,
        token_ttl: int = 300,
        shared_cache: bool = False,
        log: io.TextIOBase | None = None,
        provider: str = "generic",
        idp: IdentityProvider | None = None,
    ) -> None:
        self.flavor: Flavor = flavor
        self.cache_ttl = cache_ttl
        self.min_remaining = min_remaining
        self.provider = provider
        self.world = provider_worlds.world_at(provider)
        self.shared_cache: tuple[str, str] | None = None  # (table, KMS alias) once started
        self._wants_shared_cache = shared_cache
        # A running IdP (world.identity_provider with this provider) may be shared by
        # several stacks one after the other; the stack then neither starts nor stops it.
        self._own_idp = idp is None
        self.idp = idp if idp is not None else world.identity_provider(token_ttl, provider)
        self._log = log
        self._exit = ExitStack()
        self.server: HttpServer | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        if self._own_idp:
            self._exit.enter_context(self.idp)
        self.aws_url = self._exit.enter_context(moto_server())
        self.secrets = self.aws_client("secretsmanager")
        self.ssm = self.aws_client("ssm")
        self._seed()
        self.authorizer, self.broker, self.rotation = self._runtimes()  # imports the handlers
        if self._log is not None:
            self._exit.enter_context(function_logs_to(self._log))
        self._exit.enter_context(metrics_off())
        self.rotation_arn = RotationFunction(self._run_rotation_step).register(
            self.aws_client("iam"),
            self.aws_client("lambda"),
            world.ACCOUNT,
            world.REGION,
            (secret for secret, _, _, _ in world.UPSTREAM.values()),
        )
        self.api = ProtectedApi(
            self._invoke_authorizer,
            world.backend,
            world.api_routes(self.authorizer_config),
            flavor=self.flavor,
            cache_ttl=self.cache_ttl,
            region=world.REGION,
            account=world.ACCOUNT,
        )
        self.broker_gateway = LocalBrokerGateway(
            self._invoke_broker,
            {task.access_key: task.identity for task in world.TASKS.values()},
            region=world.REGION,
            raise_handler_errors=False,
            record=False,  # `make run` serves for hours: keep no event
        )
        self.server = self._exit.enter_context(HttpServer(self._route))

    def stop(self) -> None:
        self._exit.close()
        self.server = None

    # -- what users and tests reach -------------------------------------------------------

    @property
    def api_url(self) -> str:
        if self.server is None:
            raise RuntimeError("the local stack is not started")
        return self.server.base_url

    @property
    def token_url(self) -> str:
        return self.api_url + "/token"

    def broker_client(self, task: str) -> BrokerClient:
        """A task's ``BrokerClient``, signing with the task's made-up role keys."""
        return BrokerClient(
            self.token_url, region=world.REGION, credentials_provider=world.TASKS[task].credentials
        )

    def rotate(self, client: str) -> dict[str, Any]:
        """RotateSecret on a broker client's secret, as `aws secretsmanager rotate-secret`."""
        secret = world.UPSTREAM[client][0]
        # moto forgets the function unless it is named again (AWS remembers it).
        answer: dict[str, Any] = self.secrets.rotate_secret(
            SecretId=secret, RotationLambdaARN=self.rotation_arn
        )
        return answer

    def aws_client(self, service: str) -> Any:
        """A boto3 client for moto's server (no retries, so failures show at once)."""
        config = Config(retries={"max_attempts": 1, "mode": "standard"})
        return boto3.client(
            service, endpoint_url=self.aws_url, region_name=world.REGION, config=config, **MOTO_KEYS
        )

    # -- wiring ---------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        """The issuer of the world's tokens (the provider tenant's, or the generic one)."""
        return world.issuer_of(self.idp, self.provider)

    def _seed(self) -> None:
        self.authorizer_config = world.authorizer_config(self.idp, self.provider)
        if self._wants_shared_cache:
            from tools.local.fleet import create_shared_cache

            self.shared_cache = create_shared_cache(
                self.aws_client("dynamodb"), self.aws_client("kms")
            )
        broker_config = world.broker_config(
            self.idp, self.min_remaining, self.provider, self.shared_cache
        )
        for name, doc in (
            (world.AUTHORIZER_PARAMETER, self.authorizer_config),
            (world.BROKER_PARAMETER, broker_config),
        ):
            self.ssm.put_parameter(Name=name, Value=json.dumps(doc), Type="String")
        for name, value in world.client_secrets(self.idp, self.provider).items():
            self.secrets.create_secret(Name=name, SecretString=value)

    def _runtimes(self) -> tuple[Any, Any, Any]:
        # Imported here: each handler builds its logger on import, and a caller may set
        # POWERTOOLS_* variables (such as the log level) before the first stack starts.
        from authorizer.handler import Runtime as AuthorizerRuntime
        from authorizer.sources import ConfigSource
        from token_broker.config import BrokerConfigSource
        from token_broker.handler import Runtime as BrokerRuntime
        from token_broker.rotation.handler import Runtime as RotationRuntime
        from token_broker.secret_store import SecretStore

        def broker_source() -> BrokerConfigSource:
            env = {"BROKER_CONFIG_PARAMETER": world.BROKER_PARAMETER}
            return BrokerConfigSource(env, ssm_client=self.ssm)

        authorizer = AuthorizerRuntime(
            ConfigSource(
                {"AUTHORIZER_CONFIG_PARAMETER": world.AUTHORIZER_PARAMETER}, ssm_client=self.ssm
            )
        )
        shared = {}
        if self.shared_cache is not None:
            shared = {"dynamodb": self.aws_client("dynamodb"), "kms": self.aws_client("kms")}
        broker = BrokerRuntime(broker_source(), SecretStore(self.secrets), **shared)
        rotation = RotationRuntime(self.secrets, source=broker_source())
        return authorizer, broker, rotation

    def _run_rotation_step(self, event: dict[str, Any], context: LambdaContext) -> object:
        from token_broker.rotation.handler import handle

        return handle(self.rotation, event, context)

    def _invoke_authorizer(self, event: dict[str, Any], context: Any) -> Any:
        from authorizer.handler import handle

        return handle(self.authorizer, event)

    def _invoke_broker(self, event: dict[str, Any], context: Any) -> Any:
        from token_broker.handler import handle

        return handle(self.broker, event, context)

    def _route(self, request: Request) -> Reply:
        if request.path == "/token":
            return self.broker_gateway.serve(request)
        return self.api.serve(request)
