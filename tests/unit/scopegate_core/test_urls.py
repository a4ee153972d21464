"""The URL policy every configured or discovered endpoint passes: https, http on loopback."""

from __future__ import annotations

import pytest

from scopegate_core.errors import DocumentError
from scopegate_core.urls import check_url


@pytest.mark.parametrize(
    "url",
    [
        "https://idp.example.com/oauth2/default",
        "https://10.0.0.7:8443/token",
        "http://127.0.0.1:9000/token",
        "http://127.0.0.2/token",  # all of 127.0.0.0/8, as the task client allows
        "http://localhost:3000/.well-known/openid-configuration",
        "http://[::1]:8080/keys",
    ],
)
def test_https_anywhere_and_http_on_loopback_are_allowed(url: str) -> None:
    assert check_url(url, "issuer") == url


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example.com/token",
        "http://10.0.0.7/token",
        "http://localhost.example.com/token",  # a name, not the loopback host
        "http://127.0.0.1.nip.io/token",
        "ftp://127.0.0.1/token",
    ],
)
def test_http_elsewhere_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(DocumentError, match=r"^issuer .* must use https"):
        check_url(url, "issuer")


@pytest.mark.parametrize("url", ["", None, 42, "/relative/path", "https://host:99999/"])
def test_what_is_not_an_absolute_url_is_refused(url: object) -> None:
    with pytest.raises(DocumentError, match=r"^issuer "):
        check_url(url, "issuer")
