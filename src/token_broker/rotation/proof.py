"""testSecret's proof: a real client credentials grant with the pending secret.

The client's token endpoint, authentication method, ``resource``/``audience`` and scopes
come from the broker's own configuration (the client whose ``secret`` is the rotating
secret), so the proof is the request the broker will make. ``invalid_client`` and an
unavailable identity provider are retried with backoff (1, 2, 4, 8, 8... seconds) until
``budget`` seconds have passed: a new secret can take a while to work everywhere (Auth0
documents up to 30 s). Any other refusal fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from token_broker.config import BrokerConfig, ClientConfig
from token_broker.errors import BrokerError, ConfigError, InvalidClient, Unavailable
from token_broker.rotation.errors import RotationConfigError, SecretNotAccepted
from token_broker.rotation.secret import RotatedSecret
from token_broker.upstream import IdpClient

DEFAULT_BUDGET_SECONDS = 60.0
MAX_BACKOFF_SECONDS = 8.0
ATTEMPT_SECONDS = 10.0


def client_for(config: BrokerConfig, arn: str, name: str) -> ClientConfig:
    """The broker client whose ``secret`` names this secret (by ARN, partial ARN or name)."""
    names = {arn, name, arn.rsplit("-", 1)[0]}
    found = [c for c in config.clients.values() if c.secret in names]
    if len(found) != 1:
        how = "no broker client uses" if not found else "several broker clients use"
        raise RotationConfigError(
            f"{how} secret {name!r}; testSecret needs exactly one to know the token endpoint"
        )
    client = found[0]
    if client.auth_method == "private_key_jwt":
        raise RotationConfigError(
            f"client {client.name!r} authenticates with private_key_jwt: its secret "
            "holds a key, not a client secret, and is not rotated by this function"
        )
    return client


def scopes_for(config: BrokerConfig, client: ClientConfig) -> tuple[str, ...]:
    """Every scope granted on this client: what the broker may ask for with the secret."""
    return tuple(sorted({s for g in config.grants if g.client == client.name for s in g.scopes}))


class GrantProof:
    def __init__(
        self,
        idp: IdpClient,
        client: ClientConfig,
        scopes: tuple[str, ...],
        *,
        budget: float = DEFAULT_BUDGET_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.idp = idp
        self.client = client
        self.scopes = scopes
        self.budget = budget
        self.clock = clock
        self.sleep = sleep

    def __call__(self, pending: RotatedSecret) -> int:
        """The number of attempts it took; ``SecretNotAccepted`` when it never worked."""
        give_up = self.clock() + self.budget
        delay = 1.0
        attempts = 0
        while True:
            attempts += 1
            deadline = min(self.clock() + ATTEMPT_SECONDS, give_up)
            try:
                self.idp.request_token(
                    self.client, pending.credentials(), self.scopes, deadline=deadline
                )
                return attempts
            except (InvalidClient, Unavailable) as e:
                if self.clock() + delay >= give_up:
                    raise SecretNotAccepted(
                        f"the token endpoint still refuses the pending secret of client "
                        f"{self.client.name!r} after {attempts} attempts ({e.reason})"
                    ) from e
            except ConfigError as e:
                raise RotationConfigError(f"client {self.client.name!r}: {e}") from e
            except BrokerError as e:
                raise SecretNotAccepted(
                    f"the token endpoint refused the pending secret of client "
                    f"{self.client.name!r}: {e.reason}"
                ) from e
            self.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
