"""Fixtures that run real Tessera processes for the interoperability suite.

Every server gets its own temporary SQLite database and a free loopback port; it is stopped
(by the PID started here) when its fixture ends. Users and clients are provisioned through the
`tessera` CLI against the same database while the server runs (SQLite WAL allows this).

Environment:
  TESSERA_BIN      the tessera binary (default .build/release/tessera, else .build/debug/tessera)
  EXAMPLE_API_BIN  the example resource server (default .build/release/tessera-example-api,
                   else .build/debug/tessera-example-api); its tests skip if it is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 30.0
DEFAULT_PASSWORD_LENGTH = 24


def _default_binary(env_name: str, product: str) -> Path:
    explicit = os.environ.get(env_name)
    if explicit:
        return Path(explicit)
    release = REPO_ROOT / ".build" / "release" / product
    if release.is_file():
        return release
    return REPO_ROOT / ".build" / "debug" / product


TESSERA_BIN = _default_binary("TESSERA_BIN", "tessera")
EXAMPLE_API_BIN = _default_binary("EXAMPLE_API_BIN", "tessera-example-api")


def free_port() -> int:
    """A currently unused loopback TCP port (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """The parent environment without inherited Tessera settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TESSERA_") or k.startswith("EXAMPLE_API_"))
    }
    env["TESSERA_BCRYPT_COST"] = "4"
    # Re-read signing keys every second: needed by the key-rotation tests, and it keeps SIGTERM
    # fast (the maintenance loop only notices shutdown between sleeps; see test_lifecycle.py).
    env["TESSERA_KEY_RELOAD_INTERVAL"] = "1"
    # Every test logs in from 127.0.0.1: lift the per-IP login limit (test_security.py sets its own).
    env["TESSERA_LOGIN_RATE_LIMIT"] = "100000"
    env.update(extra)
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no log>"


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path, what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last_error: object = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{what} exited with status {proc.returncode} before becoming healthy:\n{_tail(log)}"
            )
        try:
            response = requests.get(f"{url}/healthz", timeout=1)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as error:
            last_error = error
        time.sleep(0.05)
    raise RuntimeError(f"{what} not healthy after {STARTUP_TIMEOUT}s ({last_error}):\n{_tail(log)}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@dataclass
class Client:
    """An OAuth client registered through `tessera client add --json` (RFC 7591 response)."""

    client_id: str
    client_secret: str | None
    info: dict


@dataclass
class User:
    id: str
    username: str
    password: str
    scopes: list[str]


@dataclass
class TesseraServer:
    binary: Path
    workdir: Path
    database: Path
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    _counter: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        # The documented default issuer: http://HOST:PORT.
        return self.url

    @property
    def token_endpoint(self) -> str:
        return f"{self.url}/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.url}/jwks.json"

    # --- CLI -------------------------------------------------------------------------------

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args, "--database", str(self.database)],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"tessera {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def _unique(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}-{secrets.token_hex(3)}"

    def add_user(self, scopes=("read", "write"), username: str | None = None) -> User:
        username = username or self._unique("user")
        password = secrets.token_urlsafe(DEFAULT_PASSWORD_LENGTH)
        args = ["user", "add", username, "--password-stdin"]
        for scope in scopes:
            args += ["--scope", scope]
        result = self.cli(*args, input=password)
        match = re.search(r"\bid ([0-9A-Za-z_-]+)", result.stdout)
        assert match, f"cannot find the user id in: {result.stdout!r}"
        return User(id=match.group(1), username=username, password=password, scopes=list(scopes))

    def add_client(
        self,
        grants=("client_credentials", "password", "refresh_token"),
        scopes=("read", "write"),
        public: bool = False,
        name: str | None = None,
        extra_args=(),
    ) -> Client:
        """`tessera client add NAME --grant … --scope … [--public] EXTRA_ARGS --json`."""
        args = ["client", "add", name or self._unique("client")]
        for grant in grants:
            args += ["--grant", grant]
        for scope in scopes:
            args += ["--scope", scope]
        if public:
            args.append("--public")
        args += [*extra_args, "--json"]
        info = json.loads(self.cli(*args).stdout)
        return Client(client_id=info["client_id"], client_secret=info.get("client_secret"), info=info)

    # --- HTTP ------------------------------------------------------------------------------

    def jwks(self) -> dict:
        response = requests.get(self.jwks_uri, timeout=5)
        response.raise_for_status()
        return response.json()

    def metadata(self) -> dict:
        response = requests.get(f"{self.url}/.well-known/oauth-authorization-server", timeout=5)
        response.raise_for_status()
        return response.json()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(self.binary), "serve",
                    "--database", str(self.database),
                    "--port", str(self.port),
                    "--host", "127.0.0.1",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        try:
            _wait_healthy(self.proc, self.url, self.log, f"tessera serve on port {self.port}")
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@dataclass
class ExampleAPI:
    port: int
    log: Path
    proc: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _require_binary(path: Path, hint: str) -> None:
    if not path.is_file():
        pytest.fail(f"{path} not found; build it with `{hint}` or set the environment variable", pytrace=False)


def _start_tessera(root: Path, extra_env: dict[str, str] | None = None) -> TesseraServer:
    _require_binary(TESSERA_BIN, "swift build --product tessera")
    last_error: Exception | None = None
    for attempt in range(3):  # a port picked by free_port() can, rarely, be taken meanwhile
        workdir = Path(tempfile.mkdtemp(prefix="tessera-", dir=root))
        server = TesseraServer(
            binary=TESSERA_BIN,
            workdir=workdir,
            database=workdir / "t.sqlite",
            port=free_port(),
            env=_child_env(extra_env or {}),
            log=workdir / "serve.log",
        )
        try:
            server.start()
            return server
        except RuntimeError as error:
            last_error = error
    raise last_error  # type: ignore[misc]


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="session")
def tessera(tmp_root) -> TesseraServer:
    """One shared Tessera for tests that only add their own users and clients."""
    server = _start_tessera(tmp_root)
    yield server
    server.stop()


@pytest.fixture
def start_tessera(tmp_root):
    """Factory for a private Tessera (e.g. for key rotation); stopped after the test."""
    started: list[TesseraServer] = []

    def start(extra_env: dict[str, str] | None = None) -> TesseraServer:
        server = _start_tessera(tmp_root, extra_env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def client(tessera) -> Client:
    """A fresh confidential client (client_secret_basic by registration) allowed read/write."""
    return tessera.add_client()


@pytest.fixture
def public_client(tessera) -> Client:
    return tessera.add_client(grants=("password", "refresh_token"), scopes=("read", "write"), public=True)


@pytest.fixture
def user(tessera) -> User:
    """A fresh user allowed read/write."""
    return tessera.add_user()


def _start_example_api(tmp_root: Path, issuer: str) -> ExampleAPI:
    if not EXAMPLE_API_BIN.is_file():
        pytest.skip(f"example API binary {EXAMPLE_API_BIN} not built (swift build --product tessera-example-api)")
    last_error: Exception | None = None
    for attempt in range(3):
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="example-api-", dir=tmp_root)) / "api.log"
        env = _child_env({
            "TESSERA_ISSUER": issuer,
            "EXAMPLE_API_PORT": str(port),
            "EXAMPLE_API_HOST": "127.0.0.1",
        })
        with open(log, "ab") as log_file:
            proc = subprocess.Popen(
                [str(EXAMPLE_API_BIN)], stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT, env=env,
            )
        try:
            _wait_healthy(proc, f"http://127.0.0.1:{port}", log, f"tessera-example-api on port {port}")
            return ExampleAPI(port=port, log=log, proc=proc)
        except RuntimeError as error:
            _stop(proc)
            last_error = error
    raise last_error  # type: ignore[misc]


@pytest.fixture(scope="session")
def example_api(tmp_root, tessera) -> ExampleAPI:
    """The example resource server, trusting the shared Tessera."""
    api = _start_example_api(tmp_root, tessera.issuer)
    yield api
    _stop(api.proc)
