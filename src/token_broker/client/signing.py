"""Who the task is: AWS credentials from botocore's chain, and the SigV4-signed headers."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError

from token_broker.client.endpoint import Endpoint
from token_broker.client.errors import BrokerClientError

USER_AGENT = "scopegate-broker-client/0.1"


class DefaultCredentials:
    """botocore's default chain (environment, profile, ECS task role...), found on first use.

    The object it finds refreshes itself before expiry, so it is kept, not looked up again.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._credentials: Any = None

    def __call__(self) -> Any:
        with self._lock:
            if self._credentials is None:
                import botocore.session  # slow to import, and needed on first use only

                self._credentials = botocore.session.get_session().get_credentials()
            return self._credentials


def frozen_credentials(provider: Any) -> Any:
    """One consistent set of keys from ``provider`` (read again for every request).

    No credentials, or a chain that fails, is ``no_credentials``: nothing can be signed.
    """
    try:
        credentials = provider()
        frozen = None if credentials is None else credentials.get_frozen_credentials()
    except BotoCoreError as e:
        raise BrokerClientError("no_credentials", f"cannot read AWS credentials: {e}") from e
    if frozen is None or not frozen.access_key or not frozen.secret_key:
        raise BrokerClientError("no_credentials", "no AWS credentials found to sign with")
    return frozen


def signed_headers(url: str, where: Endpoint, body: bytes, credentials: Any) -> dict[str, str]:
    """The headers of a SigV4-signed form ``POST`` of ``body`` to ``url``."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Host": where.host,  # signed as sent, whatever botocore would derive
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            # Function URLs want the body hash as a header; API Gateway ignores it.
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
        },
    )
    SigV4Auth(credentials, where.service, where.region).add_auth(request)
    headers = {str(name): str(value) for name, value in request.headers.items()}
    headers["User-Agent"] = USER_AGENT  # never signed (proxies rewrite it)
    return headers
