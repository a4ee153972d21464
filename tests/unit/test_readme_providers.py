"""The README's per-provider configurations are valid, and say what the docs say they do.

Each "Identity providers" subsection holds an authorizer document and a broker document;
both must load, with the provider the subsection names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from authorizer.config import validate as validate_authorizer
from token_broker.config import validate as validate_broker

README = Path(__file__).resolve().parents[2] / "README.md"
SECTIONS = {
    "Amazon Cognito": "cognito",
    "Microsoft Entra ID": "entra",
    "Okta": "okta",
    "Auth0": "auth0",
    "Keycloak": "keycloak",
}


def blocks(title: str) -> list[str]:
    text = README.read_text(encoding="utf-8").split("## Identity providers\n", 1)[1]
    section = text.split(f"### {title}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize(("title", "provider"), SECTIONS.items())
def test_each_providers_authorizer_and_broker_configs_load(title: str, provider: str) -> None:
    authorizer, broker = (yaml.safe_load(block) for block in blocks(title))
    issuer = validate_authorizer(authorizer).issuers[0]
    assert issuer.provider == provider
    clients = validate_broker(broker).clients
    assert [client.provider for client in clients.values()] == [provider]
    assert next(iter(clients.values())).issuer == issuer.issuer
