"""The test identity provider for a pytest fixture: started, or the test failed with how
to install it (not a traceback), and stopped afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tools.local.idp import IdentityProvider, IdentityProviderUnavailableError


@contextlib.contextmanager
def serving(provider: IdentityProvider) -> Iterator[IdentityProvider]:
    """For pytest fixtures: the provider started (or the test failed with how to install
    it, not a traceback), and stopped afterwards."""
    try:
        provider.start()
    except IdentityProviderUnavailableError as err:
        pytest.fail(f"the test identity provider is not installed: {err}", pytrace=False)
    try:
        yield provider
    finally:
        provider.stop()
