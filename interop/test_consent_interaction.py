"""Issue 20 items 6 and 10 in a real Chromium: the consent form carries only an interaction id, so editing the
page's form (a hidden `scope` changed or added) does not widen the grant, and a consent POST cannot be replayed;
a self-registered client is marked "unverified application" on the consent page.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from test_browser import (  # noqa: E402  (shared driver fixture and helpers)
    add_browser_client,
    browser,  # noqa: F401
    callback,  # noqa: F401
    landed,
    log_in,
    pytestmark,  # noqa: F401  (skips without chromium)
    wait_for,
)
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402


def open_consent(driver, server, client, user, redirect_uri, scope):
    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope=scope,
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, state = session.create_authorization_url(f"{server.url}/authorize", code_verifier=verifier)
    driver.get(url)
    if driver.find_elements(By.ID, "username"):
        log_in(driver, user)
    wait_for(driver, EC.element_to_be_clickable((By.ID, "consent-allow")))
    return session, verifier, state


def form_fields(driver):
    return driver.execute_script(
        "const f = document.querySelector('form[action=\"/consent\"]');"
        "return Array.from(f.querySelectorAll('input')).map(i => [i.name, i.value]);")


def session_cookie(driver, server):
    cookies = [c for c in driver.get_cookies() if "tessera_session" in c["name"]]
    assert cookies, driver.get_cookies()
    return f"{cookies[0]['name']}={cookies[0]['value']}"


def test_editing_the_consent_form_does_not_widen_the_scopes(tessera, browser, callback):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri, scopes=("openid", "profile", "read"))
    user = tessera.add_user(scopes=("openid", "profile", "read"))
    session, verifier, state = open_consent(browser, tessera, client, user, redirect_uri, "openid")
    names = [name for name, _ in form_fields(browser)]
    assert sorted(names) == ["csrf_token", "interaction"], names
    # An attacker-controlled page script (or the user's devtools) edits the form: widen scope, change the target.
    browser.execute_script(
        "const f = document.querySelector('form[action=\"/consent\"]');"
        "for (const [n, v] of [['scope', 'openid profile read'], ['redirect_uri', 'https://evil.example/cb'], ['prompt', 'none']]) {"
        "  let i = f.querySelector(`input[name=\"${n}\"]`);"
        "  if (!i) { i = document.createElement('input'); i.type = 'hidden'; i.name = n; f.appendChild(i); }"
        "  i.value = v; }")
    browser.find_element(By.ID, "consent-allow").click()
    final = landed(browser, redirect_uri)
    assert parse_qs(urlsplit(final).query)["state"] == [state]
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    assert token["scope"] == "openid", token


def test_a_consent_post_cannot_be_replayed(tessera, browser, callback):
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri)
    user = tessera.add_user(scopes=("openid", "profile", "read"))
    open_consent(browser, tessera, client, user, redirect_uri, "openid read")
    fields = dict(form_fields(browser))
    cookie = session_cookie(browser, tessera)
    browser.find_element(By.ID, "consent-allow").click()
    assert "code" in parse_qs(urlsplit(landed(browser, redirect_uri)).query)
    replay = requests.post(f"{tessera.url}/consent", data={**fields, "decision": "allow"}, headers={"Cookie": cookie},
                           allow_redirects=False, timeout=5)
    assert replay.status_code == 400, replay.text
    assert "Location" not in replay.headers
    assert 'id="error-page"' in replay.text
    # The old form (the whole request in hidden fields, no interaction) gets no code either.
    old = requests.post(f"{tessera.url}/consent", data={
        "csrf_token": fields["csrf_token"], "decision": "allow", "client_id": client["client_id"], "redirect_uri": redirect_uri,
        "response_type": "code", "scope": "openid profile read", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"}, headers={"Cookie": cookie}, allow_redirects=False, timeout=5)
    assert old.status_code == 400 and "Location" not in old.headers


def test_self_registered_client_is_marked_unverified(start_tessera, browser, callback):
    server = start_tessera({"TESSERA_OPEN_REGISTRATION": "true"})
    redirect_uri = f"{callback}/cb"
    user = server.add_user(scopes=("openid", "profile", "read"))
    registered = requests.post(f"{server.url}/register", json={
        "client_name": "Photo Helper", "redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none", "scope": "openid"}, timeout=10)
    assert registered.status_code == 201, registered.text
    anonymous = registered.json()
    open_consent(browser, server, anonymous, user, redirect_uri, "openid")
    notice = browser.find_element(By.ID, "unverified-notice")
    assert "Unverified application" in notice.text
    trusted = add_browser_client(server, redirect_uri)
    open_consent(browser, server, trusted, user, redirect_uri, "openid")
    assert not browser.find_elements(By.ID, "unverified-notice")
