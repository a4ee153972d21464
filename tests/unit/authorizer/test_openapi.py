"""Reading OpenAPI documents: real ones (tests/vectors/openapi, sources in its README),
``servers`` base paths as API Gateway's import reads them, ``$ref`` resolution, and a clear
``OpenApiError`` for every document we cannot use.

Base paths follow "Set the OpenAPI basePath property" in the API Gateway Developer Guide
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-import-api-basePath.html):
a ``basePath`` server variable, else the path of the server URL; ``ignore`` (the default),
``prepend`` (``/a/b/c`` + ``/e`` is ``/a/b/c/e``) and ``split`` (``/b/c/e``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authorizer.base_path import BasePathMode
from authorizer.errors import OpenApiError
from authorizer.openapi import read_document
from tests.support.paths import VECTORS

VECTORS = VECTORS / "openapi"
INFO = {"title": "t", "version": "1"}


def write(tmp_path: Path, doc: Any, name: str = "openapi.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def refused(path: Path) -> OpenApiError:
    with pytest.raises(OpenApiError) as e:
        read_document(path)
    return e.value


def test_the_petstore_gives_every_operation_in_order_with_its_security() -> None:
    doc = read_document(VECTORS / "petstore-3.0.yaml")
    assert (doc.title, doc.openapi, doc.base_path) == (
        "Swagger Petstore - OpenAPI 3.0",
        "3.0.4",
        "/api/v3",
    )
    assert doc.schemes == {"petstore_auth": "oauth2", "api_key": "apiKey"}
    assert [op.label for op in doc.operations][:5] == [
        "PUT /pet (updatePet)",
        "POST /pet (addPet)",
        "GET /pet/findByStatus (findPetsByStatus)",
        "GET /pet/findByTags (findPetsByTags)",
        "GET /pet/{petId} (getPetById)",
    ]
    assert len(doc.operations) == 19
    by_id = {op.operation_id: op for op in doc.operations}
    assert by_id["getPetById"].security == (
        (("api_key", ()),),
        (("petstore_auth", ("write:pets", "read:pets")),),
    )
    assert by_id["getInventory"].security == ((("api_key", ()),),)
    assert by_id["placeOrder"].security is None  # no security here nor at the top


def test_an_api_gateway_export_gives_any_on_a_greedy_path_and_its_stage() -> None:
    doc = read_document(VECTORS / "apigateway-lambda-proxy-3.0.json")
    assert [(op.method, op.path, op.security) for op in doc.operations] == [
        ("ANY", "/{proxy+}", None)
    ]
    assert doc.base_path == "/testStage"  # the `basePath` server variable's default


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("ignore", "/{proxy+}"), ("prepend", "/testStage/{proxy+}"), ("split", "/{proxy+}")],
)
def test_the_stage_in_an_export_is_kept_out_of_routes_unless_asked(
    mode: BasePathMode, expected: str
) -> None:
    doc = read_document(VECTORS / "apigateway-lambda-proxy-3.0.json", mode)
    assert doc.operations[0].path == expected


@pytest.mark.parametrize(
    ("mode", "paths"),
    [
        ("ignore", ["/", "/e", "/f"]),
        ("prepend", ["/a/b/c", "/a/b/c/e", "/a/b/c/f"]),
        ("split", ["/b/c", "/b/c/e", "/b/c/f"]),
    ],
)
def test_base_path_modes_are_api_gateways_import_options(
    tmp_path: Path, mode: BasePathMode, paths: list[str]
) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = {
        "openapi": "3.0.3",
        "info": INFO,
        "servers": [{"url": "https://{host}/a/b/c", "variables": {"host": {"default": "x"}}}],
        "paths": {"/": {"get": ok}, "/e": {"get": ok}, "/f": {"post": ok}},
    }
    read = read_document(write(tmp_path, doc), mode)
    assert read.base_path == "/a/b/c"
    assert [op.path for op in read.operations] == paths


def test_the_tic_tac_toe_31_document_reads_with_alternatives_in_order() -> None:
    doc = read_document(VECTORS / "tictactoe-3.1.yaml")
    assert doc.openapi == "3.1.0"
    assert [(op.label, op.security) for op in doc.operations] == [
        (
            "GET /board (get-board)",
            ((("defaultApiKey", ()),), (("app2AppOauth", ("board:read",)),)),
        ),
        (
            "GET /board/{row}/{column} (get-square)",
            ((("bearerHttpAuthentication", ()),), (("user2AppOauth", ("board:read",)),)),
        ),
        (
            "PUT /board/{row}/{column} (put-square)",
            ((("bearerHttpAuthentication", ()),), (("user2AppOauth", ("board:write",)),)),
        ),
    ]


def test_the_published_petstore_31_is_refused_for_its_vocabulary_mistake() -> None:
    error = refused(VECTORS / "petstore-3.1.json")
    assert error.reason == "openapi_invalid"
    assert error.problems == [
        "$vocabulary: 'https://spec.openapis.org/oas/3.1/schema-base' is not of type 'object'"
    ]


def test_the_petstore_31_with_its_vocabulary_fixed_resolves_refs_by_id(tmp_path: Path) -> None:
    # A documented change to a copy: `$vocabulary` (a string, which JSON Schema forbids)
    # removed. What remains relies on `$ref`s to schemas named by `$id` and `$anchor`.
    doc = json.loads((VECTORS / "petstore-3.1.json").read_text())
    del doc["components"]["schemas"]["PetDetails"]["$vocabulary"]
    read = read_document(write(tmp_path, doc))
    assert [op.label for op in read.operations] == [
        "PUT /pet (updatePet)",
        "POST /pet (addPet)",
        "GET /pet/{petId} (getPetById)",
    ]
    assert read.base_path == "/api/v31"
    assert read.schemes == {
        "petstore_auth": "oauth2",
        "mutual_tls": "mutualTLS",
        "api_key": "apiKey",
    }


def test_top_level_security_is_the_default_and_an_empty_list_overrides_it(tmp_path: Path) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = {
        "openapi": "3.1.0",
        "info": INFO,
        "security": [{"oidc": ["orders:read"]}],
        "paths": {"/orders": {"get": ok, "post": {**ok, "security": []}}},
        "components": {
            "securitySchemes": {
                "oidc": {
                    "type": "openIdConnect",
                    "openIdConnectUrl": "https://idp.example/.well-known/openid-configuration",
                }
            }
        },
    }
    get, post = read_document(write(tmp_path, doc)).operations
    assert get.security == ((("oidc", ("orders:read",)),),)
    assert post.security == ()


def test_refs_to_path_items_and_schemes_in_other_files_resolve(tmp_path: Path) -> None:
    (tmp_path / "parts.yaml").write_text(
        "orders:\n  get:\n    security: [{oauth: [orders:read]}]\n"
        "    responses: {'200': {description: ok}}\n"
        "oauth:\n  type: oauth2\n  flows:\n    clientCredentials:\n"
        "      tokenUrl: https://idp.example/token\n      scopes: {orders:read: read}\n"
    )
    doc = {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": {"/orders": {"$ref": "parts.yaml#/orders"}},
        "components": {"securitySchemes": {"oauth": {"$ref": "parts.yaml#/oauth"}}},
    }
    read = read_document(write(tmp_path, doc))
    assert [(op.label, op.security) for op in read.operations] == [
        ("GET /orders", ((("oauth", ("orders:read",)),),))
    ]
    assert read.schemes == {"oauth": "oauth2"}


def test_extensions_beside_paths_and_methods_are_not_operations(tmp_path: Path) -> None:
    ok = {"responses": {"200": {"description": "ok"}}}
    doc = {
        "openapi": "3.0.3",
        "info": INFO,
        "paths": {"x-owner": {"get": ok}, "/a": {"x-note": 1, "summary": "s", "get": ok}},
    }
    assert [op.label for op in read_document(write(tmp_path, doc)).operations] == ["GET /a"]


def test_a_yaml_date_stays_a_string_as_in_json(tmp_path: Path) -> None:
    text = "openapi: 3.0.3\ninfo: {title: t, version: 2016-09-12}\npaths: {}\n"
    assert read_document(write(tmp_path, text, "openapi.yaml")).operations == ()


@pytest.mark.parametrize(
    ("doc", "reason", "says"),
    [
        ("[1, 2]", "openapi_not_openapi", "not a mapping"),
        ({"issuers": [], "routes": []}, "openapi_not_openapi", "no 'openapi' version field"),
        ("key: [unclosed", "openapi_not_openapi", "not valid YAML or JSON"),
        ('{"openapi": ', "openapi_not_openapi", "not valid JSON"),
        (
            {"swagger": "2.0", "info": INFO, "paths": {}},
            "openapi_unsupported",
            "--export-type oas30",
        ),
        ({"openapi": "4.0.0", "info": INFO, "paths": {}}, "openapi_unsupported", "3.0.x and 3.1.x"),
        ({"openapi": "3.0.3", "paths": {}}, "openapi_invalid", "'info' is a required property"),
    ],
)
def test_documents_that_are_not_openapi_3_are_refused_clearly(
    tmp_path: Path, doc: Any, reason: str, says: str
) -> None:
    error = refused(write(tmp_path, doc, "doc.yaml"))
    assert error.reason == reason
    assert says in str(error)


def test_a_broken_ref_is_refused_naming_it(tmp_path: Path) -> None:
    doc = {
        "openapi": "3.0.3",
        "info": INFO,
        "paths": {
            "/pets": {"get": {"responses": {"200": {"$ref": "#/components/responses/Gone"}}}}
        },
    }
    error = refused(write(tmp_path, doc))
    assert error.reason == "openapi_ref_unresolvable"
    assert "/components/responses/Gone" in str(error)
    assert "points to nothing" in str(error)


def test_a_ref_to_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    doc = {"openapi": "3.1.0", "info": INFO, "paths": {"/pets": {"$ref": "missing.yaml#/pets"}}}
    error = refused(write(tmp_path, doc))
    assert error.reason == "openapi_ref_unresolvable"
    assert "missing.yaml" in str(error)


def test_remote_refs_are_never_fetched(tmp_path: Path) -> None:
    # A closed port on loopback: were the ref fetched, the error would say "refused".
    doc = {
        "openapi": "3.1.0",
        "info": INFO,
        "paths": {"/p": {"$ref": "https://127.0.0.1:9/p.yaml"}},
    }
    error = refused(write(tmp_path, doc))
    assert error.reason == "openapi_ref_unresolvable"
    assert "remote references are not fetched" in str(error)


def test_every_validation_problem_is_listed_without_the_whole_document(tmp_path: Path) -> None:
    doc = {
        "openapi": "3.0.3",
        "info": INFO,
        "paths": {"/a": {"get": {"responses": "no"}}, "/b": {"put": {"responses": 7}}},
    }
    error = refused(write(tmp_path, doc))
    assert error.reason == "openapi_invalid"
    assert len(error.problems) >= 2
    assert all(len(p) < 400 for p in error.problems)


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    error = refused(tmp_path / "nope.yaml")
    assert error.reason == "openapi_unreadable"
    assert "nope.yaml" in str(error)
    (tmp_path / "latin1.yaml").write_bytes(b"openapi: 3.0.3\ninfo: {title: caf\xe9}\n")
    assert refused(tmp_path / "latin1.yaml").reason == "openapi_unreadable"
