"""Shared fixtures: the real identity provider (oidc-provider on 127.0.0.1)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.idp import IdentityProvider, default_clients, default_resources, serving


@pytest.fixture(scope="session")
def idp() -> Iterator[IdentityProvider]:
    """A running IdP shared by the session: default_clients(), api://orders, RS256 tokens.

    Don't rotate its keys; use idp_factory for tests that change the IdP's state.
    """
    with serving(IdentityProvider(default_clients(), default_resources(alg="RS256"))) as idp:
        yield idp


@pytest.fixture
def idp_factory() -> Iterator[Callable[..., IdentityProvider]]:
    """Starts private IdPs (IdentityProvider's keyword arguments); stopped after the test."""
    with contextlib.ExitStack() as started:

        def factory(**kwargs: Any) -> IdentityProvider:
            kwargs.setdefault("clients", default_clients())
            return started.enter_context(serving(IdentityProvider(**kwargs)))

        yield factory
