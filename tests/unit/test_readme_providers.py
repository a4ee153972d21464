"""The per-provider configurations of docs/providers.md are valid, and say what the docs
say they do.

Each provider's section holds an authorizer document and a broker document; both must
load, with the provider the section names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from authorizer.config import validate as validate_authorizer
from token_broker.config import validate as validate_broker

PROVIDERS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "providers.md"
SECTIONS = {
    "Amazon Cognito": "cognito",
    "Microsoft Entra ID": "entra",
    "Okta": "okta",
    "Auth0": "auth0",
    "Keycloak": "keycloak",
}


def blocks(title: str) -> list[str]:
    text = PROVIDERS_PAGE.read_text(encoding="utf-8")
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize(("title", "provider"), SECTIONS.items())
def test_each_providers_authorizer_and_broker_configs_load(title: str, provider: str) -> None:
    authorizer, broker = (yaml.safe_load(block) for block in blocks(title))
    issuer = validate_authorizer(authorizer).issuers[0]
    assert issuer.provider == provider
    clients = validate_broker(broker).clients
    assert [client.provider for client in clients.values()] == [provider]
    assert next(iter(clients.values())).issuer == issuer.issuer
