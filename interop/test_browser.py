"""Browser flows in a real headless Chromium (selenium): login, consent, authorization code + PKCE
exchanged through Authlib, ID token validated against /jwks.json, implicit flow, the error page for
an unregistered redirect_uri, remembered consent, and revocation from /account.

The client's redirect target is a tiny http.server on loopback; the code is read from the browser's
URL once it lands there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium and chromedriver are not installed")


# --- fixtures --------------------------------------------------------------------------------------


class _Callback(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"<!DOCTYPE html><title>client</title><p id='client-landed'>ok</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def callback():
    """A loopback page standing in for the client's redirect target; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Callback)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser():
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def add_browser_client(server, redirect_uri, grants=("authorization_code", "refresh_token"),
                       scopes=("openid", "profile", "read"), public=True, consent=True):
    extra_args = ["--redirect-uri", redirect_uri] + ([] if consent else ["--no-consent"])
    return server.add_client(grants, scopes, public, name=server._unique("web"), extra_args=extra_args).info


@pytest.fixture
def user(tessera):
    return tessera.add_user(scopes=("openid", "profile", "read"))


# --- helpers -------------------------------------------------------------------------------------


def wait_for(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def log_in(driver, user):
    wait_for(driver, EC.presence_of_element_located((By.ID, "username")))
    driver.find_element(By.ID, "username").clear()
    driver.find_element(By.ID, "username").send_keys(user.username)
    driver.find_element(By.ID, "password").send_keys(user.password)
    driver.find_element(By.ID, "login-submit").click()


def landed(driver, prefix, timeout=15):
    wait_for(driver, lambda d: d.current_url.startswith(prefix), timeout)
    return driver.current_url


def half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def verify_id_token(server, id_token, client_id, nonce, access_token):
    keys = KeySet.import_key_set(server.jwks())
    token = jwt.decode(id_token, keys, algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.issuer},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        auth_time={"essential": True},
    )
    registry.validate(claims)
    assert claims["at_hash"] == half_hash(access_token)
    assert claims["azp"] == client_id
    return claims


def code_flow(driver, server, client, user, redirect_uri, *, expect_consent=True):
    """Runs /authorize in the browser with Authlib-built PKCE; returns (session, verifier, nonce, landing URL)."""
    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope="openid profile read",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    nonce = secrets.token_urlsafe(16)
    url, state = session.create_authorization_url(f"{server.url}/authorize", code_verifier=verifier, nonce=nonce)
    driver.get(url)
    if driver.find_elements(By.ID, "username"):
        log_in(driver, user)
    if expect_consent:
        wait_for(driver, EC.element_to_be_clickable((By.ID, "consent-allow")))
        page = driver.page_source
        assert client["client_name"] in page
        assert "Confirm your identity" in page and "See your name" in page
        driver.find_element(By.ID, "consent-allow").click()
    final = landed(driver, redirect_uri)
    query = parse_qs(urlsplit(final).query)
    assert query["state"] == [state]
    assert query["iss"] == [server.issuer]
    assert "code" in query
    return session, verifier, nonce, final


# --- tests ---------------------------------------------------------------------------------------


def test_code_flow_with_pkce_and_id_token(tessera, browser, callback, user):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri)
    session, verifier, nonce, final = code_flow(browser, tessera, client, user, redirect_uri)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    assert token["token_type"] == "Bearer"
    assert "refresh_token" in token
    claims = verify_id_token(tessera, token["id_token"], client["client_id"], nonce, token["access_token"])
    assert claims["sub"] == user.id
    # The same code a second time fails (single use) ...
    replay = requests.post(tessera.token_endpoint, data={
        "grant_type": "authorization_code", "code": parse_qs(urlsplit(final).query)["code"][0], "client_id": client["client_id"],
        "redirect_uri": redirect_uri, "code_verifier": verifier}, timeout=5)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # ... and revokes what it produced.
    refreshed = requests.post(tessera.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client["client_id"]}, timeout=5)
    assert refreshed.status_code == 400
    # UserInfo answers for a fresh grant (the replayed one is revoked).
    browser.delete_all_cookies()
    session, verifier, nonce, final = code_flow(browser, tessera, client, user, redirect_uri, expect_consent=False)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    info = requests.get(f"{tessera.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5)
    assert info.status_code == 200
    assert info.json()["sub"] == user.id
    assert info.json()["preferred_username"] == user.username
    # Profile claims set through the CLI appear with the profile scope; email needs the email scope.
    tessera.cli("user", "profile", user.username, "--name", "Ada Lovelace", "--email", "ada@example.com")
    info = requests.get(f"{tessera.url}/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=5).json()
    assert info["name"] == "Ada Lovelace"
    assert "email" not in info
    no_token = requests.get(f"{tessera.url}/userinfo", timeout=5)
    assert no_token.status_code == 401 and no_token.headers["WWW-Authenticate"].startswith("Bearer")


def test_consent_is_remembered_and_new_scope_asks_again(tessera, browser, callback, user):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri)
    code_flow(browser, tessera, client, user, redirect_uri)
    # Same browser, same scopes: straight back to the client, no login and no consent page.
    code_flow(browser, tessera, client, user, redirect_uri, expect_consent=False)
    # A new scope asks again.
    url = f"{tessera.url}/authorize?" + urlencode({
        "client_id": client["client_id"], "redirect_uri": redirect_uri, "response_type": "code", "scope": "openid profile read",
        "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256", "prompt": "consent"})
    browser.get(url)
    wait_for(browser, EC.element_to_be_clickable((By.ID, "consent-deny")))
    browser.find_element(By.ID, "consent-deny").click()
    final = landed(browser, redirect_uri)
    assert parse_qs(urlsplit(final).query)["error"] == ["access_denied"]


def test_implicit_flow_returns_tokens_in_the_fragment_only(tessera, browser, callback, user):
    redirect_uri = f"{callback}/implicit"
    client = add_browser_client(tessera, redirect_uri, grants=("implicit",), scopes=("openid", "read"))
    nonce = secrets.token_urlsafe(16)
    browser.get(f"{tessera.url}/authorize?" + urlencode({
        "client_id": client["client_id"], "redirect_uri": redirect_uri, "response_type": "id_token token",
        "scope": "openid read", "state": "imp", "nonce": nonce}))
    log_in(browser, user)
    wait_for(browser, EC.element_to_be_clickable((By.ID, "consent-allow")))
    browser.find_element(By.ID, "consent-allow").click()
    final = landed(browser, redirect_uri)
    parts = urlsplit(final)
    assert parts.query == "", "nothing in the query"
    fragment = parse_qs(parts.fragment)
    assert fragment["state"] == ["imp"]
    assert fragment["iss"] == [tessera.issuer]
    assert fragment["token_type"] == ["Bearer"]
    assert "refresh_token" not in fragment
    verify_id_token(tessera, fragment["id_token"][0], client["client_id"], nonce, fragment["access_token"][0])


def test_unregistered_redirect_uri_shows_the_error_page(tessera, browser, callback, user):
    client = add_browser_client(tessera, f"{callback}/cb")
    browser.get(f"{tessera.url}/authorize?" + urlencode({
        "client_id": client["client_id"], "redirect_uri": f"{callback}/evil", "response_type": "code", "state": "x",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}))
    wait_for(browser, EC.presence_of_element_located((By.ID, "error-page")))
    assert browser.current_url.startswith(tessera.url + "/authorize")
    assert "not registered" in browser.find_element(By.ID, "error-message").text
    direct = requests.get(browser.current_url, allow_redirects=False, timeout=5)
    assert direct.status_code == 400 and "Location" not in direct.headers


def test_revoking_on_account_page_kills_the_refresh_token(tessera, browser, callback, user):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri)
    session, verifier, _, final = code_flow(browser, tessera, client, user, redirect_uri)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    browser.get(f"{tessera.url}/account")
    rows = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".grant"))
    assert any(client["client_name"] in row.text for row in rows)
    browser.find_element(By.ID, f"revoke-{client['client_id']}").click()
    wait_for(browser, lambda d: not d.find_elements(By.ID, f"revoke-{client['client_id']}"))
    refreshed = requests.post(tessera.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": client["client_id"]}, timeout=5)
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


def test_pages_send_security_headers_and_cookie_attributes(tessera, callback):
    client = add_browser_client(tessera, f"{callback}/cb")
    response = requests.get(f"{tessera.url}/authorize", params={
        "client_id": client["client_id"], "redirect_uri": f"{callback}/cb", "response_type": "code",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}, timeout=5)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<script" not in response.text


def test_first_party_client_skips_consent_and_loopback_port_may_vary(tessera, browser, callback, user):
    # Registered without a port; the public client's loopback redirect may use any port (RFC 8252 §7.3).
    client = add_browser_client(tessera, "http://127.0.0.1/native", consent=False)
    port = urlsplit(callback).port
    redirect_uri = f"http://127.0.0.1:{port}/native"
    session, verifier, nonce, final = code_flow(browser, tessera, client, user, redirect_uri, expect_consent=False)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    verify_id_token(tessera, token["id_token"], client["client_id"], nonce, token["access_token"])


def test_wrong_password_then_logout_with_id_token_hint(tessera, browser, callback, user):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri)
    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope="openid read",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{tessera.url}/authorize", code_verifier=verifier, nonce="abc")
    browser.get(url)
    wait_for(browser, EC.presence_of_element_located((By.ID, "username")))
    browser.find_element(By.ID, "username").send_keys(user.username)
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "login-submit").click()
    error = wait_for(browser, EC.presence_of_element_located((By.ID, "login-error")))
    assert "incorrect" in error.text
    browser.find_element(By.ID, "password").send_keys(user.password)
    browser.find_element(By.ID, "login-submit").click()
    wait_for(browser, EC.element_to_be_clickable((By.ID, "consent-allow"))).click()
    final = landed(browser, redirect_uri)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    browser.get(f"{tessera.url}/logout?" + urlencode({
        "id_token_hint": token["id_token"], "post_logout_redirect_uri": redirect_uri, "state": "bye"}))
    assert parse_qs(urlsplit(landed(browser, redirect_uri)).query)["state"] == ["bye"]
    browser.get(f"{tessera.url}/account")
    wait_for(browser, EC.presence_of_element_located((By.ID, "username")))  # signed out: the login page


def test_crafted_login_hint_and_state_inject_no_markup(tessera, browser, callback):
    """A markup character glued into one grapheme cluster (`"` + U+0301, U+0600 + `<`) is still escaped:
    the login form keeps its action and no element appears (swift-mustache's Character-wise escaping missed it)."""
    client = add_browser_client(tessera, f"{callback}/cb")

    def open_login(value):
        browser.get(f"{tessera.url}/authorize?" + urlencode({
            "client_id": client["client_id"], "redirect_uri": f"{callback}/cb", "response_type": "code", "state": value,
            "login_hint": value, "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}))
        wait_for(browser, EC.presence_of_element_located((By.ID, "username")))
        return {tag: len(browser.find_elements(By.TAG_NAME, tag)) for tag in ("form", "input", "meta", "a", "b", "button")}

    benign = open_login("x")
    for payload in ("x\"\u0301><meta http-equiv=refresh content=0;url=https://evil.example>",
                    "x\"\u0301>\u0301\u0600<meta http-equiv=refresh content=0;url=https://evil.example>\u0301",
                    "\u0605<form action=https://evil.example>\u0301\u0605<input name=x>\u0301\u0605<b>\u0301"):
        counts = open_login(payload)
        assert counts == benign, (payload, counts, benign)
        forms = browser.find_elements(By.TAG_NAME, "form")
        assert forms[0].get_attribute("action") == f"{tessera.url}/login"
        assert all(form.get_attribute("action").startswith(tessera.url) for form in forms)
        # The hint is shown as text in the username field, exactly as sent.
        assert browser.find_element(By.ID, "username").get_attribute("value") == payload
        assert browser.current_url.startswith(f"{tessera.url}/authorize")


def test_max_age_zero_signs_in_once_and_lands_with_a_code(tessera, browser, callback, user):
    """Issue 20, item 5 (OIDC Core §3.1.2.1): with max_age=0 the user signs in once and lands on the client with a
    code (it used to send them back to the login form forever); auth_time is that fresh sign-in."""
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri, consent=False)
    first = code_flow(browser, tessera, client, user, redirect_uri, expect_consent=False)
    earlier = first[0].fetch_token(tessera.token_endpoint, authorization_response=first[3], code_verifier=first[1])
    earlier_auth_time = verify_id_token(tessera, earlier["id_token"], client["client_id"], first[2], earlier["access_token"])["auth_time"]
    time.sleep(1.1)  # the existing sign-in is now older than 0 s, to the second

    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope="openid read",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{tessera.url}/authorize", code_verifier=verifier, nonce="n-max-age", max_age="0")
    browser.get(url)
    log_in(browser, user)  # the signed-in user must authenticate again, once
    final = landed(browser, redirect_uri)
    query = parse_qs(urlsplit(final).query)
    assert "code" in query and query["state"] == [state]
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    claims = verify_id_token(tessera, token["id_token"], client["client_id"], "n-max-age", token["access_token"])
    assert claims["auth_time"] > earlier_auth_time


def test_redirect_uri_change_forgets_remembered_consent(tessera, browser, callback, user):
    """Issue 20, item 7 (RFC 7592 §2.2): after a PUT replaces redirect_uris, prompt=none at the new URI is
    consent_required instead of a silent code."""
    token = json.loads(tessera.cli("client", "registration-token", "--json").stdout)["initial_access_token"]
    first_uri, new_uri = f"{callback}/cb", f"{callback}/moved"
    info = requests.post(f"{tessera.url}/register", headers={"Authorization": f"Bearer {token}"}, timeout=10, json={
        "client_name": "Movable", "redirect_uris": [first_uri], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code"], "scope": "openid profile read"}).json()
    code_flow(browser, tessera, info, user, first_uri)  # consents

    def silent(redirect_uri):
        browser.get(f"{tessera.url}/authorize?" + urlencode({
            "client_id": info["client_id"], "redirect_uri": redirect_uri, "response_type": "code", "scope": "openid profile read",
            "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256", "prompt": "none"}))
        return parse_qs(urlsplit(landed(browser, redirect_uri)).query)

    assert "code" in silent(first_uri), "remembered consent gives a silent code"
    put = requests.put(info["registration_client_uri"], headers={"Authorization": f"Bearer {info['registration_access_token']}"},
                       timeout=10, json={"client_id": info["client_id"], "client_name": "Movable", "redirect_uris": [new_uri],
                                         "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
                                         "scope": "openid profile read"})
    assert put.status_code == 200, put.text
    answer = silent(new_uri)
    assert answer.get("error") == ["consent_required"] and "code" not in answer, answer
