"""Where the broker is: the Host header, region and SigV4 service of its ``/token`` URL."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

URL_ENV = "SCOPEGATE_BROKER_URL"  # the command line's default URL: the BrokerTokenUrl output
REGION_ENVS = ("AWS_REGION", "AWS_DEFAULT_REGION")

# Hosts that name their region; the service is what SigV4 signs for.
_ENDPOINTS = (
    (re.compile(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"), "execute-api"),
    (
        re.compile(r"[a-z0-9]+-vpce-[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.vpce\.amazonaws\.com"),
        "execute-api",
    ),
    (re.compile(r"[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws"), "lambda"),
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str  # the Host header as sent and signed: the port only when not the default
    region: str
    service: str  # execute-api (API Gateway) or lambda (function URLs)


def endpoint(
    url: str,
    region: str | None = None,
    service: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Endpoint:
    """The endpoint of ``url``, or ``ValueError`` saying what is wrong with it.

    The region comes from the URL's host (``*.execute-api.REGION.amazonaws.com``, its VPC
    endpoint form, ``*.lambda-url.REGION.on.aws``), else ``region``, else ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION``; a ``region`` that contradicts the host is refused. ``https`` is
    required except on loopback hosts, and user information in the URL is refused.
    """
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if "@" in parts.netloc:  # checked first: the messages below quote the URL
        raise ValueError("the broker URL must not carry user information")
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValueError(f"broker URL {url!r} is not an absolute http(s) URL")
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise ValueError(f"broker URL {url!r} must use https (http only on loopback hosts)")
    host_region, host_service = None, "execute-api"
    for pattern, signs_for in _ENDPOINTS:
        match = pattern.fullmatch(hostname)
        if match:
            host_region, host_service = match[1], signs_for
    if host_region and region and region != host_region:
        raise ValueError(f"region {region!r} contradicts the broker URL's {host_region!r}")
    from_env = next((environ[n] for n in REGION_ENVS if environ.get(n)), None)
    chosen = host_region or region or from_env
    if not chosen:
        raise ValueError(
            f"no AWS region for {hostname!r}: pass region= or set AWS_REGION "
            "(the URL's host does not name one)"
        )
    if not _REGION.fullmatch(chosen):
        raise ValueError(f"{chosen!r} is not an AWS region name")
    port = parts.port
    default_port = 443 if parts.scheme == "https" else 80
    name = f"[{hostname}]" if ":" in hostname else hostname
    host = name if port in (None, default_port) else f"{name}:{port}"
    return Endpoint(host, chosen, service or host_service)


def _is_loopback(hostname: str) -> bool:
    # The functions' rule (scopegate_core.urls), repeated: the wheel carries only the client.
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
