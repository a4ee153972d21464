"""The identity-provider client against a real HTTP server on 127.0.0.1 with scripted answers."""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from token_broker import assertion
from token_broker.assertion import client_assertion
from token_broker.config import AuthMethod, ClientConfig
from token_broker.credentials import Credentials
from token_broker.errors import ConfigError, InvalidClient, Unavailable, UpstreamError
from token_broker.upstream import (
    ASSERTION_TYPE,
    DISCOVERY_PATH,
    UNAVAILABLE_RETRY_AFTER,
    IdpClient,
    UpstreamToken,
)

CLIENT_ID = "orders client"
SECRET = ":+&%=/é x"  # every character RFC 6749 section 2.3.1 makes us encode
TOKEN = "tok-7f3a9c-never-in-a-message"
OK: dict[str, Any] = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300}


@dataclasses.dataclass
class Answer:
    status: int = 200
    body: bytes | dict[str, Any] | list[Any] = dataclasses.field(default_factory=lambda: OK)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False  # close the connection with a TCP reset instead of answering
    drip: bool = False  # send the whole answer one byte per 50 ms


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        fields = parse_qs(self.body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
        assert all(len(v) == 1 for v in fields.values())
        return {k: v[0] for k, v in fields.items()}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and broken pipes are the point of some tests


class IdpServer:
    """Records every request; answers each path from its script, repeating the last answer."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.answer(self)

            def do_POST(self) -> None:
                server.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.token_url = f"{self.origin}/token"
        self.scripts: dict[str, list[Answer]] = {
            "/token": [Answer()],
            DISCOVERY_PATH: [
                Answer(body={"issuer": self.origin, "token_endpoint": self.token_url})
            ],
        }
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def hits(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    @property
    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        path = urlsplit(handler.path).path
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self.seen.append(Seen(handler.command, path, headers, body))
        script = self.scripts.get(path) or [Answer(404, b"")]
        answer = script.pop(0) if len(script) > 1 else script[0]
        time.sleep(answer.delay)
        if answer.reset:
            linger = struct.pack("ii", 1, 0)
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            handler.connection.close()
            handler.close_connection = True
            return
        data = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
        head = [f"HTTP/1.1 {answer.status} Scripted", f"Content-Length: {len(data)}"]
        head += ["Content-Type: application/json", "Connection: close"]
        head += [f"{k}: {v}" for k, v in answer.headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
        handler.close_connection = True
        try:
            if not answer.drip:
                handler.wfile.write(raw)
                return
            for i in range(len(raw)):
                handler.wfile.write(raw[i : i + 1])
                time.sleep(0.05)
        except OSError:
            pass  # the client gave up


@pytest.fixture
def idp() -> Iterator[IdpServer]:
    server = IdpServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def config(
    idp: IdpServer,
    auth: AuthMethod = "client_secret_basic",
    *,
    discovery: bool = False,
    resource: str | None = None,
    audience: str | None = None,
) -> ClientConfig:
    endpoint = None if discovery else idp.token_url
    issuer = idp.origin if discovery else None
    return ClientConfig(
        "orders-api", "scopegate/orders-api", issuer, endpoint, auth, resource, audience
    )


def basic() -> Credentials:
    return Credentials(CLIENT_ID, client_secret=SECRET)


def client(**kwargs: Any) -> IdpClient:
    kwargs.setdefault("rng", lambda: 0.0)
    return IdpClient(**kwargs)


def soon(seconds: float = 5.0) -> float:
    return time.time() + seconds


@cache
def pem(kind: str) -> str:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    if kind == "RSA2048":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif kind == "RSA1024":
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
    elif kind == "Ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        key = ec.generate_private_key({"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}[kind]())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_key(kind: str) -> Any:
    return serialization.load_pem_private_key(pem(kind).encode(), None).public_key()


# -- client authentication ---------------------------------------------------------------


def test_basic_auth_form_encodes_id_and_secret_before_base64(idp: IdpServer) -> None:
    client().request_token(config(idp), basic(), ["orders:read"], deadline=soon())

    (seen,) = idp.posts
    expected = base64.b64encode(b"orders+client:%3A%2B%26%25%3D%2F%C3%A9+x").decode()
    assert seen.headers["authorization"] == f"Basic {expected}"
    user, password = base64.b64decode(expected).decode().split(":", 1)
    assert (unquote_plus(user), unquote_plus(password)) == (CLIENT_ID, SECRET)
    assert seen.form == {"grant_type": "client_credentials", "scope": "orders:read"}
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"


def test_post_auth_sends_id_and_secret_in_the_body(idp: IdpServer) -> None:
    client().request_token(config(idp, "client_secret_post"), basic(), [], deadline=soon())

    (seen,) = idp.posts
    assert "authorization" not in seen.headers
    assert seen.form == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
    }


@pytest.mark.parametrize(("kind", "alg"), [("RSA2048", "RS256"), ("P-256", "ES256")])
def test_private_key_jwt_sends_a_fresh_signed_assertion(
    idp: IdpServer, kind: str, alg: str
) -> None:
    credentials = Credentials(CLIENT_ID, private_key=pem(kind), kid="key-1")
    idp_client = client()
    for _ in range(2):
        idp_client.request_token(config(idp, "private_key_jwt"), credentials, [], deadline=soon())

    jtis = set()
    for seen in idp.posts:
        form = seen.form
        assert form["client_id"] == CLIENT_ID
        assert form["client_assertion_type"] == ASSERTION_TYPE
        assert "authorization" not in seen.headers
        token = form["client_assertion"]
        assert jwt.get_unverified_header(token) == {"alg": alg, "typ": "JWT", "kid": "key-1"}
        claims = jwt.decode(
            token,
            public_key(kind),
            algorithms=[alg],
            audience=idp.token_url,
            issuer=CLIENT_ID,
            options={"require": ["exp", "iat", "jti", "sub"]},
        )
        assert claims["sub"] == CLIENT_ID
        assert 0 < claims["exp"] - claims["iat"] <= 60
        jtis.add(claims["jti"])
    assert len(jtis) == 2


def test_each_attempt_gets_its_own_assertion(idp: IdpServer) -> None:
    idp.script("/token", Answer(500, b"down"), Answer())
    credentials = Credentials(CLIENT_ID, private_key=pem("P-256"))
    client().request_token(config(idp, "private_key_jwt"), credentials, [], deadline=soon())

    first, second = (s.form["client_assertion"] for s in idp.posts)
    assert first != second


@pytest.mark.parametrize("kind", ["RSA1024", "P-384", "Ed25519"])
def test_keys_other_than_rsa_2048_or_p256_are_a_config_error(kind: str) -> None:
    credentials = Credentials("app-42", private_key=pem(kind))
    with pytest.raises(ConfigError, match="app-42") as refused:
        client_assertion(credentials, "https://idp.example.com/token", now=time.time())
    assert "PRIVATE KEY" not in str(refused.value)


def test_a_pem_that_does_not_load_is_a_config_error_without_the_pem() -> None:
    garbage = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigError, match="app-42") as refused:
        client_assertion(Credentials("app-42", private_key=garbage), "https://x/t", now=0)
    assert "c2VjcmV0" not in str(refused.value)


def test_loaded_keys_are_cached_within_a_bound() -> None:
    for _ in range(assertion.CACHE_SIZE + 5):
        key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        client_assertion(Credentials("app", private_key=key.decode()), "https://x/t", now=0)
    assert len(assertion._keys) == assertion.CACHE_SIZE


@pytest.mark.parametrize(
    ("auth", "credentials"),
    [
        ("client_secret_basic", Credentials(CLIENT_ID, private_key="pem")),
        ("client_secret_post", Credentials(CLIENT_ID, private_key="pem")),
        ("private_key_jwt", Credentials(CLIENT_ID, client_secret=SECRET)),
    ],
)
def test_credentials_missing_what_the_method_needs_are_a_config_error(
    idp: IdpServer, auth: AuthMethod, credentials: Credentials
) -> None:
    with pytest.raises(ConfigError, match="orders-api"):
        client().request_token(config(idp, auth), credentials, [], deadline=soon())
    assert idp.seen == []


# -- the request ---------------------------------------------------------------------------


def test_resource_and_audience_are_sent_only_when_configured(idp: IdpServer) -> None:
    idp_client = client()
    idp_client.request_token(config(idp), basic(), ["a:1", "b:2"], deadline=soon())
    targeted = config(idp, resource="api://orders", audience="https://orders.example.com")
    idp_client.request_token(targeted, basic(), ["a:1"], deadline=soon())

    plain, both = (s.form for s in idp.posts)
    assert plain == {"grant_type": "client_credentials", "scope": "a:1 b:2"}
    assert both["resource"] == "api://orders"
    assert both["audience"] == "https://orders.example.com"


def test_a_token_comes_back_as_the_idp_said(idp: IdpServer) -> None:
    idp.script("/token", Answer(body={**OK, "token_type": "bearer", "scope": "orders:read"}))
    token = client().request_token(config(idp), basic(), ["orders:read"], deadline=soon())

    assert token == UpstreamToken(TOKEN, "Bearer", 300, "orders:read")
    assert TOKEN not in repr(token)


def test_without_expires_in_a_jwt_lifetime_comes_from_exp(idp: IdpServer) -> None:
    access = jwt.encode({"exp": 1120, "sub": "x"}, "k" * 32, algorithm="HS256")
    idp.script("/token", Answer(body={"access_token": access, "token_type": "Bearer"}))
    idp_client = client(clock=lambda: 1000.0)
    token = idp_client.request_token(config(idp), basic(), [], deadline=1010.0)

    assert token.expires_in == 120
    assert token.scope is None


# -- retries, timeouts and the deadline ---------------------------------------------------------


@pytest.mark.parametrize(
    "failure", [Answer(500, b"down"), Answer(reset=True)], ids=["5xx", "connection-reset"]
)
def test_one_retry_after_a_5xx_or_a_connection_reset(idp: IdpServer, failure: Answer) -> None:
    idp.script("/token", failure, Answer())
    pauses: list[float] = []
    idp_client = client(sleep=pauses.append, rng=lambda: 0.5)

    assert idp_client.request_token(config(idp), basic(), [], deadline=soon()).access_token == TOKEN
    assert idp.hits("/token") == 2
    assert (idp_client.calls, idp_client.errors) == (2, 1)
    assert pauses == [pytest.approx(0.2)]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (Answer(400, {"error": "invalid_request"}), UpstreamError),
        (Answer(401, {"error": "invalid_client"}), InvalidClient),
        (Answer(429, b""), Unavailable),
    ],
)
def test_no_retry_after_a_4xx(idp: IdpServer, answer: Answer, error: type[Exception]) -> None:
    idp.script("/token", answer)
    with pytest.raises(error):
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert idp.hits("/token") == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("17", 17), ("0", 1), ("in 120 s", 120), ("soon, maybe", 5)],
)
def test_rate_limiting_is_unavailable_with_the_idps_retry_after(
    idp: IdpServer, value: str, seconds: int
) -> None:
    if value == "in 120 s":
        value = email.utils.formatdate(time.time() + 120, usegmt=True)  # an HTTP-date
    idp.script("/token", Answer(429, b"", headers={"Retry-After": value}))
    with pytest.raises(Unavailable) as limited:
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert limited.value.reason == "idp_rate_limited"
    assert limited.value.retry_after == pytest.approx(seconds, abs=2)


def test_two_5xx_are_unavailable_with_the_idps_retry_after(idp: IdpServer) -> None:
    idp.script("/token", Answer(503, b"busy", headers={"Retry-After": "9"}))
    idp_client = client()
    with pytest.raises(Unavailable) as down:
        idp_client.request_token(config(idp), basic(), [], deadline=soon())
    assert (down.value.reason, down.value.retry_after) == ("idp_unavailable", 9)
    assert idp.hits("/token") == 2
    assert (idp_client.calls, idp_client.errors) == (2, 2)


def test_unreachable_is_unavailable_with_a_small_default_retry_after(idp: IdpServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    gone = dataclasses.replace(config(idp), token_endpoint=f"http://127.0.0.1:{port}/token")
    with pytest.raises(Unavailable) as down:
        client().request_token(gone, basic(), [], deadline=soon())
    assert down.value.retry_after == UNAVAILABLE_RETRY_AFTER
    assert isinstance(down.value.__cause__, Exception)


def test_a_slow_idp_times_out_each_attempt(idp: IdpServer) -> None:
    idp.script("/token", Answer(delay=1.0))
    started = time.monotonic()
    with pytest.raises(Unavailable):
        client(timeout=0.2).request_token(config(idp), basic(), [], deadline=soon())
    assert time.monotonic() - started < 0.9  # two attempts of 0.2 s and one pause of 0.1 s
    assert idp.hits("/token") == 2


def test_an_idp_dripping_its_answer_still_times_out(idp: IdpServer) -> None:
    idp.script("/token", Answer(drip=True))
    started = time.monotonic()
    with pytest.raises(Unavailable):
        client(timeout=0.3).request_token(config(idp), basic(), [], deadline=soon())
    assert time.monotonic() - started < 1.2  # every byte arrives well within the socket timeout


def test_the_call_returns_by_the_deadline(idp: IdpServer) -> None:
    idp.script("/token", Answer(delay=2.0))
    started = time.monotonic()
    with pytest.raises(Unavailable):
        client(timeout=3.0).request_token(config(idp), basic(), [], deadline=soon(0.5))
    assert time.monotonic() - started < 0.8
    assert idp.hits("/token") == 1  # no time left for a retry


def test_no_attempt_starts_after_the_deadline(idp: IdpServer) -> None:
    idp_client = client()
    with pytest.raises(Unavailable, match="deadline"):
        idp_client.request_token(config(idp), basic(), [], deadline=time.time() - 1)
    assert idp.seen == []
    assert idp_client.calls == 0


# -- refusals and nonsense ----------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        Answer(400, {"error": "invalid_client"}),
        Answer(401, {"error": "invalid_client", "error_description": "bad secret"}),
        Answer(401, b""),
    ],
)
def test_invalid_client_is_its_own_error(idp: IdpServer, answer: Answer) -> None:
    idp.script("/token", answer)
    with pytest.raises(InvalidClient) as refused:
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert refused.value.reason == "idp_invalid_client"
    assert "bad secret" not in str(refused.value)


def test_other_oauth_errors_name_the_code_but_never_the_description(idp: IdpServer) -> None:
    description = f"scope admin is not allowed for {CLIENT_ID} with secret {SECRET}"
    idp.script("/token", Answer(400, {"error": "invalid_scope", "error_description": description}))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp), basic(), ["admin"], deadline=soon())

    message = str(refused.value)
    assert "invalid_scope" in message
    assert "orders-api" in message
    for leaked in ("not allowed", SECRET, CLIENT_ID, "admin"):
        assert leaked not in message
    assert type(refused.value) is UpstreamError
    assert refused.value.status == 502


@pytest.mark.parametrize(
    "code", ['quote"d', "new\nline", "back\\slash", "x" * 65, "é", 42, None, ["invalid_scope"]]
)
def test_error_codes_outside_the_rfc_charset_are_not_echoed(idp: IdpServer, code: object) -> None:
    idp.script("/token", Answer(403, {"error": code}))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert str(refused.value).endswith("(HTTP 403)")


@pytest.mark.parametrize(
    "body",
    [
        b"<html>oops</html>",
        [OK],
        {"token_type": "Bearer", "expires_in": 300},
        {**OK, "access_token": ""},
        {**OK, "token_type": "mac"},
        {**OK, "token_type": None},
        {**OK, "expires_in": "300"},
        {**OK, "expires_in": True},
        {**OK, "expires_in": 0},
        {**OK, "expires_in": 299.5},
        {"access_token": TOKEN, "token_type": "Bearer"},  # opaque, no expires_in
        {**OK, "scope": ["orders:read"]},
        {**OK, "pad": "x" * (1 << 20)},  # over 1 MiB
    ],
)
def test_malformed_success_answers_are_upstream_errors(
    idp: IdpServer, body: bytes | dict[str, Any] | list[Any]
) -> None:
    idp.script("/token", Answer(200, body))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert refused.value.reason == "idp_malformed"
    assert TOKEN not in str(refused.value)


def test_redirects_are_not_followed(idp: IdpServer) -> None:
    idp.script("/token", Answer(302, b"", headers={"Location": f"{idp.origin}/elsewhere"}))
    with pytest.raises(UpstreamError):
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert [s.path for s in idp.seen] == ["/token"]


# -- the token endpoint and discovery --------------------------------------------------------


def test_discovery_is_cached_per_issuer(idp: IdpServer) -> None:
    now = [1000.0]
    idp_client = client(clock=lambda: now[0], discovery_ttl=60.0)
    for _ in range(2):
        idp_client.request_token(config(idp, discovery=True), basic(), [], deadline=now[0] + 5)
    assert (idp.hits(DISCOVERY_PATH), idp.hits("/token")) == (1, 2)
    assert idp_client.calls == 3

    now[0] += 61
    assert idp_client.token_endpoint(config(idp, discovery=True), now[0] + 5) == idp.token_url
    assert idp.hits(DISCOVERY_PATH) == 2


def test_a_configured_token_endpoint_wins_without_discovery(idp: IdpServer) -> None:
    both = dataclasses.replace(config(idp), issuer=idp.origin)
    client().request_token(both, basic(), [], deadline=soon())
    assert [s.path for s in idp.seen] == ["/token"]


@pytest.mark.parametrize(
    "document",
    [
        {"issuer": "http://127.0.0.1:1", "token_endpoint": "http://127.0.0.1:1/token"},
        {"token_endpoint": "http://127.0.0.1:1/token"},
        {"issuer": "ISSUER", "token_endpoint": "http://idp.example.com/token"},
        {"issuer": "ISSUER"},
        [],
    ],
    ids=["other-issuer", "no-issuer", "plain-http", "no-endpoint", "not-an-object"],
)
def test_a_bad_discovery_document_is_refused(idp: IdpServer, document: Any) -> None:
    if isinstance(document, dict) and document.get("issuer") == "ISSUER":
        document = {**document, "issuer": idp.origin}
    idp.script(DISCOVERY_PATH, Answer(body=document))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp, discovery=True), basic(), [], deadline=soon())
    assert refused.value.reason == "idp_discovery_invalid"
    assert idp.hits("/token") == 0


def test_discovery_that_fails_is_not_cached(idp: IdpServer) -> None:
    idp.script(
        DISCOVERY_PATH,
        Answer(404, b""),
        Answer(body={"issuer": idp.origin, "token_endpoint": idp.token_url}),
    )
    idp_client = client()
    with pytest.raises(UpstreamError):
        idp_client.token_endpoint(config(idp, discovery=True), soon())
    assert idp_client.token_endpoint(config(idp, discovery=True), soon()) == idp.token_url


def test_an_unreachable_discovery_is_unavailable(idp: IdpServer) -> None:
    idp.script(DISCOVERY_PATH, Answer(reset=True))
    with pytest.raises(Unavailable):
        client().token_endpoint(config(idp, discovery=True), soon())
    assert idp.hits(DISCOVERY_PATH) == 2


@pytest.mark.parametrize("discovery", [False, True], ids=["token_endpoint", "issuer"])
def test_plain_http_off_loopback_is_a_config_error(idp: IdpServer, discovery: bool) -> None:
    url = "http://idp.example.com/oauth2"
    bad = config(idp, discovery=discovery)
    if discovery:
        bad = dataclasses.replace(bad, issuer=url)
    else:
        bad = dataclasses.replace(bad, token_endpoint=url)
    with pytest.raises(ConfigError, match="https"):
        client().request_token(bad, basic(), [], deadline=soon())


# -- answers nested or sized to break a JSON parser ---------------------------------------

NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, NESTED, "idp_malformed"),
        (200, b'{"access_token": ' + NESTED + b"}", "idp_malformed"),
        (400, b'{"error": ' + NESTED + b"}", "idp_error"),  # a refusal without a code
        (200, json.dumps({**OK, "n": 0}).encode()[:-2] + b"9" * 5000 + b"}", "idp_malformed"),
    ],
    ids=["nested", "nested-member", "nested-error", "huge-int"],
)
def test_an_answer_that_breaks_the_json_parser_is_an_upstream_error(
    idp: IdpServer, status: int, body: bytes, reason: str
) -> None:
    idp.script("/token", Answer(status, body))
    with pytest.raises(UpstreamError) as refused:  # 502 upstream_error, never a 500
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert refused.value.reason == reason
    assert idp.hits("/token") == 1


def test_a_jwt_access_token_with_a_nested_payload_is_not_a_lifetime(idp: IdpServer) -> None:
    # Without expires_in the lifetime is read from the JWT's exp: a payload nested beyond
    # the parser is no JWT to read, so the answer is malformed (502), not a 500.
    payload = base64.urlsafe_b64encode(NESTED).rstrip(b"=").decode()
    token = f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln"
    idp.script("/token", Answer(200, {"access_token": token, "token_type": "Bearer"}))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp), basic(), [], deadline=soon())
    assert refused.value.reason == "idp_malformed"


def test_a_nested_discovery_document_is_refused(idp: IdpServer) -> None:
    idp.script(DISCOVERY_PATH, Answer(body=NESTED))
    with pytest.raises(UpstreamError) as refused:
        client().request_token(config(idp, discovery=True), basic(), [], deadline=soon())
    assert refused.value.reason == "idp_discovery_invalid"
