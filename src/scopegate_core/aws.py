"""AWS clients for calls a request waits on: short timeouts, two attempts in all.

botocore waits 60 s to connect and 60 s to read by default; a function that must answer
within seconds (the broker: 10 s; the authorizer: API Gateway's 10 s for authorizers)
cannot. ``total_max_attempts`` counts the first try (``max_attempts`` would not).
"""

from __future__ import annotations

from typing import Any


def request_client(
    service: str,
    *,
    region: str | None = None,
    connect_timeout: float = 1.0,
    read_timeout: float = 2.0,
) -> Any:
    """A boto3 client for ``service`` bounded to ``2 * (connect + read)`` seconds a call."""
    import boto3  # here: a function that never calls AWS never loads it
    from botocore.config import Config

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": 2, "mode": "standard"},
    )
    return boto3.client(service, region_name=region, config=config)
