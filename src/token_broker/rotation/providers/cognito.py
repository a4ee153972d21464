"""Amazon Cognito: two secrets per app client, through the function's own IAM role.

``AddUserPoolClientSecret`` lets Cognito generate the value; ``ListUserPoolClientSecrets``
shows ids and dates (never values); ``DeleteUserPoolClientSecret`` refuses to delete the
last one, which ``TwoSecretProvider`` never asks for.
"""

from __future__ import annotations

from typing import Any

from token_broker.rotation.errors import ProviderError, ProviderUnavailable, RotationConfigError
from token_broker.rotation.providers.base import LiveSecret, NewSecret, TwoSecretProvider, field
from token_broker.rotation.secret import RotatedSecret

_UNAVAILABLE = frozenset(
    {
        "TooManyRequestsException",
        "InternalServerException",
        "ServiceUnavailable",
        # botocore's own, when no answer came back
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    }
)


class CognitoProvider(TwoSecretProvider):
    name = "cognito"

    def __init__(self, client: Any, user_pool_id: str, client_id: str) -> None:
        self.client = client
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def live(self) -> list[LiveSecret]:
        answer = self._call("list_user_pool_client_secrets")
        return [
            LiveSecret(field("cognito", i, "ClientSecretId"), i.get("ClientSecretCreateDate"))
            for i in answer.get("ClientSecrets", [])
        ]

    def _create(self) -> NewSecret:
        item = self._call("add_user_pool_client_secret").get("ClientSecretDescriptor")
        return NewSecret(
            field("cognito", item, "ClientSecretId"), field("cognito", item, "ClientSecretValue")
        )

    def _delete(self, secret_id: str) -> None:
        self._call("delete_user_pool_client_secret", ClientSecretId=secret_id)

    def _call(self, operation: str, **params: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(
                UserPoolId=self.user_pool_id, ClientId=self.client_id, **params
            )
        except Exception as e:
            code = getattr(e, "response", {}).get("Error", {}).get("Code", type(e).__name__)
            error = ProviderUnavailable if code in _UNAVAILABLE else ProviderError
            raise error(f"cognito {operation}: {code}") from e
        return answer


def cognito_provider(secret: RotatedSecret, client: Any = None) -> CognitoProvider:
    pool = secret.setting("user_pool_id")
    region, _, rest = pool.partition("_")
    if not region or not rest:
        raise RotationConfigError(
            f"secret {secret.name!r}: user_pool_id must look like REGION_ID, e.g. eu-west-1_AbC"
        )
    if client is None:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard"})
        client = boto3.client("cognito-idp", region_name=region, config=config)
    return CognitoProvider(client, pool, secret.client_id)
