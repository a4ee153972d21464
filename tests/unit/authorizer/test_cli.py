"""``python -m authorizer check`` and ``explain``, run as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT
from tools.local.idp import ORDERS_API, IdentityProvider


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "authorizer", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    bad = {
        "issuers": [{"issuer": "http://idp.example.com", "audiences": [], "algorithms": ["none"]}],
        "routes": [{"route": "GET /x", "scopes": []}],
    }
    result = run("check", write(tmp_path, bad))
    assert result.returncode == 1
    assert "problem(s)" in result.stdout
    assert "scopes must not be empty" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_passes_a_good_config_and_notes_overlapping_routes(tmp_path: Path) -> None:
    good = {
        "issuers": [{"issuer": "https://idp.example.com", "audiences": ["a"]}],
        "routes": [
            {"route": "GET /files/{proxy+}", "scopes": ["files"]},
            {"route": "GET /files/{id}/secret", "scopes": ["secret"]},
        ],
    }
    result = run("check", write(tmp_path, good))
    assert result.returncode == 0, result.stdout
    assert "OK (1 issuer(s), 2 route(s))" in result.stdout
    assert "'GET /files/{proxy+}' and 'GET /files/{id}/secret' overlap" in result.stdout


def test_check_notes_only_pairs_no_cached_policy_can_tell_apart(tmp_path: Path) -> None:
    """A literal next to a {param} or {proxy+} sibling is exact (API Gateway routes the
    literal's path to the literal); /files/{proxy+} and /files/{id}/secret are not, and the
    note shows a request a cached policy would answer wrongly."""
    routes = [
        ("GET /orders/search", "search:use"),
        ("GET /orders/{id}", "orders:read"),
        ("GET /files/public", "public"),
        ("GET /files/{proxy+}", "files"),
        ("GET /admin/health", "health"),
        ("ANY /admin/{proxy+}", "admin"),
    ]
    doc: dict[str, Any] = {
        "issuers": [{"issuer": "https://idp.example.com", "audiences": ["a"]}],
        "routes": [{"route": route, "scopes": [scope]} for route, scope in routes],
    }
    result = run("check", write(tmp_path, doc))
    assert result.returncode == 0
    assert "note:" not in result.stdout
    assert "overlap" not in result.stdout
    doc["routes"].append({"route": "GET /files/{id}/secret", "scopes": ["secret"]})
    result = run("check", write(tmp_path, doc))
    assert result.returncode == 0
    notes = [line for line in result.stdout.splitlines() if "note:" in line]
    assert len(notes) == 1
    assert "'GET /files/{proxy+}' and 'GET /files/{id}/secret' overlap" in notes[0]
    assert "GET /files/x/x/secret" in notes[0]  # the request a cached Deny would refuse


def test_explain_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    """``python -m authorizer explain ... | head``: no BrokenPipeError traceback."""
    config = write(
        tmp_path,
        {
            "issuers": [{"issuer": "https://idp.example.com", "audiences": ["a"]}],
            "routes": [{"route": "GET /orders", "scopes": ["orders:read"]}],
        },
    )
    env = {"PYTHONPATH": f"{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "authorizer", "explain", config, "--token", "x", "GET", "/"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()  # the reader is gone before the first line is written
        errors = child.stderr.read().decode()
        assert child.wait(timeout=60) == 0
    assert errors == ""


def test_explain_shows_the_decision_and_exits_zero_either_way(
    tmp_path: Path, idp: IdentityProvider
) -> None:
    config = write(
        tmp_path,
        {
            "issuers": [{"issuer": idp.issuer, "audiences": [ORDERS_API]}],
            "routes": [{"route": "GET /orders/{id}", "scopes": ["orders:read"]}],
        },
    )
    token = idp.token(
        "reader", idp.client_secret("reader"), scope="orders:read", resource=ORDERS_API
    )
    allowed = run("explain", config, "--token", token, "GET", "/orders/1")
    assert allowed.returncode == 0
    assert "decision: allow (granted)" in allowed.stdout
    assert "route:    GET /orders/{id}" in allowed.stdout
    denied = run("explain", config, "--token", token, "DELETE", "/orders/1")
    assert denied.returncode == 0
    assert "decision: deny (no_route)" in denied.stdout
    garbage = run("explain", config, "--token", "garbage", "GET", "/orders/1")
    assert garbage.returncode == 0
    assert "decision: unauthenticated (token_malformed)" in garbage.stdout
    assert token not in allowed.stdout + denied.stdout


def test_explain_exits_non_zero_for_bad_input(tmp_path: Path) -> None:
    assert (
        run("explain", str(tmp_path / "missing.json"), "--token", "x", "GET", "/").returncode != 0
    )
    assert run("explain").returncode != 0


def test_check_prints_the_profile_in_effect_for_each_issuer(tmp_path: Path) -> None:
    tenant = "7f9c0d2e-5b1a-4c3d-9e8f-0a1b2c3d4e5f"
    doc = {
        "issuers": [
            {
                "issuer": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf012",
                "provider": "cognito",
                "client_ids": ["3h1example4client5id"],
            },
            {
                "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
                "provider": "entra",
                "audiences": ["api://orders"],
                "token_types": ["JWT"],
                "scope_claims": ["roles"],
            },
            {"issuer": "https://idp.example.com", "audiences": ["a"]},
        ],
        "routes": [{"route": "GET /x", "scopes": ["s"]}],
    }
    result = run("check", write(tmp_path, doc))
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert "eu-west-1_AbCdEf012: provider cognito" in out
    assert "scopes from: scope (cognito default)" in out
    assert "client id:   client_id must be one of 3h1example4client5id" in out
    assert "audience:    aud not checked" in out
    assert "token_use = 'access' (token_use_mismatch)" in out
    assert "/v2.0: provider entra" in out
    assert "scopes from: roles\n" in out  # explicit: no "(default)"
    assert f"tid = '{tenant}' (tenant_mismatch)" in out
    assert "typ must be one of jwt" in out
    assert "client id:   not checked (the claim is azp or appid)" in out
    assert "idp.example.com: provider generic (default)" in out
    assert "scopes from: scope, scp (generic default)" in out


def test_check_names_an_unknown_provider_and_the_choices(tmp_path: Path) -> None:
    doc = {
        "issuers": [{"issuer": "https://idp.example.com", "provider": "ping", "audiences": ["a"]}],
        "routes": [{"route": "GET /x", "scopes": ["s"]}],
    }
    result = run("check", write(tmp_path, doc))
    assert result.returncode == 1
    assert "provider 'ping' is not a known provider" in result.stdout
    assert "generic, cognito, entra, okta, auth0, keycloak" in result.stdout
