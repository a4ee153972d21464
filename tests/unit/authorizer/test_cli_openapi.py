"""``routes-from-openapi`` and ``check --openapi`` on real documents (tests/vectors/openapi,
sources in its README), as users run them; and ``explain`` for every operation, with real
tokens signed by a generated key whose JWKS a server on 127.0.0.1 publishes.

The decisions expected are read from each document here, apart from ``src/``: a token holding
exactly the scopes of one OAuth 2.0 / OpenID Connect alternative is allowed, one lacking any
of them is refused; an operation without such an alternative (anonymous, API key only) is
refused whatever the token holds, since a route no rule names is denied.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from authorizer.cli import main
from authorizer.openapi import PARSER
from authorizer.routes import METHODS
from authorizer.sources import load_text
from tests.support.paths import ROOT
from tests.support.signing import PrivateKey, jwk_of, private_key, sign
from tools.local.http_server import HttpServer, Reply, Request

VECTORS = ROOT / "tests" / "vectors" / "openapi"
AUDIENCE = "api://pets"
OAUTH = ("oauth2", "openIdConnect")
# The API Gateway export as an HTTP API would export it with a JWT authorizer on its one
# route: the security scheme is the example of "x-amazon-apigateway-authorizer object" in
# the API Gateway Developer Guide (https://docs.aws.amazon.com/apigateway/latest/
# developerguide/api-gateway-swagger-extensions-authorizer.html), the scope ours.
JWT_AUTHORIZER = {
    "type": "oauth2",
    "flows": {},
    "x-amazon-apigateway-authorizer": {
        "type": "jwt",
        "identitySource": "$request.header.Authorization",
        "jwtConfiguration": {"audience": [AUDIENCE], "issuer": "https://idp.example.com"},
    },
}


@dataclass(frozen=True)
class Issuer:
    url: str
    key: PrivateKey

    def token(self, scopes: set[str] | frozenset[str]) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "sub": "c1", "aud": AUDIENCE, "iat": now, "exp": now + 300}
        claims["scope"] = " ".join(sorted(scopes))
        return sign({"alg": "RS256", "kid": "k1", "typ": "at+jwt"}, claims, self.key)

    def issuers_yaml(self) -> str:
        return (
            f"issuers:\n  - issuer: {self.url}\n    audiences: [{AUDIENCE}]\n"
            f"    jwks_uri: {self.url}/keys\n"
        )


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    key = private_key("RSA2048:openapi")
    jwks = json.dumps({"keys": [jwk_of(key.public_key(), "k1", "RS256")]}).encode()

    def serve(request: Request) -> Reply:
        if request.path == "/keys":
            return 200, [("Content-Type", "application/json")], jwks
        return 404, [], b""

    with HttpServer(serve) as server:
        yield Issuer(server.base_url, key)


def run(*args: str, pythonpath: str = "") -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{pythonpath}{ROOT / 'src'}", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "authorizer", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def generated(source: Path) -> str:
    result = run("routes-from-openapi", str(source))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def api_gateway_export_with_jwt_authorizer(tmp_path: Path) -> Path:
    """A labelled change to a copy of the export: a JWT authorizer with one scope."""
    doc = json.loads((VECTORS / "apigateway-lambda-proxy-3.0.json").read_text())
    doc["components"] = {"securitySchemes": {"jwt": JWT_AUTHORIZER}}
    doc["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]["security"] = [
        {"jwt": ["pets:read"]}
    ]
    path = tmp_path / "export-with-jwt.json"
    path.write_text(json.dumps(doc))
    return path


def petstore_31_vocabulary_fixed(tmp_path: Path) -> Path:
    """A labelled change to a copy: the invalid `$vocabulary` string removed."""
    doc = json.loads((VECTORS / "petstore-3.1.json").read_text())
    del doc["components"]["schemas"]["PetDetails"]["$vocabulary"]
    path = tmp_path / "petstore-3.1-fixed.json"
    path.write_text(json.dumps(doc))
    return path


def expectations(source: Path) -> list[tuple[str, str, list[frozenset[str]]]]:
    """(method, path, OAuth alternatives) per operation, read from the raw document."""
    doc = yaml.safe_load(source.read_text())
    types = {n: s["type"] for n, s in doc.get("components", {}).get("securitySchemes", {}).items()}
    out = []
    for path, item in doc["paths"].items():
        for key, op in item.items():
            if key not in (
                "get",
                "put",
                "post",
                "delete",
                "patch",
                "x-amazon-apigateway-any-method",
            ):
                continue
            security = op.get("security", doc.get("security")) or []
            if any(not req for req in security):  # `{}`: anonymous access, no token needed
                alternatives = []
            else:
                alternatives = [
                    frozenset(s for n, scopes in req.items() if types[n] in OAUTH for s in scopes)
                    for req in security
                    if any(types[n] in OAUTH for n in req)
                ]
            method = "ANY" if key.startswith("x-") else key.upper()
            out.append((method, path, alternatives))
    return out


def decision(config: Path, token: str, method: str, path: str, capsys: Any) -> str:
    assert main(["explain", str(config), "--token", token, method, path]) == 0
    first: str = capsys.readouterr().out.splitlines()[0]
    return first.removeprefix("decision: ")


def request_path(template: str) -> str:
    return template.replace("{proxy+}", "a/b").replace("{", "").replace("}", "")


@pytest.mark.parametrize(
    "document",
    ["petstore-3.0.yaml", "tictactoe-3.1.yaml", "petstore-3.1 (fixed)", "apigateway (with jwt)"],
)
def test_explain_gives_every_operation_the_decision_its_document_implies(
    document: str, issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = {
        "petstore-3.1 (fixed)": lambda: petstore_31_vocabulary_fixed(tmp_path),
        "apigateway (with jwt)": lambda: api_gateway_export_with_jwt_authorizer(tmp_path),
    }.get(document, lambda: VECTORS / document)()
    config = tmp_path / "config.yaml"
    config.write_text(issuer.issuers_yaml() + generated(source))
    everything = frozenset().union(*(a for _, _, alts in expectations(source) for a in alts))
    checked = 0
    for method, template, alternatives in expectations(source):
        path = request_path(template)
        for concrete in METHODS if method == "ANY" else (method,):
            if not alternatives:
                assert decision(config, issuer.token(everything), concrete, path, capsys) == (
                    "deny (no_route)"
                ), (concrete, template)
                continue
            for needed in alternatives:
                allowed = decision(config, issuer.token(needed), concrete, path, capsys)
                assert allowed == "allow (granted)", (concrete, template, needed)
                for scope in needed:
                    fewer = needed - {scope}
                    if any(alt <= fewer for alt in alternatives):
                        continue
                    refused = decision(config, issuer.token(fewer), concrete, path, capsys)
                    assert refused == "deny (scope_missing)", (concrete, template, fewer)
            checked += 1
    assert checked >= 1


def test_generated_routes_load_with_issuers_and_say_what_the_petstore_grants(
    issuer: Issuer,
) -> None:
    text = generated(VECTORS / "petstore-3.0.yaml")
    config = load_text(issuer.issuers_yaml() + text)
    both = frozenset({"read:pets", "write:pets"})
    assert [(r.key, r.all_scopes, r.any_scopes) for r in config.routes] == [
        (key, both, frozenset())
        for key in (
            "PUT /pet",
            "POST /pet",
            "GET /pet/findByStatus",
            "GET /pet/findByTags",
            "GET /pet/{petId}",
            "POST /pet/{petId}",
            "DELETE /pet/{petId}",
            "POST /pet/{petId}/uploadImage",
        )
    ]
    assert "# not granted: GET /store/inventory (getInventory)" in text
    assert "# not granted: POST /store/order (placeOrder): no security requirement" in text
    assert "# Base path /api/v3: not part of the routes" in text


def test_the_api_gateway_export_lists_its_proxy_route_as_not_granted() -> None:
    result = run("routes-from-openapi", str(VECTORS / "apigateway-lambda-proxy-3.0.json"))
    assert result.returncode == 0
    assert "routes: []" in result.stdout
    assert "# not granted: ANY /{proxy+}: no security requirement" in result.stdout
    assert "warning: ANY /{proxy+}: not granted: no security requirement" in result.stderr


def test_check_passes_generated_routes_and_reports_drift_with_exit_1(
    issuer: Issuer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = VECTORS / "petstore-3.0.yaml"
    config = tmp_path / "config.yaml"
    config.write_text(issuer.issuers_yaml() + generated(source))
    assert main(["check", str(config), "--openapi", str(source)]) == 0
    same = capsys.readouterr().out
    assert "19 operation(s), 8 granted by scopes; 0 difference(s) from the config" in same
    drifted = config.read_text().replace('"DELETE /pet/{petId}"', '"DELETE /pets/{petId}"')
    drifted = drifted.replace(
        '- route: "PUT /pet"\n    all_scopes: ["read:pets", "write:pets"]',
        '- route: "PUT /pet"\n    scopes: ["write:pets"]',
    )
    config.write_text(drifted)
    result = run("check", str(config), "--openapi", str(source))
    assert result.returncode == 1
    assert "3 difference(s) from the config" in result.stdout
    assert "- DELETE /pet/{petId} (deletePet): no rule names it, so it will be denied" in (
        result.stdout
    )
    assert "- PUT /pet (updatePet): scopes differ" in result.stdout
    assert "- rule 'DELETE /pets/{petId}' names no operation of the document" in result.stdout


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    out = tmp_path / "routes.yaml"
    result = run("routes-from-openapi", str(VECTORS / "tictactoe-3.1.yaml"), "-o", str(out))
    assert result.returncode == 0
    assert result.stdout == ""
    assert "3 route(s) written" in result.stderr
    assert '- route: "PUT /board/{row}/{column}"\n    scopes: ["board:write"]' in out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["routes.yaml"]


SMALL_CONFIG = """
issuers: [{issuer: 'https://idp.example', audiences: [a]}]
routes: [{route: GET /x, scopes: [s]}]
"""
BAD = {
    "not OpenAPI": ("openapi_not_openapi", {"issuers": [], "routes": []}),
    "broken $ref": (
        "openapi_ref_unresolvable",
        {
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"responses": {"200": {"$ref": "#/components/responses/No"}}}}},
        },
    ),
    "unknown security scheme": (
        "openapi_scheme_unknown",
        {
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {"/x": {"get": {"security": [{"petstore_auth": ["read:pets"]}]}}},
        },
    ),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_a_bad_document_is_a_clear_error_and_exit_2(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason, doc = BAD[bad]
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(doc))
    out = tmp_path / "routes.yaml"
    out.write_text("routes: [] # kept\n")
    result = run("routes-from-openapi", str(source), "-o", str(out))
    assert result.returncode == 2
    assert f"openapi.json: 1 problem(s) ({reason})" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert out.read_text() == "routes: [] # kept\n"  # nothing half-written
    config = tmp_path / "config.yaml"
    config.write_text(SMALL_CONFIG)
    assert main(["check", str(config), "--openapi", str(source)]) == 2
    assert reason in capsys.readouterr().err


def test_the_published_petstore_31_is_refused_naming_its_mistake() -> None:
    result = run("routes-from-openapi", str(VECTORS / "petstore-3.1.json"))
    assert result.returncode == 2
    assert "$vocabulary: 'https://spec.openapis.org/oas/3.1/schema-base' is not of type" in (
        result.stderr
    )


def test_without_the_parser_the_command_says_what_to_install(tmp_path: Path) -> None:
    fake = tmp_path / "openapi_spec_validator"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ImportError('No module named openapi_spec_validator')\n"
    )
    result = run(
        "routes-from-openapi", str(VECTORS / "tictactoe-3.1.yaml"), pythonpath=f"{tmp_path}:"
    )
    assert result.returncode == 2
    assert f"pip install '{PARSER}'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cold_start_and_plain_check_never_import_the_openapi_code(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(SMALL_CONFIG)
    probe = (
        "import sys\n"
        "import authorizer.handler\n"
        "from authorizer.cli import main\n"
        f"assert main(['check', {str(config)!r}]) == 0\n"
        "heavy = ('authorizer.openapi', 'authorizer.openapi_routes', 'authorizer.drift',\n"
        "         'openapi_spec_validator', 'jsonschema_path', 'jsonschema', 'referencing')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_the_docs_and_requirements_pin_the_parser_the_code_names() -> None:
    assert f"pip install '{PARSER}'" in (ROOT / "docs" / "openapi.md").read_text()
    assert PARSER in (ROOT / "requirements-dev.txt").read_text().splitlines()
