"""Operations and their security requirements, read from an OpenAPI 3.0 or 3.1 document.

A pre-deploy tool: nothing on the Lambda path imports this module. The parser it uses,
openapi-spec-validator (with jsonschema-path and referencing to resolve ``$ref``), is
imported only when a document is read, so the function bundle neither ships nor loads it;
the command line's users install it (``PARSER``, see docs/openapi.md).

``$ref`` may point into the document or to files beside it; remote (``http``/``https``)
references are refused, so reading a document never reaches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, cast
from urllib.parse import urljoin

from authorizer.base_path import BasePathMode, base_path_of, with_base
from authorizer.errors import OpenApiError

if TYPE_CHECKING:
    from jsonschema_path import SchemaPath

ANY_METHOD = "x-amazon-apigateway-any-method"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PARSER = "openapi-spec-validator==0.9.0"  # what users install to run the OpenAPI commands
_VERSION = re.compile(r"3\.[01]\.\d+")
_MAX_ERRORS = 20
_MAX_MESSAGE = 300
# One Security Requirement Object: (scheme name, scopes) pairs, all of which must hold.
Requirement = tuple[tuple[str, tuple[str, ...]], ...]


class _ValidationError(Protocol):
    """What we read of jsonschema's ``ValidationError`` (the validator's errors)."""

    message: str
    absolute_path: Sequence[object]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # GET, POST... or ANY (x-amazon-apigateway-any-method); TRACE is kept as is
    path: str  # the API Gateway resource path: the document's path, base path applied
    operation_id: str | None
    security: tuple[Requirement, ...] | None  # None: no `security` here nor at the top

    @property
    def label(self) -> str:
        where = f"{self.method} {self.path}"
        return f"{where} ({self.operation_id})" if self.operation_id else where


@dataclass(frozen=True, slots=True)
class ApiDocument:
    title: str
    openapi: str  # the document's `openapi` version
    base_path: str  # the base path `servers` gives ("" for none), applied or not
    schemes: Mapping[str, str]  # security scheme name -> its `type`
    operations: tuple[Operation, ...]


def read_document(path: str | Path, base_path: BasePathMode = "ignore") -> ApiDocument:
    """Read, validate and resolve a document, or raise ``OpenApiError`` naming the fault.

    ``base_path`` follows API Gateway's import option of the same name: ``ignore`` (its
    default) leaves paths as they are, ``prepend`` puts the base path before each path,
    ``split`` puts all of it but its first segment (the stage) there.
    """
    try:
        import openapi_spec_validator  # noqa: F401 - only to say what is missing
    except ImportError as e:
        raise OpenApiError(
            f"reading OpenAPI documents needs {PARSER}: pip install '{PARSER}'",
            reason="openapi_parser_missing",
        ) from e
    file = Path(path).resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise OpenApiError(f"cannot read {str(path)!r}: {why}", reason="openapi_unreadable") from e
    doc = _parse(text)
    version = _version(doc)
    spec = _validated(doc, file.as_uri(), version)
    base = base_path_of(doc)
    try:
        schemes = {}
        if "components" in spec and "securitySchemes" in spec / "components":
            for name, scheme in (spec / "components" / "securitySchemes").str_items():
                schemes[name] = str((scheme / "type").read_value())
        operations = tuple(_operations(spec, doc.get("security"), base, base_path))
    except Exception as e:  # noqa: BLE001 - after validation, only $ref errors are expected
        _refused(e)
    return ApiDocument(str(doc["info"]["title"]), version, base, schemes, operations)


def _parse(text: str) -> Any:
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError as e:
            raise OpenApiError(f"not valid JSON: {e}", reason="openapi_not_openapi") from e
    import yaml
    from jsonschema_path.loaders import JsonschemaSafeLoader

    try:  # a SafeLoader that keeps dates as strings, as JSON would
        return yaml.load(text, Loader=cast("type[yaml.SafeLoader]", JsonschemaSafeLoader))  # noqa: S506
    except yaml.YAMLError as e:
        raise OpenApiError(f"not valid YAML or JSON: {e}", reason="openapi_not_openapi") from e


def _version(doc: Any) -> str:
    if not isinstance(doc, dict):
        raise OpenApiError("not an OpenAPI document (not a mapping)", reason="openapi_not_openapi")
    if "swagger" in doc:
        raise OpenApiError(
            "Swagger 2.0 is not supported: use an OpenAPI 3 document "
            "(aws apigateway get-export --export-type oas30)",
            reason="openapi_unsupported",
        )
    version = doc.get("openapi")
    if not isinstance(version, str):
        raise OpenApiError(
            "not an OpenAPI document (no 'openapi' version field)", reason="openapi_not_openapi"
        )
    if not _VERSION.fullmatch(version):
        raise OpenApiError(
            f"OpenAPI {version} is not supported (3.0.x and 3.1.x are)",
            reason="openapi_unsupported",
        )
    return version


def _validated(doc: dict[str, Any], base_uri: str, version: str) -> SchemaPath:
    """The document as a ``SchemaPath`` that resolves ``$ref``, once the validator passed it."""
    from jsonschema_path import SchemaPath
    from jsonschema_path.accessors import SchemaAccessor
    from jsonschema_path.handlers.urllib import UrllibHandler
    from jsonschema_path.retrievers import SchemaRetriever
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    handlers = {"file": UrllibHandler("file"), "http": _remote, "https": _remote}
    retrieve = SchemaRetriever(handlers, DRAFT202012)
    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    registry = registry.with_resource(base_uri, DRAFT202012.create_resource(doc))
    schemas = (doc.get("components") or {}).get("schemas") or {}
    for schema in schemas.values() if isinstance(schemas, dict) else ():
        if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
            # OpenAPI 3.1 schemas may name themselves with `$id`; `$ref`s use that name.
            uri = urljoin(base_uri, schema["$id"])
            registry = registry.with_resource(uri, DRAFT202012.create_resource(schema))
    spec = SchemaPath(SchemaAccessor(doc, registry.resolver(base_uri=base_uri)))
    cls = OpenAPIV30SpecValidator if version.startswith("3.0") else OpenAPIV31SpecValidator
    errors: list[_ValidationError] = []
    try:
        for error in cls(spec).iter_errors():
            errors.append(error)
            if len(errors) == _MAX_ERRORS:
                break
    except Exception as e:  # noqa: BLE001 - referencing raises Unresolvable out of validation
        # The validator's own checks, which run after the schema's, assume a document that
        # passed the schema and may fail on one that did not: what it found is the answer.
        if not errors:
            _refused(e)
    if errors:
        problems = [_described(e) for e in errors]
        raise OpenApiError(
            f"not a valid OpenAPI {version} document: {problems[0]}",
            reason="openapi_invalid",
            problems=problems,
        )
    return spec


def _remote(uri: str) -> NoReturn:
    raise ValueError("remote references are not fetched: save that file beside the document")


def _refused(e: Exception) -> NoReturn:
    """An ``OpenApiError`` for what went wrong inside the parser: a ``$ref`` it cannot
    resolve, or (never a traceback) its own failure on a document it cannot handle."""
    from referencing.exceptions import PointerToNowhere, Unresolvable, Unretrievable

    if not isinstance(e, Unresolvable):
        raise OpenApiError(
            f"openapi-spec-validator cannot read the document ({e!r})", reason="openapi_invalid"
        ) from e
    chain: list[BaseException] = [e]
    while (inner := chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(inner)
    why = "cannot be resolved"
    for link in chain:
        if isinstance(link, PointerToNowhere):
            why = "points to nothing"
            break
        if isinstance(link, Unretrievable):
            why = f"cannot be read ({link.__cause__ or link.__context__})"
            break
    raise OpenApiError(f"$ref {e.ref!r} {why}", reason="openapi_ref_unresolvable") from e


def _described(error: _ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    message = error.message
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return f"{where}: {message}" if where else message


def _operations(spec: SchemaPath, default: Any, base: str, mode: BasePathMode) -> list[Operation]:
    found: list[Operation] = []
    if "paths" not in spec:
        return found
    for template, item in (spec / "paths").str_items():
        if not template.startswith("/"):
            continue  # an x-... extension of the Paths Object
        path = with_base(template, base, mode)
        for key, op in item.str_items():
            if key != ANY_METHOD and key not in HTTP_METHODS:
                continue  # parameters, servers, summary, x-... of the path item
            method = "ANY" if key == ANY_METHOD else key.upper()
            op_id = (op / "operationId").read_value() if "operationId" in op else None
            raw = (op / "security").read_value() if "security" in op else default
            security = None
            if raw is not None:
                security = tuple(
                    tuple((name, tuple(scopes)) for name, scopes in req.items()) for req in raw
                )
            found.append(Operation(method, path, op_id, security))
    return found
