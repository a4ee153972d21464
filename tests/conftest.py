"""Shared fixtures: the real identity provider (oidc-provider on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.idp import (
    IdentityProvider,
    IdentityProviderUnavailableError,
    default_clients,
    default_resources,
)


def _start(provider: IdentityProvider) -> IdentityProvider:
    try:
        return provider.start()
    except IdentityProviderUnavailableError as err:
        pytest.fail(f"the test identity provider is not installed: {err}", pytrace=False)


@pytest.fixture(scope="session")
def idp() -> Iterator[IdentityProvider]:
    """A running IdP shared by the session: default_clients(), api://orders, RS256 tokens.

    Don't rotate its keys; use idp_factory for tests that change the IdP's state.
    """
    provider = _start(IdentityProvider(default_clients(), default_resources(alg="RS256")))
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def idp_factory() -> Iterator[Callable[..., IdentityProvider]]:
    """Starts private IdPs (IdentityProvider's keyword arguments); stopped after the test."""
    started: list[IdentityProvider] = []

    def factory(**kwargs: Any) -> IdentityProvider:
        kwargs.setdefault("clients", default_clients())
        provider = _start(IdentityProvider(**kwargs))
        started.append(provider)
        return provider

    try:
        yield factory
    finally:
        for provider in started:
            provider.stop()
