"""The task client as a task installs it: the ``scopegate-client`` wheel, built from this
repository, in a clean virtual environment, getting tokens from the local stack.

``python -m build`` makes the sdist and, from it, the wheel (as a release would); the
clean environment installs the client the way docs/task-client.md tells users to, from
the clone's ``packages/scopegate-client`` with both extras. Neither environment sees this
repository's ``src/`` (no ``PYTHONPATH``, run from an empty directory) nor reaches beyond
127.0.0.1: pip takes the dependencies and the build backend from the wheelhouse that
``make client-wheelhouse`` fetched (``--no-index``), at the versions .venv holds.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

from tests.e2e.conftest import call
from tools.local import world
from tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "packages" / "scopegate-client"
PROJECT = tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DIST_INFO = f"scopegate_client-{PROJECT['version']}.dist-info"
WHEELHOUSE = ROOT / ".venv" / "client-wheelhouse"
SOURCE = ROOT / "src" / "token_broker" / "client"
FROM_THE_CLONE = "./packages/scopegate-client[requests,httpx]"  # as docs/task-client.md shows
CLIENT_FILES = sorted(
    f"token_broker/client/{p.name}" for p in [*SOURCE.glob("*.py"), SOURCE / "py.typed"]
)
# botocore's own dependencies: all that the base install may bring besides the client.
BOTOCORE_CLOSURE = {"scopegate-client", "botocore", "jmespath", "python-dateutil", "six", "urllib3"}

LIBRARY = """
import json, os
from token_broker.client import BrokerClient
broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])
token = broker.get_token_response("orders:read")
print(json.dumps({"token": token.access_token, "scope": token.scope,
                  "cached": broker.get_token("orders:read") == token.access_token,
                  "region": broker.region}))
"""
REQUESTS = """
import json, os, requests
from token_broker.client import BrokerClient
from token_broker.client.requests_auth import BrokerRequestsAuth
broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])
with requests.Session() as http:
    http.auth = BrokerRequestsAuth(broker, "orders:read")
    read = http.get(os.environ["API_URL"] + "/orders/42", timeout=10)
    write = http.post(os.environ["API_URL"] + "/orders", json={}, timeout=10)
print(json.dumps([read.status_code, read.json()["authorizer"]["client_id"], write.status_code]))
"""
HTTPX = """
import asyncio, json, os, httpx
from token_broker.client import BrokerClient
from token_broker.client.httpx_auth import BrokerHttpxAuth
broker = BrokerClient(os.environ["SCOPEGATE_BROKER_URL"])
api = os.environ["API_URL"]
with httpx.Client(auth=BrokerHttpxAuth(broker, "orders:read"), timeout=10) as http:
    sync = [http.get(api + "/orders/42").status_code, http.post(api + "/orders").status_code]
async def main():
    auth = BrokerHttpxAuth(BrokerClient(os.environ["SCOPEGATE_BROKER_URL"]), "orders:read")
    async with httpx.AsyncClient(auth=auth, timeout=10) as http:
        answers = await asyncio.gather(*(http.get(api + "/orders/42") for _ in range(5)))
    return [a.status_code for a in answers]
print(json.dumps({"sync": sync, "async": asyncio.run(main())}))
"""
AUTH_MODULES = "token_broker.client.httpx_auth, token_broker.client.requests_auth"
LOADED = """
import importlib.metadata, json, sys
import token_broker, token_broker.client, token_broker.client.cli, {modules}
print(json.dumps({{
    "client": token_broker.client.__file__,
    "parent": getattr(token_broker, "__file__", None),
    "modules": sorted(sys.modules),
    "dists": sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions()),
}}))
"""


@dataclass(frozen=True)
class Venv:
    """A clean virtual environment; everything runs in ``home`` with a bare environment."""

    root: Path
    home: Path

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        bare = {
            "PATH": f"{self.root / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.home),
            "PYTHONNOUSERSITE": "1",
            "PIP_CONFIG_FILE": os.devnull,  # no index or find-links of this machine's pip
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }
        return subprocess.run(
            list(args),
            env=bare | (env or {}),
            cwd=cwd or self.home,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def install(self, *requirements: str, cwd: Path | None = None) -> None:
        """``pip install`` into this environment (.venv's pip, run by its interpreter)."""
        done = self.run(
            sys.executable,
            "-m",
            "pip",
            "--python",
            self.python,
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(WHEELHOUSE),
            *requirements,
            cwd=cwd,
        )
        assert done.returncode == 0, done.stderr

    def script(self, source: str, env: dict[str, str]) -> object:
        done = self.run(self.python, "-c", source, env=env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def site_packages(self) -> Path:
        (path,) = self.root.glob("lib/python3.*/site-packages")
        return path


def make_venv(python: str, where: Path) -> Venv:
    home = where / "home"
    home.mkdir(parents=True)
    # No pip of its own (ensurepip is most of the time a venv takes): pip --python installs.
    venv = str(where / "venv")
    subprocess.run([python, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    return Venv(where / "venv", home)


def task_env(stack: LocalStack, task: str) -> dict[str, str]:
    """A task's environment: its role's keys (the default chain finds them), the URL."""
    keys = world.TASKS[task]
    return {
        "AWS_ACCESS_KEY_ID": keys.access_key,
        "AWS_SECRET_ACCESS_KEY": keys.secret_key,
        "AWS_SESSION_TOKEN": keys.session_token,
        "AWS_REGION": world.REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SCOPEGATE_BROKER_URL": stack.token_url,
        "API_URL": stack.api_url,
    }


def oldest_python() -> str | None:
    """An interpreter of the oldest Python the wheel declares (``requires-python``)."""
    match = re.fullmatch(r">=3\.(\d+)", PROJECT["requires-python"])
    assert match, PROJECT["requires-python"]
    name = f"python3.{match[1]}"
    pyenv = Path.home() / ".pyenv" / "versions"
    for candidate in [*sorted(pyenv.glob(f"3.{match[1]}.*/bin/{name}")), name]:
        try:
            done = subprocess.run(
                [str(candidate), "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if done.returncode == 0 and done.stdout.strip() == f"(3, {match[1]})":
            return str(candidate)
    return None


# -- fixtures: built once, installed once ----------------------------------------------------


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    if not (WHEELHOUSE / ".downloaded").is_file():
        pytest.fail(f"{WHEELHOUSE} is missing: `make client-wheelhouse` fetches it")
    return WHEELHOUSE


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) from ``python -m build``: the wheel is built from the sdist."""
    out = tmp_path_factory.mktemp("client-dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(PACKAGE)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (sdist,) = out.glob("scopegate_client-*.tar.gz")
    (wheel,) = out.glob("scopegate_client-*-py3-none-any.whl")
    return sdist, wheel


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Venv:
    """A clean venv with the client installed from the clone, as the docs show."""
    venv = make_venv(sys.executable, tmp_path_factory.mktemp("client-venv"))
    venv.install(FROM_THE_CLONE, cwd=ROOT)
    return venv


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack(flavor="http", cache_ttl=300, log=io.StringIO()) as started:
        yield started


# -- what the wheel holds ------------------------------------------------------------------


def test_the_docs_show_the_install_command_this_module_runs() -> None:
    docs = (ROOT / "docs" / "task-client.md").read_text(encoding="utf-8")
    assert f'pip install "{FROM_THE_CLONE}"' in docs
    assert "#subdirectory=packages/scopegate-client" in docs  # the git URL form: same dir


def test_the_wheel_holds_the_client_package_and_nothing_else(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read(f"{DIST_INFO}/RECORD").decode()
        paths = [line.split(",")[0] for line in record.splitlines() if line]
        assert sorted(archive.namelist()) == sorted(paths)
        shipped = {p: archive.read(p) for p in paths if not p.startswith(DIST_INFO)}
    meta = {p.removeprefix(f"{DIST_INFO}/") for p in paths if p.startswith(DIST_INFO)}
    assert meta == {"METADATA", "WHEEL", "RECORD", "entry_points.txt"}
    assert sorted(shipped) == CLIENT_FILES  # no token_broker/__init__.py: a namespace
    for path, content in shipped.items():
        assert content == (ROOT / "src" / path).read_bytes(), path


def test_the_wheel_depends_on_botocore_alone(built: tuple[Path, Path]) -> None:
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        metadata = HeaderParser().parsestr(archive.read(f"{DIST_INFO}/METADATA").decode())
        entry_points = archive.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert metadata["Name"] == "scopegate-client"
    requires = metadata.get_all("Requires-Dist") or []
    assert [r for r in requires if "extra ==" not in r] == ["botocore>=1.31"]
    assert set(metadata.get_all("Provides-Extra") or []) == {"requests", "httpx"}
    assert "scopegate-token = token_broker.client.cli:main" in entry_points


def test_the_sdist_carries_the_client_source_for_its_wheel(built: tuple[Path, Path]) -> None:
    import tarfile

    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {f"src/{p}" for p in CLIENT_FILES} <= names
    assert not any(
        name.startswith(("src/authorizer", "src/token_broker/handler")) for name in names
    )


def test_installing_from_the_clone_gives_the_wheels_files(
    built: tuple[Path, Path], venv: Venv
) -> None:
    record = (venv.site_packages() / DIST_INFO / "RECORD").read_text(encoding="utf-8")
    installed = sorted(
        path
        for path in (line.split(",")[0] for line in record.splitlines())
        if path.startswith("token_broker/") and "__pycache__" not in path
    )
    assert installed == CLIENT_FILES
    assert (venv.root / "bin" / "scopegate-token").is_file()


def test_the_installed_client_loads_only_itself_and_botocore(venv: Venv) -> None:
    seen = venv.script(LOADED.format(modules=AUTH_MODULES), {})
    assert isinstance(seen, dict)
    assert Path(seen["client"]).is_relative_to(venv.site_packages())
    assert seen["parent"] is None  # token_broker is a namespace: no file of the functions
    ours = [m for m in seen["modules"] if m.split(".")[0] in ("token_broker", "authorizer")]
    assert all(m == "token_broker" or m.startswith("token_broker.client") for m in ours), ours
    assert "botocore" in seen["modules"]
    assert "boto3" not in seen["dists"]
    assert "scopegate" not in seen["dists"]  # only the client's own distribution
    assert set(seen["dists"]) >= BOTOCORE_CLOSURE


def test_type_checkers_see_the_wheels_annotations(venv: Venv) -> None:
    # py.typed sits in token_broker/client/ (PEP 561 for a namespace package's portion).
    misuse = (
        "from token_broker.client import BrokerClient\n"
        "from token_broker.client.httpx_auth import BrokerHttpxAuth\n"
        "broker = BrokerClient('http://127.0.0.1/token')\n"
        "expires: int = broker.get_token('orders:read')\n"
        "BrokerHttpxAuth(broker, 7)\n"
    )
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    done = venv.run(*mypy, "--python-executable", venv.python, "-c", misuse)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'expression has type "str", variable has type "int"' in done.stdout
    assert 'Argument 2 to "BrokerHttpxAuth" has incompatible type "int"' in done.stdout
    assert "Found 2 errors" in done.stdout


# -- tokens from the local stack -------------------------------------------------------------


def test_the_console_script_prints_a_token_the_api_accepts(venv: Venv, stack: LocalStack) -> None:
    done = venv.run("scopegate-token", "--scope", "orders:read", env=task_env(stack, "reporting"))
    assert (done.returncode, done.stderr) == (0, "")
    answer = call(stack, "GET", "/orders/42", done.stdout.strip())
    assert (answer.status, answer.client_id) == (200, "reader")


def test_python_m_token_broker_client_runs_from_the_wheel(venv: Venv, stack: LocalStack) -> None:
    done = venv.run(
        venv.python,
        "-m",
        "token_broker.client",
        stack.token_url,
        "--scope",
        "orders:read orders:write",
        "--json",
        env=task_env(stack, "worker"),
    )
    assert (done.returncode, done.stderr) == (0, "")
    answer = json.loads(done.stdout)
    assert (answer["token_type"], answer["scope"]) == ("Bearer", "orders:read orders:write")
    assert call(stack, "POST", "/orders", answer["access_token"]).status == 200


def test_the_console_script_reports_refusals_and_usage(venv: Venv, stack: LocalStack) -> None:
    refused = venv.run("scopegate-token", env=task_env(stack, "stranger"))
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr.startswith("access_denied: ")
    env = task_env(stack, "reporting")
    del env["SCOPEGATE_BROKER_URL"]
    usage = venv.run("scopegate-token", env=env)
    assert usage.returncode == 2
    assert usage.stderr.startswith("usage: scopegate-token")
    assert "set SCOPEGATE_BROKER_URL" in usage.stderr


def test_the_installed_library_gets_a_token_and_keeps_it(venv: Venv, stack: LocalStack) -> None:
    got = venv.script(LIBRARY, task_env(stack, "reporting"))
    assert isinstance(got, dict)
    assert (got["scope"], got["cached"], got["region"]) == ("orders:read", True, world.REGION)
    assert call(stack, "GET", "/orders/42", got["token"]).status == 200


def test_the_requests_auth_object_calls_the_api(venv: Venv, stack: LocalStack) -> None:
    # orders:read opens GET /orders/{id}; POST /orders wants orders:write: 403, not retried.
    assert venv.script(REQUESTS, task_env(stack, "reporting")) == [200, "reader", 403]


def test_the_httpx_auth_object_calls_the_api_sync_and_async(venv: Venv, stack: LocalStack) -> None:
    got = venv.script(HTTPX, task_env(stack, "reporting"))
    assert got == {"sync": [200, 403], "async": [200] * 5}


def test_the_oldest_supported_python_gets_a_token(
    built: tuple[Path, Path],
    wheelhouse: Path,
    stack: LocalStack,
    tmp_path: Path,
) -> None:
    python = oldest_python()
    if python is None:
        pytest.skip(f"no interpreter for requires-python {PROJECT['requires-python']}")
    _, wheel = built
    venv = make_venv(python, tmp_path)
    venv.install(str(wheel))
    seen = venv.script(LOADED.format(modules="token_broker.client.answer"), {})
    assert isinstance(seen, dict)
    assert set(seen["dists"]) == BOTOCORE_CLOSURE  # botocore and its own, no more
    got = venv.script(LIBRARY, task_env(stack, "reporting"))
    assert isinstance(got, dict)
    assert call(stack, "GET", "/orders/42", got["token"]).status == 200
