"""The task-side client: SigV4-signed ``POST /token`` calls to the broker, with a cache.

    broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])  # the BrokerTokenUrl output
    headers = {"Authorization": f"Bearer {broker.get_token('orders:read')}"}

The caller is whoever botocore's default credential chain finds (on ECS, the task role).
Credentials are read again for every request, so their rotation needs nothing from the
caller. Standard library and botocore only: the ``scopegate-client`` wheel holds this
package alone and imports nothing else of scopegate. Auth objects that add the header for
you: ``token_broker.client.requests_auth`` and ``token_broker.client.httpx_auth`` (each
imports its HTTP library, so neither is loaded here).

Command line: ``scopegate-token`` or ``python -m token_broker.client`` ``[URL] [--scope
"a b"] [--client C] [--resource R] [--audience A] [--region R] [--json]`` prints the access
token alone (or the answer as JSON); on failure it prints ``error: description`` to stderr
and exits 1 (2 for usage).
"""

from __future__ import annotations

from token_broker.client.answer import Token
from token_broker.client.broker_client import BrokerClient
from token_broker.client.endpoint import REGION_ENVS, URL_ENV
from token_broker.client.errors import BrokerClientError, BrokerUnavailable
from token_broker.client.signing import USER_AGENT
from token_broker.client.transport import MAX_RESPONSE_BYTES, HttpResponse, Transport, http_post

__all__ = [
    "MAX_RESPONSE_BYTES",
    "REGION_ENVS",
    "URL_ENV",
    "USER_AGENT",
    "BrokerClient",
    "BrokerClientError",
    "BrokerUnavailable",
    "HttpResponse",
    "Token",
    "Transport",
    "http_post",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    """``scopegate-token``: 0 with the token printed, 1 refused, 2 usage."""
    from token_broker.client.cli import main as run  # argparse is for the command line only

    return run(argv)
