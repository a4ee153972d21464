"""Shared fixtures: the real identity provider (oidc-provider on 127.0.0.1)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.serving import serving
from tests.support.tenants import provider_clients, provider_tenants
from tools.local.idp import IdentityProvider, default_clients, default_resources


@pytest.fixture(scope="session")
def idp() -> Iterator[IdentityProvider]:
    """A running IdP shared by the session: default_clients(), api://orders, RS256 tokens.

    Don't rotate its keys; use idp_factory for tests that change the IdP's state.
    """
    with serving(IdentityProvider(default_clients(), default_resources(alg="RS256"))) as idp:
        yield idp


@pytest.fixture(scope="session")
def provider_idp() -> Iterator[IdentityProvider]:
    """A running IdP with one tenant per provider (tests/support/tenants.py), shared by the
    session: Cognito, Entra ID (two tenants), Okta, Auth0 and Keycloak. Don't change it."""
    provider = IdentityProvider(provider_clients(), tenants=provider_tenants())
    with serving(provider) as started:
        yield started


@pytest.fixture
def idp_factory() -> Iterator[Callable[..., IdentityProvider]]:
    """Starts private IdPs (IdentityProvider's keyword arguments); stopped after the test."""
    with contextlib.ExitStack() as started:

        def factory(**kwargs: Any) -> IdentityProvider:
            kwargs.setdefault("clients", default_clients())
            return started.enter_context(serving(IdentityProvider(**kwargs)))

        yield factory
