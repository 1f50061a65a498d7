"""Federated sign-in (issue 8): Tessera as a relying party of upstream OpenID Connect / OAuth 2.0 providers.

One module-wide setup (fixture `fed`):

* **A** — a second Tessera, the upstream OpenID provider, with its own SQLite database, a user `alice`
  with a profile email, and a confidential client whose redirect URI is B's callback. A's issuer is
  ``http://localhost:PORT`` while B is ``http://127.0.0.1:PORT``: browsers key cookies by host, not by
  port, and both servers name their session cookie ``tessera_session``, so on one host they would
  overwrite each other's session (a real deployment has two hosts anyway).
* **Python providers** (upstream_fixture.py): ``gh`` (GitHub-like plain OAuth 2.0 with a claim
  mapping), ``mock`` (an OIDC provider scripted to misbehave), ``trusted`` (OIDC, linkByVerifiedEmail),
  and ``down`` (an issuer where nothing listens).
* **B** — the federating Tessera, configured through a JSON config file (``TESSERA_CONFIG``), with the
  client secrets in environment variables or a file.

The happy paths run in headless Chromium (consent at A, consent at B, the code redeemed at B, the ID
token verified against B's JWKS); the failures use plain HTTP sessions that carry cookies.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

from conftest import TESSERA_BIN, TesseraServer, _child_env, _require_binary, free_port
from test_browser import (  # noqa: E402  (shared driver fixture and helpers)
    add_browser_client,
    browser,  # noqa: F401
    callback,  # noqa: F401
    log_in,
    pytestmark,  # noqa: F401  (skips without chromium)
    verify_id_token,
    wait_for,
)
from upstream_fixture import FakeProvider
from interop_support import audit_json
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402

UPSTREAM_NAME = "Upstream Tessera"
GITHUB_NAME = "GitHub"
MOCK_NAME = "Mock OIDC"
TRUSTED_NAME = "Trusted Corp"


# --- setup -----------------------------------------------------------------------------------------


def _server(root: Path, name: str, port: int, extra_env: dict[str, str]) -> TesseraServer:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=root))
    return TesseraServer(binary=TESSERA_BIN, workdir=workdir, database=workdir / "t.sqlite", port=port,
                         env=_child_env(extra_env), log=workdir / "serve.log")


def _distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    _require_binary(TESSERA_BIN, "swift build --product tessera")
    root = tmp_path_factory.mktemp("federation")
    servers: list[TesseraServer] = []
    providers: list[FakeProvider] = []
    try:
        a_port, b_port = _distinct_ports(2)
        b_url = f"http://127.0.0.1:{b_port}"

        # A: the upstream OpenID provider.
        a = _server(root, "upstream", a_port, {"TESSERA_ISSUER": f"http://localhost:{a_port}"})
        a.start()
        servers.append(a)
        alice = a.add_user(scopes=("openid", "profile", "email"), username="alice")
        a.cli("user", "profile", "alice", "--name", "Alice Liddell", "--email", "alice@example.com")
        upstream_client = json.loads(a.cli(
            "client", "add", "Tessera B", "--grant", "authorization_code", "--scope", "openid", "--scope", "profile",
            "--scope", "email", "--redirect-uri", f"{b_url}/federation/upstream/callback", "--json").stdout)
        assert upstream_client.get("client_secret"), upstream_client

        gh = FakeProvider(client_id="gh-client", client_secret="gh-secret-" + generate_token(16), kind="oauth2").start()
        mock = FakeProvider(client_id="mock-client", client_secret="mock-secret-" + generate_token(16)).start()
        trusted = FakeProvider(client_id="trusted-client", client_secret="trusted-secret-" + generate_token(16)).start()
        providers += [gh, mock, trusted]

        # B: federates to all of them. Secrets by environment variable or file, never in the config.
        workdir = Path(tempfile.mkdtemp(prefix="federating-", dir=root))
        gh_secret_file = workdir / "gh-secret"
        gh_secret_file.write_text(gh.client_secret + "\n")
        config = {"identityProviders": [
            {"id": "upstream", "displayName": UPSTREAM_NAME, "type": "oidc", "issuer": f"http://localhost:{a_port}",
             "clientId": upstream_client["client_id"], "clientSecretEnv": "UPSTREAM_SECRET", "scopes": "openid profile email",
             "linkByVerifiedEmail": False, "provisionUsers": True, "trustedForMFA": False, "userScopes": "openid profile email read"},
            {"id": "gh", "displayName": GITHUB_NAME, "type": "oauth2", **gh.endpoints, "clientId": gh.client_id,
             "clientSecretFile": str(gh_secret_file), "scopes": "read:user user:email",
             "claims": {"subject": "id", "email": "email", "emailVerified": None, "name": "name", "preferredUsername": "login"},
             "userScopes": "openid profile email read", "provisionUsers": True},
            {"id": "mock", "displayName": MOCK_NAME, "type": "oidc", "issuer": mock.issuer, "clientId": mock.client_id,
             "clientSecretEnv": "MOCK_SECRET", "scopes": ["openid", "profile", "email"], "provisionUsers": True},
            {"id": "trusted", "displayName": TRUSTED_NAME, "type": "oidc", "issuer": trusted.issuer, "clientId": trusted.client_id,
             "clientSecretEnv": "TRUSTED_SECRET", "scopes": "openid email", "linkByVerifiedEmail": True, "trustedForMFA": True,
             "provisionUsers": True},
        ]}
        config_file = workdir / "tessera.json"
        config_file.write_text(json.dumps(config, indent=2))
        b = _server(root, "federating", b_port, {
            "TESSERA_CONFIG": str(config_file), "TESSERA_PORT": str(b_port), "UPSTREAM_SECRET": upstream_client["client_secret"],
            "MOCK_SECRET": mock.client_secret, "TRUSTED_SECRET": trusted.client_secret})
        b.start()
        servers.append(b)
        yield SimpleNamespace(root=root, a=a, b=b, alice=alice, upstream_client=upstream_client, gh=gh, mock=mock, trusted=trusted,
                              config=config, config_file=config_file)
    finally:
        for server in servers:
            server.stop()
        for provider in providers:
            provider.stop()


@pytest.fixture
def mock(fed):
    """The scripted OIDC provider, reset to good behaviour after each test."""
    yield fed.mock
    fed.mock.mode = "ok"


# --- helpers ---------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict
    buttons: list


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(Form(attrs.get("action", ""), (attrs.get("method") or "get").lower(), {}, []))
        elif not self.forms:
            return
        elif tag == "input" and attrs.get("name"):
            if attrs.get("type") == "submit":
                self.forms[-1].buttons.append(attrs.get("value", ""))
            else:
                self.forms[-1].fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "button":
            self._button = []

    def handle_data(self, data):
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(" ".join("".join(self._button).split()))
            self._button = None


def forms(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def federated_form(page: str, provider_id: str, display_name: str) -> Form:
    matches = [f for f in forms(page) if f.action == f"/login/federated/{provider_id}"]
    assert len(matches) == 1, f"no single form for /login/federated/{provider_id} in:\n{page[:3000]}"
    form = matches[0]
    assert form.method == "post"
    assert {"csrf_token", "return_to"} <= set(form.fields), form
    assert f"Continue with {display_name}" in form.buttons, form
    return form


def begin_upstream(server, session: requests.Session, provider_id: str, display_name: str, start: str = "/login") -> str:
    """Loads a login page of `server` and submits the provider's form; returns the upstream authorization URL."""
    page = session.get(urljoin(server.url, start), timeout=10)
    assert page.status_code == 200, page.text
    form = federated_form(page.text, provider_id, display_name)
    response = session.post(urljoin(server.url, form.action), data=form.fields, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    return response.headers["Location"]


def continue_target(response) -> str:
    """The page a successful callback answers with: 200 and a link (and a meta refresh) to where the browser goes on."""
    assert response.status_code == 200, (response.status_code, response.text[:2000])
    match = re.search(r'id="continue-link" href="([^"]*)"', response.text)
    assert match, response.text[:2000]
    return html.unescape(match.group(1))


def follow_continue(server, session, response) -> requests.Response:
    return session.get(urljoin(server.url, continue_target(response)), timeout=10)


def upstream_round_trip(server, session, provider_id, display_name, start="/login"):
    """Begins a sign-in and lets the (auto-approving) provider answer; returns (callback URL, callback response)."""
    authorize = begin_upstream(server, session, provider_id, display_name, start)
    answer = requests.get(authorize, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    callback_url = answer.headers["Location"]
    assert callback_url.startswith(f"{server.url}/federation/{provider_id}/callback?"), callback_url
    return callback_url, session.get(callback_url, allow_redirects=False, timeout=10)


@dataclass
class Event:
    type: str
    sub: str | None
    detail: dict


def audit(server, kind: str) -> list[Event]:
    """`tessera audit --type KIND --json`: a sequence of JSON objects, newest first."""
    return [Event(value["type"], value.get("sub"), value.get("detail") or {})
            for value in audit_json(server, "--type", kind, "--limit", "1000")]


def wait_audit(server, kind: str, matches, at_least: int = 1, timeout: float = 10.0) -> list[Event]:
    """Polls `tessera audit` until `at_least` events of `kind` satisfy `matches` (events are flushed every second)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [event for event in audit(server, kind) if matches(event)]
        if len(found) >= at_least or time.monotonic() > deadline:
            assert len(found) >= at_least, f"expected {at_least} {kind} event(s), found {found} in {audit(server, kind)}"
            return found
        time.sleep(0.3)


@dataclass
class ListedUser:
    username: str
    id: str
    status: str
    scopes: str


def users(server) -> list[ListedUser]:
    listed = []
    for line in server.cli("user", "list").stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 5 and parts[4].startswith("scopes="):
            listed.append(ListedUser(parts[0], parts[1], parts[2], parts[4].removeprefix("scopes=")))
    return listed


def user_by_id(server, user_id: str) -> ListedUser:
    matches = [user for user in users(server) if user.id == user_id]
    assert len(matches) == 1, f"user {user_id} not in {users(server)}"
    return matches[0]


def assert_error_page(response, status: int, text: str):
    assert response.status_code == status, (response.status_code, response.text[:2000])
    assert "Location" not in response.headers
    assert "text/html" in response.headers.get("Content-Type", "")
    assert text in html.unescape(response.text), response.text[:2000]


def continue_with(driver, display_name: str):
    label = f"Continue with {display_name}"
    button = wait_for(driver, EC.element_to_be_clickable((
        By.XPATH, f"//button[normalize-space(.)='{label}'] | //input[@type='submit' and @value='{label}']")))
    button.click()


def next_step(driver, done_prefix: str, timeout: float = 20):
    """Waits for the browser to reach a page that needs the user, or the client; returns ("login"|"consent"|"done", url)."""
    def step(d):
        try:
            return inspect(d)
        except WebDriverException:  # the page changed under us (a redirect or the meta refresh): look again
            return False

    def inspect(d):
        if d.execute_script("return document.readyState") != "complete" or d.execute_script(
                "return document.documentElement.dataset.seen === '1'"):
            return False
        url = d.current_url
        if url.startswith(done_prefix):
            return ("done", url)
        if d.find_elements(By.ID, "consent-allow"):
            return ("consent", url)
        if d.find_elements(By.ID, "username") and d.find_elements(By.ID, "login-submit"):
            return ("login", url)
        if d.find_elements(By.ID, "error-page"):
            raise AssertionError(f"error page at {url}: {d.find_element(By.ID, 'error-page').text}")
        return False
    try:
        return wait_for(driver, step, timeout)
    except TimeoutException:
        raise AssertionError(f"stuck at {driver.current_url}: {driver.find_element(By.TAG_NAME, 'body').text[:1000]}") from None


def browser_sign_in(driver, fed, client, redirect_uri, display_name, scope="openid profile email read"):
    """An authorization code + PKCE flow at B that signs in through `display_name`.

    Every login page at A is answered as alice, every consent page is allowed. Returns the ID token's
    claims (verified against B's JWKS), the token response and the steps seen as (what, "A"|"B").
    """
    b = fed.b
    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope=scope,
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier, nonce = generate_token(64), generate_token(16)
    url, state = session.create_authorization_url(f"{b.url}/authorize", code_verifier=verifier, nonce=nonce)
    driver.get(url)
    wait_for(driver, EC.presence_of_element_located((By.ID, "login-submit")))
    assert driver.current_url.startswith(b.url)
    driver.execute_script("document.documentElement.dataset.seen = '1'")
    continue_with(driver, display_name)
    steps = []
    while True:
        what, at = next_step(driver, redirect_uri)
        if what == "done":
            break
        where = "A" if at.startswith(f"http://localhost:{fed.a.port}") else "B" if at.startswith(b.url) else at
        steps.append((what, where))
        assert len(steps) < 6, steps
        # Mark this document, so that next_step waits for the next one.
        driver.execute_script("document.documentElement.dataset.seen = '1'")
        if what == "login":
            assert where == "A", f"a password form at {at}"
            log_in(driver, fed.alice)
        else:
            driver.find_element(By.ID, "consent-allow").click()
    query = parse_qs(urlsplit(at).query)
    assert query["state"] == [state] and query["iss"] == [b.issuer], query
    token = session.fetch_token(b.token_endpoint, authorization_response=at, code_verifier=verifier)
    claims = verify_id_token(b, token["id_token"], client["client_id"], nonce, token["access_token"])
    return claims, token, steps


def click_and_wait(driver, xpath: str):
    """Clicks and waits until the browser shows the next document (not a half-unloaded old one)."""
    driver.execute_script("document.documentElement.dataset.seen = '1'")
    driver.find_element(By.XPATH, xpath).click()

    def loaded(d):
        try:
            return d.execute_script("return document.readyState === 'complete' && document.documentElement.dataset.seen !== '1'")
        except WebDriverException:
            return False
    wait_for(driver, loaded)


def clear_cookies(driver):
    """A new browser session: every cookie of every host goes (delete_all_cookies only clears the current host)."""
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


# --- configuration and CLI -------------------------------------------------------------------------


def test_federation_list_prints_the_configured_providers(fed):
    lines = fed.b.cli("federation", "list").stdout.splitlines()
    for provider in fed.config["identityProviders"]:
        matching = [line for line in lines if line.split()[0] == provider["id"]]
        assert len(matching) == 1, (provider["id"], lines)
        line = matching[0]
        assert provider["displayName"] in line and provider["type"] in line, line
        assert (provider.get("issuer") or provider["authorizationEndpoint"]) in line, line
        assert f"redirect_uri={fed.b.url}/federation/{provider['id']}/callback" in line, line
        trusted = provider["id"] == "trusted"
        assert f"link_by_verified_email={str(trusted).lower()}" in line and f"trusted_for_mfa={str(trusted).lower()}" in line, line
    assert not any(fed.upstream_client["client_secret"] in line or fed.gh.client_secret in line for line in lines)


def test_configuration_refuses_literal_secrets_bad_ids_and_http_off_loopback(fed, tmp_path):
    good = {"id": "idp", "displayName": "IdP", "type": "oidc", "issuer": "https://idp.example", "clientId": "c",
            "clientSecretEnv": "IDP_SECRET", "provisionUsers": False}
    cases = {
        # Issue 20: whether any account at the provider may create a local user is an explicit choice.
        "provisionUsers": {key: value for key, value in good.items() if key != "provisionUsers"},
        "clientSecret": {**good, "clientSecret": "hunter2"},
        "id": {**good, "id": "Bad_ID"},
        "http": {**good, "issuer": "http://idp.example"},
        "secret": {**good, "clientSecretEnv": "NOT_SET_ANYWHERE"},
    }
    for name, provider in [("ok", good), *cases.items()]:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"identityProviders": [provider]}))
        result = subprocess.run([str(TESSERA_BIN), "federation", "list", "--config", str(path), "--database", str(tmp_path / "x.sqlite")],
                                capture_output=True, text=True, timeout=30, env=_child_env({"IDP_SECRET": "s3cret"}))
        if name == "ok":
            assert result.returncode == 0, result.stderr
            assert "idp" in result.stdout and "s3cret" not in result.stdout
        else:
            assert result.returncode != 0, (name, result.stdout)
            assert "hunter2" not in result.stdout + result.stderr
            assert "Traceback" not in result.stderr and result.stderr.strip(), (name, result.stderr)
            if name == "provisionUsers":
                assert "provisionUsers" in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


# --- happy paths in the browser --------------------------------------------------------------------


def test_sign_in_through_an_upstream_tessera_provisions_a_user_then_reuses_the_link(fed, browser, callback):  # noqa: F811
    b = fed.b
    redirect_uri = f"{callback}/federated"
    client = add_browser_client(b, redirect_uri, scopes=("openid", "profile", "email", "read"))
    before = users(b)

    claims, token, steps = browser_sign_in(browser, fed, client, redirect_uri, UPSTREAM_NAME)
    # Sign in at A, consent at A (for B), then consent at B (for the client).
    assert steps == [("login", "A"), ("consent", "A"), ("consent", "B")]
    assert "fed" in claims["amr"] and "pwd" not in claims["amr"], claims
    assert claims["idp"] == "upstream"
    provisioned = user_by_id(b, claims["sub"])
    assert provisioned.username == "alice"  # A's preferred_username
    assert provisioned.status == "active"
    assert set(provisioned.scopes.split()) == {"openid", "profile", "email", "read"}
    assert len(users(b)) == len(before) + 1
    wait_audit(b, "user.provisioned", lambda e: e.sub == claims["sub"] and e.detail.get("provider") == "upstream")
    wait_audit(b, "federation.linked", lambda e: e.sub == claims["sub"] and e.detail.get("provider") == "upstream"
               and e.detail.get("method") == "provisioned")
    wait_audit(b, "federation.sign_in", lambda e: e.sub == claims["sub"] and e.detail.get("provider") == "upstream")

    # B's UserInfo answers for the provisioned user.
    info = requests.get(f"{b.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5).json()
    assert info["sub"] == claims["sub"] and info["preferred_username"] == "alice"

    # A new browser session: sign in at A again; both consents are remembered; the same local user.
    clear_cookies(browser)
    again, _, steps = browser_sign_in(browser, fed, client, redirect_uri, UPSTREAM_NAME)
    assert steps == [("login", "A")]
    assert again["sub"] == claims["sub"] and again["idp"] == "upstream" and "fed" in again["amr"]
    assert len(users(b)) == len(before) + 1
    assert [u.username for u in users(b)].count("alice") == 1
    wait_audit(b, "federation.sign_in", lambda e: e.sub == claims["sub"], at_least=2)
    assert len([e for e in audit(b, "federation.linked") if e.sub == claims["sub"]]) == 1

    # The provisioned user has no password: neither the login form nor the password grant lets anyone in.
    session = requests.Session()
    page = session.get(f"{b.url}/login", timeout=5)
    form = next(f for f in forms(page.text) if f.action == "/login")
    for password in ("", "!", "alice", "password"):
        refused = session.post(f"{b.url}/login", data={**form.fields, "username": "alice", "password": password},
                               allow_redirects=False, timeout=5)
        assert refused.status_code in (200, 400, 401) and "Location" not in refused.headers, refused.status_code
    service = b.add_client(grants=("password",), scopes=("read",))
    grant = requests.post(b.token_endpoint, data={"grant_type": "password", "username": "alice", "password": "!", "scope": "read"},
                          auth=(service.client_id, service.client_secret), timeout=5)
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"

    # A password login at B still says amr ["pwd"] and no idp.
    local = b.add_user(scopes=("openid", "profile", "read"))
    clear_cookies(browser)
    plain = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope="openid read",
                          code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier, nonce = generate_token(64), generate_token(16)
    url, _ = plain.create_authorization_url(f"{b.url}/authorize", code_verifier=verifier, nonce=nonce)
    browser.get(url)
    log_in(browser, local)
    wait_for(browser, EC.element_to_be_clickable((By.ID, "consent-allow"))).click()
    final = wait_for(browser, lambda d: d.current_url if d.current_url.startswith(redirect_uri) else False)
    password_token = plain.fetch_token(b.token_endpoint, authorization_response=final, code_verifier=verifier)
    password_claims = verify_id_token(b, password_token["id_token"], client["client_id"], nonce, password_token["access_token"])
    assert password_claims["amr"] == ["pwd"] and "idp" not in password_claims


def test_plain_oauth2_provider_maps_userinfo_claims(fed, browser, callback):  # noqa: F811
    b, gh = fed.b, fed.gh
    login = "octo-" + generate_token(6).lower()
    gh.identity = {"id": 5830000 + len(gh.token_requests), "login": login, "name": "The Octocat",
                   "email": f"{login}@users.example", "site_admin": False}
    redirect_uri = f"{callback}/gh"
    client = add_browser_client(b, redirect_uri, scopes=("openid", "profile", "email", "read"))
    before = len(users(b))

    claims, token, steps = browser_sign_in(browser, fed, client, redirect_uri, GITHUB_NAME)
    assert steps == [("consent", "B")]  # the fixture approves at once
    assert claims["idp"] == "gh" and "fed" in claims["amr"]
    provisioned = user_by_id(b, claims["sub"])
    assert provisioned.username == login  # from `login`
    assert len(users(b)) == before + 1
    wait_audit(b, "federation.linked", lambda e: e.sub == claims["sub"] and e.detail.get("method") == "provisioned")

    # What the provider saw: PKCE S256, state, the configured scopes, B's callback; the verifier at /token.
    sent = gh.authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and sent["state"] and sent["response_type"] == "code"
    assert sent["redirect_uri"] == f"{b.url}/federation/gh/callback"
    assert sent["scope"].split() == ["read:user", "user:email"]
    assert "nonce" not in sent or sent["nonce"]
    exchanged = gh.token_requests[-1]
    assert exchanged["code_verifier"] and exchanged["auth_method"] in ("client_secret_basic", "client_secret_post")
    assert gh.errors == []

    # The mapped name is served; the email is not (GitHub's /user does not say it is verified).
    info = requests.get(f"{b.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5).json()
    assert info["preferred_username"] == login and info["name"] == "The Octocat"
    assert "email" not in info

    # A new browser session reuses the link (and the remembered consent).
    clear_cookies(browser)
    again, _, steps = browser_sign_in(browser, fed, client, redirect_uri, GITHUB_NAME)
    assert steps == []
    assert again["sub"] == claims["sub"] and again["idp"] == "gh"
    assert len(users(b)) == before + 1
    assert gh.errors == []


def test_account_lists_and_unlinks_an_identity_then_a_new_sign_in_provisions_anew(fed, browser, mock):  # noqa: F811
    b = fed.b
    email = f"una-{generate_token(6).lower()}@mock.example"
    mock.identity = {"sub": "una-" + generate_token(8), "email": email, "email_verified": True, "name": "Una",
                     "preferred_username": email.split("@")[0]}

    browser.get(f"{b.url}/account")
    continue_with(browser, MOCK_NAME)
    first = wait_for(browser, EC.presence_of_element_located((By.ID, "account-username"))).text
    assert first == email.split("@")[0]
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Linked sign-ins" in page and MOCK_NAME in page and email in page
    first_id = next(u.id for u in users(b) if u.username == first)

    forms_on_page = [f for f in forms(browser.page_source) if f.action == "/account/federation/unlink"]
    assert len(forms_on_page) == 1 and forms_on_page[0].fields.get("provider_id") == "mock", forms_on_page
    assert forms_on_page[0].fields.get("subject") == mock.identity["sub"]
    unlink = "//form[@action='/account/federation/unlink']//*[normalize-space(.)='Unlink' or @value='Unlink']"

    # The only way this password-less user can sign in: Unlink is refused, with the reason, and the link stays.
    click_and_wait(browser, unlink)
    refusal = browser.find_element(By.ID, "link-error").text
    assert "only way you can sign in" in refusal
    assert browser.find_elements(By.XPATH, unlink)

    # With a password (set by an administrator) the link can go. Setting it signed the user out everywhere
    # (issue 20: a password reset ends every session), so they sign in through the provider again. The server
    # may use its cached user row for up to a second after the CLI's change, so the refusal may repeat for that long.
    fed.b.cli("user", "passwd", first, "--password-stdin", input=generate_token(24))
    browser.get(f"{b.url}/account")
    continue_with(browser, MOCK_NAME)
    assert wait_for(browser, EC.presence_of_element_located((By.ID, "account-username"))).text == first
    deadline = time.monotonic() + 5
    while True:
        browser.get(f"{b.url}/account")
        wait_for(browser, EC.presence_of_element_located((By.ID, "account-username")))
        click_and_wait(browser, unlink)
        wait_for(browser, EC.presence_of_element_located((By.ID, "account-username")))
        if not browser.find_elements(By.ID, "link-error") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert not browser.find_elements(By.XPATH, unlink), browser.find_element(By.TAG_NAME, "main").text
    wait_audit(b, "federation.unlinked", lambda e: e.sub == first_id and e.detail.get("provider") == "mock")

    # Signing in upstream again links anew: linkByVerifiedEmail is off for this provider, so a new user.
    clear_cookies(browser)
    browser.get(f"{b.url}/account")
    continue_with(browser, MOCK_NAME)
    second = wait_for(browser, EC.presence_of_element_located((By.ID, "account-username"))).text
    assert second != first and second.startswith(first)
    second_id = next(u.id for u in users(b) if u.username == second)
    wait_audit(b, "federation.linked", lambda e: e.sub == second_id and e.detail.get("method") == "provisioned")
    assert MOCK_NAME in browser.find_element(By.TAG_NAME, "main").text
    assert mock.errors == []


def test_unlink_needs_the_csrf_token_and_only_touches_the_signed_in_users_links(fed, mock):
    b = fed.b

    def sign_in(sub: str):
        mock.identity = {"sub": sub, "preferred_username": "idor-" + generate_token(4).lower()}
        session = requests.Session()
        _, response = upstream_round_trip(b, session, "mock", MOCK_NAME, "/login?return_to=%2Faccount")
        account = follow_continue(b, session, response)
        return session, account, re.search(r'id="account-username">([^<]*)<', account.text).group(1)

    victim_sub, attacker_sub = "victim-" + generate_token(8), "attacker-" + generate_token(8)
    _, _, victim = sign_in(victim_sub)
    session, account, attacker = sign_in(attacker_sub)
    own = next(f for f in forms(account.text) if f.action == "/account/federation/unlink")
    assert own.fields["subject"] == attacker_sub

    # Another user's link, named in a forged form: nothing happens to it.
    session.post(f"{b.url}/account/federation/unlink", data={**own.fields, "subject": victim_sub}, timeout=10)
    # The own link without the CSRF token: refused.
    refused = session.post(f"{b.url}/account/federation/unlink", data={**own.fields, "csrf_token": "forged"},
                           allow_redirects=False, timeout=10)
    assert refused.status_code in (400, 403), refused.status_code
    assert f'value="{attacker_sub}"' in session.get(f"{b.url}/account", timeout=10).text
    # Both identities still sign in as their users.
    assert sign_in(victim_sub)[2] == victim
    assert sign_in(attacker_sub)[2] == attacker
    victim_id = next(u.id for u in users(b) if u.username == victim)
    attacker_id = next(u.id for u in users(b) if u.username == attacker)
    # Events are flushed in order: once the attacker's last sign-in is listed, an unlink before it would be too.
    wait_audit(b, "federation.sign_in", lambda e: e.sub == attacker_id, at_least=2)
    assert not [e for e in audit(b, "federation.unlinked") if e.sub in (victim_id, attacker_id)]


# --- linking by verified email ---------------------------------------------------------------------


def test_verified_email_links_to_the_existing_user_only_where_trusted(fed, mock):
    b, trusted = fed.b, fed.trusted
    carol = b.add_user(scopes=("openid", "read"))
    email = f"{carol.username}@corp.example"
    b.cli("user", "profile", carol.username, "--email", email.upper())  # compared case-insensitively

    # An unverified email at the trusted provider: not linked either.
    trusted.identity = {"sub": "t-" + generate_token(8), "email": email, "email_verified": False}
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "trusted", TRUSTED_NAME)
    continue_target(response)
    account = session.get(f"{b.url}/account", timeout=10)
    assert 'id="account-username"' in account.text and f">{carol.username}<" not in account.text

    # A verified email at the trusted provider links to carol.
    trusted.identity = {"sub": "t-" + generate_token(8), "email": email, "email_verified": True, "name": "Carol"}
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "trusted", TRUSTED_NAME)
    continue_target(response)
    account = session.get(f"{b.url}/account", timeout=10)
    assert f'id="account-username">{carol.username}<' in account.text
    wait_audit(b, "federation.linked", lambda e: e.sub == carol.id and e.detail.get("method") == "verified_email"
               and e.detail.get("provider") == "trusted")
    assert not [e for e in audit(b, "user.provisioned") if e.sub == carol.id]

    # The same verified email from a provider not trusted for it: a new user, never carol.
    mock.identity = {"sub": "m-" + generate_token(8), "email": email, "email_verified": True}
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "mock", MOCK_NAME, "/login?return_to=%2Faccount")
    account = follow_continue(b, session, response)
    assert 'id="account-username"' in account.text and f">{carol.username}<" not in account.text
    # carol keeps her password.
    service = b.add_client(grants=("password",), scopes=("read",))
    grant = requests.post(b.token_endpoint, data={"grant_type": "password", "username": carol.username, "password": carol.password,
                                                  "scope": "read"}, auth=(service.client_id, service.client_secret), timeout=5)
    assert grant.status_code == 200, grant.text
    assert trusted.errors == [] and mock.errors == []


def test_return_to_stays_on_tessera_and_upstream_text_is_escaped(fed, mock):
    """An off-site return_to is not followed after the upstream sign-in (no open redirect), and what the
    provider says about the user is shown escaped and cleaned."""
    b = fed.b
    mock.identity = {"sub": "esc-" + generate_token(8), "email": "<b>bold</b>@mock.example", "email_verified": False,
                     "name": "<script>alert(1)</script>", "preferred_username": "../<Eve> Admin"}
    session = requests.Session()
    page = session.get(f"{b.url}/login", timeout=10)
    form = federated_form(page.text, "mock", MOCK_NAME)
    started = session.post(urljoin(b.url, form.action), data={**form.fields, "return_to": "https://evil.example/steal"},
                           allow_redirects=False, timeout=10)
    assert started.status_code in (302, 303)
    callback_url = requests.get(started.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    response = session.get(callback_url, allow_redirects=False, timeout=10)
    target = continue_target(response)
    assert target.startswith("/") and not target.startswith("//"), target
    assert "evil.example" not in response.text
    account = session.get(urljoin(b.url, target), timeout=10)
    username = re.search(r'id="account-username">([^<]*)<', account.text).group(1)
    assert re.fullmatch(r"[a-z0-9._-]+", html.unescape(username)), username
    assert "<b>bold</b>" not in account.text and "<script>" not in account.text
    assert "&lt;b&gt;bold&lt;/b&gt;@mock.example" in account.text  # the linked sign-in's upstream email, escaped


def test_idp_hint_skips_the_login_page(fed, mock):
    """`idp_hint=<id>` on /authorize goes straight to that provider and, after it, back to the authorization request."""
    b = fed.b
    mock.identity = {"sub": "hint-" + generate_token(8), "preferred_username": "hint-" + generate_token(4).lower()}
    redirect_uri = "http://127.0.0.1:9/never-fetched"
    client = add_browser_client(b, redirect_uri, scopes=("openid", "read"), consent=False)
    verifier = generate_token(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect_uri, "scope": "openid read",
             "state": "st", "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"}
    session = requests.Session()
    started = session.get(f"{b.url}/authorize?" + urlencode({**query, "idp_hint": "mock"}), allow_redirects=False, timeout=10)
    assert started.status_code == 303 and started.headers["Location"].startswith(mock.issuer), started.text[:500]
    callback_url = requests.get(started.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    target = continue_target(session.get(callback_url, allow_redirects=False, timeout=10))
    assert target.startswith("/authorize?")
    landing = session.get(urljoin(b.url, target), allow_redirects=False, timeout=10)
    assert landing.status_code == 303 and "code=" in landing.headers["Location"], landing.text[:500]
    unknown = requests.get(f"{b.url}/authorize?" + urlencode({**query, "idp_hint": "nope"}), allow_redirects=False, timeout=10)
    assert unknown.status_code == 200 and 'id="login-submit"' in unknown.text


def test_a_disabled_user_cannot_sign_in_upstream(fed, mock):
    b = fed.b
    name = "dis-" + generate_token(6).lower()
    mock.identity = {"sub": "dis-" + generate_token(8), "preferred_username": name}
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "mock", MOCK_NAME)
    continue_target(response)
    already = _failures(b, "account_disabled")

    def sign_in_until(status: int) -> requests.Response:
        # The server caches user rows for at most 1 s against changes made by the CLI (another process).
        deadline = time.monotonic() + 5
        while True:
            response = upstream_round_trip(b, requests.Session(), "mock", MOCK_NAME)[1]
            if response.status_code == status or time.monotonic() > deadline:
                return response
            time.sleep(0.3)

    b.cli("user", "disable", name)
    assert_error_page(sign_in_until(400), 400, "This account is disabled")
    wait_audit(b, "federation.failed", lambda e: e.detail.get("reason") == "account_disabled", at_least=already + 1)
    b.cli("user", "enable", name)
    continue_target(sign_in_until(200))


# --- MFA -------------------------------------------------------------------------------------------


def test_totp_still_applies_after_an_upstream_sign_in_unless_the_provider_is_trusted_for_mfa(fed, mock):
    pyotp = pytest.importorskip("pyotp")
    b, trusted = fed.b, fed.trusted
    name = "mfa-" + generate_token(6).lower()
    email = f"{name}@corp.example"
    mock.identity = {"sub": "mfa-" + generate_token(8), "email": email, "email_verified": True, "preferred_username": name}

    # Provisioned through mock (not trusted for email, so its address is not copied to the profile: an administrator
    # confirms it below); TOTP enrolled from /account.
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "mock", MOCK_NAME, "/login?return_to=%2Faccount")
    account = follow_continue(b, session, response)
    assert f'id="account-username">{name}<' in account.text
    user_id = next(u.id for u in users(b) if u.username == name)
    b.cli("user", "profile", name, "--email", email)
    setup_form = next(f for f in forms(account.text) if f.action == "/account/mfa/setup")
    setup = session.post(f"{b.url}/account/mfa/setup", data=setup_form.fields, timeout=10)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)
    confirm_form = next(f for f in forms(setup.text) if f.action == "/account/mfa/confirm")
    confirmed = session.post(f"{b.url}/account/mfa/confirm", data={**confirm_form.fields, "otp": pyotp.TOTP(secret).now()}, timeout=10)
    codes = re.findall(r'class="recovery-code">([^<]+)<', confirmed.text)
    assert len(codes) == 10, confirmed.text[:2000]

    # mock is not trusted for MFA: after the upstream sign-in comes Tessera's own code step.
    fresh = requests.Session()
    _, response = upstream_round_trip(b, fresh, "mock", MOCK_NAME, "/login?return_to=%2Faccount")
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    assert urlsplit(response.headers["Location"]).path == "/login/mfa"
    challenge = fresh.get(urljoin(b.url, response.headers["Location"]), timeout=10)
    mfa_form = next(f for f in forms(challenge.text) if f.action == "/login/mfa")
    wrong = fresh.post(f"{b.url}/login/mfa", data={**mfa_form.fields, "otp": "not-a-code"}, allow_redirects=False, timeout=10)
    assert "Location" not in wrong.headers
    done = fresh.post(f"{b.url}/login/mfa", data={**mfa_form.fields, "otp": codes[0]}, allow_redirects=False, timeout=10)
    assert done.status_code in (302, 303), done.text[:2000]
    assert f'id="account-username">{name}<' in fresh.get(f"{b.url}/account", timeout=10).text

    # trusted links by the verified email to the same user and is trusted for MFA: no code step, and its
    # own amr is passed on. Checked on the ID token of a code flow that starts at /authorize.
    trusted.identity = {"sub": "tm-" + generate_token(8), "email": email, "email_verified": True, "amr": ["pwd", "mfa"]}
    redirect_uri = "http://127.0.0.1:9/never-fetched"
    client = add_browser_client(b, redirect_uri, scopes=("openid", "read"), consent=False)
    verifier, nonce = generate_token(64), generate_token(16)
    challenge_value = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorize = "/authorize?" + urlencode({
        "response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect_uri, "scope": "openid read",
        "state": "st", "nonce": nonce, "code_challenge": challenge_value, "code_challenge_method": "S256"})
    third = requests.Session()
    _, response = upstream_round_trip(b, third, "trusted", TRUSTED_NAME, authorize)
    target = continue_target(response)
    assert target.startswith("/authorize?")
    landing = third.get(urljoin(b.url, target), allow_redirects=False, timeout=10)
    assert landing.status_code in (302, 303) and landing.headers["Location"].startswith(redirect_uri), landing.text[:2000]
    code = parse_qs(urlsplit(landing.headers["Location"]).query)["code"][0]
    token = requests.post(b.token_endpoint, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                                 "client_id": client["client_id"], "code_verifier": verifier}, timeout=10)
    assert token.status_code == 200, token.text
    claims = verify_id_token(b, token.json()["id_token"], client["client_id"], nonce, token.json()["access_token"])
    assert claims["sub"] == user_id and claims["idp"] == "trusted"
    assert claims["amr"][0] == "fed" and "mfa" in claims["amr"], claims["amr"]
    wait_audit(b, "federation.linked", lambda e: e.sub == user_id and e.detail.get("method") == "verified_email")
    assert trusted.errors == [] and mock.errors == []


# --- failures --------------------------------------------------------------------------------------


def _failures(server, reason: str) -> int:
    return len([e for e in audit(server, "federation.failed") if e.detail.get("reason") == reason])


@pytest.mark.parametrize("mode, reason, message", [
    ("tamper", "invalid_id_token", "identity token could not be verified"),
    ("wrong_nonce", "nonce_mismatch", "identity token could not be verified"),
    ("evil_iss", "issuer_mismatch", "did not come from the expected provider"),
    ("deny", "access_denied", "declined"),
])
def test_upstream_failures_show_an_error_page_and_are_audited(fed, mock, mode, reason, message):
    b = fed.b
    mock.identity = {"sub": "x-" + generate_token(8), "email": "x@mock.example", "email_verified": True}
    already = _failures(b, reason)
    before = len(users(b))
    mock.mode = mode
    session = requests.Session()
    _, response = upstream_round_trip(b, session, "mock", MOCK_NAME)
    assert_error_page(response, 400, message)
    assert "The user said no" not in response.text  # upstream text is never echoed
    wait_audit(b, "federation.failed", lambda e: e.detail.get("reason") == reason and e.detail.get("provider") == "mock",
               at_least=already + 1)
    assert len(users(b)) == before  # nobody provisioned
    assert 'id="account-username"' not in session.get(f"{b.url}/account", timeout=10).text  # not signed in


def test_a_callback_is_single_use_and_bound_to_the_browser(fed, mock):
    b = fed.b
    mock.identity = {"sub": "r-" + generate_token(8), "email": "r@mock.example", "email_verified": False}
    session = requests.Session()
    session.get(f"{b.url}/login", timeout=10)
    anonymous = session.cookies.get("tessera_session")
    callback_url, first = upstream_round_trip(b, session, "mock", MOCK_NAME)
    assert session.cookies.get("tessera_session") not in (None, anonymous)  # a new session on sign-in (no fixation)
    assert 'id="account-username"' in follow_continue(b, session, first).text
    already = _failures(b, "invalid_state")
    replay = session.get(callback_url, allow_redirects=False, timeout=10)
    assert_error_page(replay, 400, "expired or was already used")
    wait_audit(b, "federation.failed", lambda e: e.detail.get("reason") == "invalid_state", at_least=already + 1)

    # A callback delivered to another browser than the one that started the sign-in is refused, and spent.
    started = requests.Session()
    authorize = begin_upstream(b, started, "mock", MOCK_NAME)
    callback_url = requests.get(authorize, allow_redirects=False, timeout=10).headers["Location"]
    elsewhere = requests.Session()
    elsewhere.get(f"{b.url}/login", timeout=10)  # a session of its own
    assert_error_page(elsewhere.get(callback_url, allow_redirects=False, timeout=10), 400, "expired or was already used")
    assert_error_page(started.get(callback_url, allow_redirects=False, timeout=10), 400, "expired or was already used")
    # A made-up state, and none at all.
    for query in ("code=abc&state=forged", "code=abc"):
        assert_error_page(session.get(f"{b.url}/federation/mock/callback?{query}", allow_redirects=False, timeout=10),
                          400, "expired or was already used")
    wait_audit(b, "federation.failed", lambda e: e.detail.get("reason") == "invalid_state", at_least=already + 5)


def test_a_callback_with_a_repeated_parameter_is_refused_and_audited(fed, mock):
    b = fed.b
    for extra in ("&code=other", "&state=other"):
        already = _failures(b, "invalid_state")
        session = requests.Session()
        authorize = begin_upstream(b, session, "mock", MOCK_NAME)
        callback_url = requests.get(authorize, allow_redirects=False, timeout=10).headers["Location"]
        assert_error_page(session.get(callback_url + extra, allow_redirects=False, timeout=10), 400, "expired or was already used")
        wait_audit(b, "federation.failed", lambda e: e.detail.get("reason") == "invalid_state", at_least=already + 1)


@pytest.fixture(scope="module")
def down(fed):
    """A Tessera with a provider where nothing listens, beside a working one (its own server, so that the
    other tests never wait on the unreachable provider)."""
    mock = fed.mock
    dead_port, port = _distinct_ports(2)
    workdir = Path(tempfile.mkdtemp(prefix="down-", dir=fed.root))
    config = workdir / "tessera.json"
    config.write_text(json.dumps({"identityProviders": [
        {"id": "down", "displayName": "Offline IdP", "type": "oidc", "issuer": f"http://127.0.0.1:{dead_port}",
         "clientId": "nobody", "clientSecretEnv": "MOCK_SECRET", "provisionUsers": True},
        {"id": "mock", "displayName": MOCK_NAME, "type": "oidc", "issuer": mock.issuer, "clientId": mock.client_id,
         "clientSecretEnv": "MOCK_SECRET", "provisionUsers": True},
        {"id": "closed", "displayName": "Closed IdP", "type": "oidc", "issuer": mock.issuer, "clientId": mock.client_id,
         "clientSecretEnv": "MOCK_SECRET", "provisionUsers": False},
    ]}))
    server = _server(fed.root, "down", port, {"TESSERA_CONFIG": str(config), "MOCK_SECRET": mock.client_secret})
    server.start()
    yield server
    server.stop()


def test_an_unreachable_provider_gives_502_and_others_still_work(down, mock):
    session = requests.Session()
    page = session.get(f"{down.url}/login", timeout=30)
    form = federated_form(page.text, "down", "Offline IdP")
    response = session.post(urljoin(down.url, form.action), data=form.fields, allow_redirects=False, timeout=30)
    assert_error_page(response, 502, "could not be reached")
    wait_audit(down, "federation.failed", lambda e: e.detail.get("reason") == "provider_unavailable"
               and e.detail.get("provider") == "down")

    # An unknown provider id, at both routes: refused, never a 500.
    unknown = session.post(f"{down.url}/login/federated/nope", data=form.fields, allow_redirects=False, timeout=10)
    assert unknown.status_code in (400, 404), unknown.status_code
    unknown = session.get(f"{down.url}/federation/nope/callback?code=a&state=b", allow_redirects=False, timeout=10)
    assert unknown.status_code in (400, 404), unknown.status_code
    # The form without its CSRF token is refused.
    forged = session.post(urljoin(down.url, form.action), data={**form.fields, "csrf_token": "forged"},
                          allow_redirects=False, timeout=10)
    assert forged.status_code in (400, 403) and "Location" not in forged.headers, forged.status_code

    # The other provider still works (the same page's form).
    mock.identity = {"sub": "d-" + generate_token(8)}
    form = federated_form(page.text, "mock", MOCK_NAME)
    started = session.post(urljoin(down.url, form.action), data=form.fields, allow_redirects=False, timeout=10)
    assert started.status_code in (302, 303), started.text[:2000]
    callback_url = requests.get(started.headers["Location"], allow_redirects=False, timeout=10).headers["Location"]
    continue_target(session.get(callback_url, allow_redirects=False, timeout=10))


def test_a_provider_that_may_not_provision_refuses_unknown_identities(down, mock):
    mock.identity = {"sub": "closed-" + generate_token(8), "email": "c@mock.example", "email_verified": True}
    before = users(down)
    _, response = upstream_round_trip(down, requests.Session(), "closed", "Closed IdP")
    assert_error_page(response, 400, "No account is linked to this identity")
    wait_audit(down, "federation.failed", lambda e: e.detail.get("reason") == "no_local_account" and e.detail.get("provider") == "closed")
    assert users(down) == before


def test_the_login_page_does_not_wait_for_an_unreachable_provider(down):
    for _ in range(2):  # a request timeout, not a measurement: the page must not hang on the provider
        page = requests.get(f"{down.url}/login", timeout=5)
        assert page.status_code == 200
        federated_form(page.text, "down", "Offline IdP")
