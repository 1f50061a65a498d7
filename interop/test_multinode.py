"""Stateless multi-node operation on one PostgreSQL (issue 5).

Two `tessera serve` processes share one database: whatever one node issues, the other refreshes,
verifies and revokes; atomic operations have exactly one winner across processes; a PostgreSQL
restart gives 503 `temporarily_unavailable` and the node recovers on its own; a `kill -9` loses no
refresh token that a client received.

Needs a PostgreSQL server: `TESSERA_TEST_POSTGRES_URL` (scripts/test.sh starts one). The fault test
starts its own throw-away server through scripts/postgres.sh so it can restart it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import urllib.parse
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from conftest import REPO_ROOT, TESSERA_BIN, TesseraServer, _child_env, _require_binary, free_port

ADMIN_URL = os.environ.get("TESSERA_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(not ADMIN_URL, reason="TESSERA_TEST_POSTGRES_URL is not set")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def create_database(admin_url: str) -> str:
    name = "tessera_mn_" + secrets.token_hex(6)
    subprocess.run(["psql", admin_url, "-q", "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=30)
    return _with_database(admin_url, name)


# Every node of a cluster must be given the same key-encryption key (signing keys and TOTP secrets are sealed with it).
CLUSTER_KEK = base64.b64encode(os.urandom(32)).decode()


def start_node(root: Path, database_url: str, extra_env: dict[str, str] | None = None) -> TesseraServer:
    _require_binary(TESSERA_BIN, "swift build --product tessera")
    extra_env = {"TESSERA_KEY_ENCRYPTION_KEYS": CLUSTER_KEK, **(extra_env or {})}
    workdir = Path(tempfile.mkdtemp(prefix="node-", dir=root))
    server = TesseraServer(
        binary=TESSERA_BIN,
        workdir=workdir,
        database=database_url,  # type: ignore[arg-type]  (a URL works wherever a path does)
        port=free_port(),
        env=_child_env(extra_env or {}),
        log=workdir / "serve.log",
    )
    server.start()
    return server


def start_pair(tmp_path_factory, name: str, extra_env: dict[str, str] | None = None) -> tuple[TesseraServer, TesseraServer]:
    """Two nodes on a new database of their own (the caller stops them)."""
    root = tmp_path_factory.mktemp(name)
    url = create_database(ADMIN_URL)
    return start_node(root, url, extra_env), start_node(root, url, extra_env)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    a, b = start_pair(tmp_path_factory, "cluster")
    yield a, b
    a.stop()
    b.stop()


def password_grant(node: TesseraServer, client, user, scope: str = "read write") -> requests.Response:
    return requests.post(
        node.token_endpoint,
        data={"grant_type": "password", "username": user.username, "password": user.password, "scope": scope},
        auth=(client.client_id, client.client_secret),
        timeout=30,
    )


def refresh(node: TesseraServer, client, token: str) -> requests.Response:
    return requests.post(
        node.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(client.client_id, client.client_secret),
        timeout=30,
    )


def test_issue_on_a_refresh_on_b_revoke_on_b_refused_on_a(cluster):
    a, b = cluster
    client, user = a.add_client(), a.add_user()
    issued = password_grant(a, client, user)
    assert issued.status_code == 200, issued.text
    refreshed = refresh(b, client, issued.json()["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    newest = refreshed.json()["refresh_token"]
    # Node B's access token verifies with node A's JWKS: one key set for the cluster.
    kids_a = {key["kid"] for key in a.jwks()["keys"]}
    assert {key["kid"] for key in b.jwks()["keys"]} == kids_a
    revoked = requests.post(f"{b.url}/revoke", data={"token": newest, "token_type_hint": "refresh_token"},
                            auth=(client.client_id, client.client_secret), timeout=10)
    assert revoked.status_code == 200, revoked.text
    refused = refresh(a, client, newest)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_twenty_concurrent_refreshes_across_both_nodes_have_one_winner(cluster):
    a, b = cluster
    client, user = a.add_client(), a.add_user()
    token = password_grant(a, client, user).json()["refresh_token"]
    barrier = threading.Barrier(20)

    def attempt(i: int) -> int:
        node = a if i % 2 == 0 else b
        barrier.wait(timeout=30)
        return refresh(node, client, token).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 19, statuses


def test_refresh_grace_window_across_nodes(cluster):
    """A client with a 30 s rotation grace period: the retry of a refresh whose answer was lost may land on the
    other node and still gets a pair; a second retry is reuse and revokes the family on every node."""
    a, b = cluster
    client = a.add_client(extra_args=("--refresh-grace-period", "30"))
    user = a.add_user()
    first = password_grant(a, client, user).json()["refresh_token"]
    rotated = refresh(a, client, first)
    assert rotated.status_code == 200, rotated.text
    retried = refresh(b, client, first)
    assert retried.status_code == 200, retried.text
    assert retried.json()["refresh_token"] != rotated.json()["refresh_token"]
    again = refresh(a, client, first)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    for token in (rotated.json()["refresh_token"], retried.json()["refresh_token"]):
        assert refresh(b, client, token).status_code == 400, "the family is revoked on both nodes"

    # 20 concurrent refreshes of one token across both nodes: one rotation plus the one permitted retry.
    token = password_grant(b, client, user).json()["refresh_token"]
    barrier = threading.Barrier(20)

    def attempt(i: int) -> int:
        barrier.wait(timeout=30)
        return refresh(a if i % 2 == 0 else b, client, token).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count(200) == 2, statuses


def test_nodes_started_together_on_a_new_database_publish_one_key_set_at_once(tmp_path_factory):
    """Issue 20, item 4: creating the first key of an algorithm is one atomic claim, so nodes that start at the same time
    on an empty database publish the same JWKS from their first request (not only after a key reload, 30 s)."""
    root = tmp_path_factory.mktemp("together")
    url = create_database(ADMIN_URL)
    barrier = threading.Barrier(3)

    def start(_: int) -> TesseraServer:
        barrier.wait(timeout=30)
        return start_node(root, url)

    with ThreadPoolExecutor(max_workers=3) as pool:
        nodes = list(pool.map(start, range(3)))
    try:
        sets = [node.jwks()["keys"] for node in nodes]
        kids = [sorted(key["kid"] for key in keys) for keys in sets]
        assert kids[0] == kids[1] == kids[2], kids
        assert sorted(key["alg"] for key in sets[0]) == ["ES256", "RS256"], "one key per algorithm"
    finally:
        for node in nodes:
            node.stop()


def test_keys_rotated_by_one_node_are_used_and_published_by_all(cluster):
    a, b = cluster
    before = {key["kid"] for key in a.jwks()["keys"]}
    a.cli("keys", "rotate")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        kids_a = {key["kid"] for key in a.jwks()["keys"]}
        kids_b = {key["kid"] for key in b.jwks()["keys"]}
        if kids_a == kids_b and kids_a > before:
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"nodes did not converge on the rotated keys: {kids_a} vs {kids_b}")
    assert before < kids_a, "old keys stay published after a rotation"


def test_kill_minus_nine_loses_no_refresh_token_a_client_received(tmp_path_factory):
    """Durability: a 200 is sent only after the commit, so whatever a client received survives the node."""
    a, b = start_pair(tmp_path_factory, "kill9")
    try:
        client = a.add_client()
        users = [a.add_user() for _ in range(8)]
        holding: dict[int, str] = {}   # the refresh token each client holds, unused
        in_flight: set[int] = set()    # clients whose request was cut by the kill: their token was used
        lock = threading.Lock()
        stop = threading.Event()
        received = 0

        def load(index: int, user) -> None:
            nonlocal received
            token = None
            while not stop.is_set():
                try:
                    response = password_grant(a, client, user) if token is None else refresh(a, client, token)
                except requests.RequestException:
                    with lock:
                        in_flight.add(index)
                    return
                assert response.status_code == 200, response.text
                token = response.json()["refresh_token"]
                with lock:
                    holding[index] = token
                    received += 1
                time.sleep(0.02 * (index + 1))

        threads = [threading.Thread(target=load, args=(i, user)) for i, user in enumerate(users)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        os.kill(a.proc.pid, signal.SIGKILL)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert received >= 16, f"too little load before the kill: {received} tokens"
        survivors = {i: token for i, token in holding.items() if i not in in_flight}
        assert survivors, "every client was mid-request at the kill; nothing to check"
        for index, token in survivors.items():
            response = refresh(b, client, token)
            assert response.status_code == 200, f"client {index} lost its refresh token: {response.text}"
    finally:
        a.stop()
        b.stop()


def test_postgres_restart_gives_503_then_recovers_without_a_node_restart(tmp_path_factory):
    root = tmp_path_factory.mktemp("fault")
    # Not under pytest's private tmp tree: the server runs as the postgres user, which must reach it.
    pg_dir = Path(tempfile.mkdtemp(prefix="tessera-pg-"))
    port = free_port()
    script = REPO_ROOT / "scripts" / "postgres.sh"
    admin = subprocess.run([str(script), "start", str(pg_dir), str(port)], check=True, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL).stdout.strip()
    node = None
    try:
        node = start_node(root, admin, {"TESSERA_DATABASE_TIMEOUT": "2"})
        client = node.add_client()
        auth = (client.client_id, client.client_secret)

        def token_status() -> int:
            try:
                return requests.post(node.token_endpoint, data={"grant_type": "client_credentials"}, auth=auth, timeout=15).status_code
            except requests.RequestException:
                return -1

        assert token_status() == 200
        subprocess.run([str(script), "stop", str(pg_dir)], check=True, capture_output=True, timeout=60)
        during = [token_status() for _ in range(3)]
        ready = requests.get(f"{node.url}/readyz", timeout=15)
        assert during == [503, 503, 503], during
        assert ready.status_code == 503
        body = requests.post(node.token_endpoint, data={"grant_type": "client_credentials"}, auth=auth, timeout=15).json()
        assert body["error"] == "temporarily_unavailable"
        subprocess.run([str(script), "start", str(pg_dir), str(port)], check=True, capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        statuses = []
        while time.monotonic() < deadline:
            statuses.append(token_status())
            if statuses[-1] == 200:
                break
            time.sleep(0.5)
        assert statuses[-1] == 200, f"the node did not recover: {statuses}"
        assert node.proc.poll() is None, "the node kept running throughout"
        assert requests.get(f"{node.url}/readyz", timeout=5).status_code == 200
    finally:
        if node is not None:
            node.stop()
        subprocess.run([str(script), "stop", str(pg_dir)], capture_output=True, timeout=60)


def test_unreachable_postgres_at_start_is_one_line_and_non_zero(tmp_path_factory):
    port = free_port()
    result = subprocess.run(
        [str(TESSERA_BIN), "serve", "--database", f"postgres://tessera:x@127.0.0.1:{port}/none", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=_child_env({"TESSERA_KEY_ENCRYPTION_KEYS": CLUSTER_KEK}), stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach database"), result.stderr
    assert ":x@" not in lines[0], "the password is not printed"


def _authorization_code(node: TesseraServer, client_id: str, user, redirect_uri: str, challenge: str) -> str:
    """Logs `user` in through the HTML login form and returns the code sent to `redirect_uri`."""
    import re
    session = requests.Session()
    url = f"{node.url}/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid read",
        "state": "s-" + secrets.token_hex(4), "code_challenge": challenge, "code_challenge_method": "S256",
    })
    response = session.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = urllib.parse.urljoin(node.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
                assert "code" in query, location
                return query["code"][0]
            response = session.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text))
        assert "csrf_token" in form, response.text
        form.update({"username": user.username, "password": user.password})
        form = {k: html.unescape(v) for k, v in form.items()}
        response = session.post(f"{node.url}/login", data=form, allow_redirects=False, timeout=10)
    raise AssertionError("no code after ten redirects")


def test_twenty_concurrent_code_redemptions_across_both_nodes_have_one_winner(cluster):
    import base64
    import hashlib
    a, b = cluster
    redirect_uri = "http://127.0.0.1:9/callback"
    info = json.loads(a.cli("client", "add", "mn-web", "--grant", "authorization_code", "--grant", "refresh_token",
                            "--scope", "openid", "--scope", "read", "--redirect-uri", redirect_uri, "--no-consent", "--json").stdout)
    user = a.add_user(scopes=("openid", "read"))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _authorization_code(a, info["client_id"], user, redirect_uri, challenge)
    barrier = threading.Barrier(20)

    def redeem(i: int) -> int:
        node = a if i % 2 == 0 else b
        barrier.wait(timeout=30)
        return requests.post(node.token_endpoint, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                                        "code_verifier": verifier},
                             auth=(info["client_id"], info["client_secret"]), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(redeem, range(20)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == 19, statuses


def test_twenty_concurrent_guesses_across_both_nodes_check_at_most_five_passwords(tmp_path_factory):
    # Issue 13 item 3: the reservation is one conditional upsert in PostgreSQL, so guesses racing on two nodes
    # check at most the threshold of passwords; the rest are refused as locked without being checked.
    from test_security import _audit_lines, _burst

    import base64

    # Every node of one PostgreSQL shares the key-encryption key (harmless where it is not needed).
    shared = {"TESSERA_KEY_ENCRYPTION_KEYS": base64.b64encode(secrets.token_bytes(32)).decode()}
    a, b = start_pair(tmp_path_factory, "lockout-burst", shared)
    try:
        client, user = a.add_client(), a.add_user()
        responses = _burst([a, b], client, user.username)
        assert all(r.status_code == 400 for r in responses), [r.text for r in responses]
        right = requests.post(b.token_endpoint, auth=(client.client_id, client.client_secret), timeout=30,
                              data={"grant_type": "password", "username": user.username, "password": user.password})
        assert right.status_code == 400 and "temporarily locked" in right.json()["error_description"]
    finally:
        a.stop()
        b.stop()
    assert len(_audit_lines(a, "login.failed", user.username)) == 5, "at most the threshold checked across nodes"
    assert len(_audit_lines(a, "login.locked", user.username)) == 16
