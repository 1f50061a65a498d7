"""TOTP multi-factor authentication in a real headless Chromium (selenium).

The test enrols from /account exactly as a person would: it reads the key shown on the page, computes
codes with pyotp (as an authenticator app does), signs out, signs in again through the MFA step, then
signs in with a recovery code, and shows that the same recovery code and a wrong code are refused.
A TOTP time step works once (RFC 6238 §5.2), so the second TOTP login waits for the next 30 s step.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

pyotp = pytest.importorskip("pyotp")

from test_browser import (  # noqa: E402  (shared driver fixture and helpers)
    add_browser_client,
    browser,  # noqa: F401
    callback,  # noqa: F401
    landed,
    log_in,
    pytestmark,  # noqa: F401  (skips without chromium)
    wait_for,
)
from interop_support import hidden_fields  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402


def sign_out(driver, tessera):
    driver.get(f"{tessera.url}/account")
    wait_for(driver, EC.element_to_be_clickable((By.ID, "logout-submit"))).click()
    wait_for(driver, lambda d: "/logout" in d.current_url or d.find_elements(By.ID, "message"))
    driver.get(f"{tessera.url}/account")
    wait_for(driver, EC.presence_of_element_located((By.ID, "username")))  # signed out: the login page


def password_step(driver, user):
    """Signs in with the password; the browser must land on the MFA step, not in the account."""
    log_in(driver, user)
    wait_for(driver, EC.presence_of_element_located((By.ID, "verify-otp")))
    assert "/login/mfa" in driver.current_url


def submit_code(driver, code):
    field = driver.find_element(By.ID, "otp")
    field.clear()
    field.send_keys(code)
    driver.find_element(By.ID, "verify-otp").click()


def reauthenticate(driver, user, code=None):
    """Fills in the re-authentication form a factor change asks for (issue 20 item 8): the password, and a code."""
    wait_for(driver, EC.presence_of_element_located((By.ID, "reauth-password"))).send_keys(user.password)
    if code is not None:
        driver.find_element(By.ID, "reauth-otp").send_keys(code)
    driver.find_element(By.ID, "reauth-submit").click()


def requests_sign_in(tessera, user) -> requests.Session:
    """A second, password-only sign-in of `user` (another device), without a browser."""
    other = requests.Session()
    page = other.get(f"{tessera.url}/login", params={"return_to": "/account"}, timeout=10)
    done = other.post(f"{tessera.url}/login", data={**hidden_fields(page.text), "username": user.username, "password": user.password},
                      allow_redirects=False, timeout=10)
    assert done.status_code in (302, 303), done.text
    assert 'id="account-username"' in other.get(f"{tessera.url}/account", timeout=10).text
    return other


def wrong_code(totp) -> str:
    now = time.time()
    valid = {totp.at(now + offset) for offset in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 1_000_000)) if c not in valid)


def test_mfa_enrol_login_recovery_codes_and_reset(tessera, browser, callback):  # noqa: F811
    user = tessera.add_user(scopes=("openid", "profile", "read"))

    # Enrol from /account: the key and the otpauth:// URI are on the page as text.
    browser.get(f"{tessera.url}/account")
    log_in(browser, user)
    wait_for(browser, EC.element_to_be_clickable((By.ID, "setup-totp"))).click()
    reauthenticate(browser, user)
    secret = wait_for(browser, EC.presence_of_element_located((By.ID, "totp-secret"))).text.strip()
    uri = browser.find_element(By.ID, "totp-uri").text.strip()
    assert uri.startswith(f"otpauth://totp/Tessera:{user.username}?secret={secret}")
    assert "issuer=Tessera" in uri
    assert pyotp.parse_uri(uri).secret == secret
    totp = pyotp.TOTP(secret)  # 6 digits, 30 s, SHA-1: what authenticator apps assume
    browser.find_element(By.ID, "otp").send_keys(totp.now())
    enrolled_step = int(time.time() // 30)  # read after computing the code: never earlier than its step
    browser.find_element(By.ID, "confirm-totp").click()
    wait_for(browser, EC.presence_of_element_located((By.ID, "recovery-codes")))
    codes = [element.text.strip() for element in browser.find_elements(By.CLASS_NAME, "recovery-code")]
    assert len(codes) == 10 and len(set(codes)) == 10
    browser.get(f"{tessera.url}/account")
    assert wait_for(browser, EC.presence_of_element_located((By.ID, "mfa-status"))).get_attribute("data-mfa") == "on"
    assert any(line.startswith(user.username) and "mfa=on" in line for line in tessera.cli("user", "list").stdout.splitlines())

    # The password grant refuses a user with MFA, with a clear description.
    service = tessera.add_client(grants=("password",), scopes=("read",))
    refused = requests.post(tessera.token_endpoint, data={"grant_type": "password", "username": user.username,
                                                          "password": user.password, "scope": "read"},
                            auth=(service.client_id, service.client_secret), timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "multi-factor" in refused.json()["error_description"]

    # Sign out; sign in with a recovery code (and a wrong code first).
    sign_out(browser, tessera)
    password_step(browser, user)
    submit_code(browser, wrong_code(totp))
    assert "incorrect" in wait_for(browser, EC.presence_of_element_located((By.ID, "mfa-error"))).text
    submit_code(browser, codes[0])
    wait_for(browser, EC.presence_of_element_located((By.ID, "account-username")))

    # The same recovery code never works again.
    sign_out(browser, tessera)
    password_step(browser, user)
    submit_code(browser, codes[0])
    assert wait_for(browser, EC.presence_of_element_located((By.ID, "mfa-error"))).is_displayed()
    assert "/login/mfa" in browser.current_url
    assert not browser.find_elements(By.ID, "account-username")
    browser.get(f"{tessera.url}/account")
    wait_for(browser, EC.presence_of_element_located((By.ID, "username")))  # still not signed in

    # A TOTP login through an authorization code flow: the flow continues to consent and the client.
    # The enrolment's time step is spent (no replay), so wait for the next step.
    while int(time.time() // 30) <= enrolled_step:
        time.sleep(0.5)
    redirect_uri = f"{callback}/cb"
    client = add_browser_client(tessera, redirect_uri, scopes=("openid", "read"))
    session = OAuth2Session(client["client_id"], redirect_uri=redirect_uri, scope="openid read",
                            code_challenge_method="S256", token_endpoint_auth_method="none")
    verifier = generate_token(64)
    url, _ = session.create_authorization_url(f"{tessera.url}/authorize", code_verifier=verifier, nonce=generate_token(16))
    browser.get(url)
    password_step(browser, user)
    submit_code(browser, totp.now())
    wait_for(browser, EC.element_to_be_clickable((By.ID, "consent-allow"))).click()
    final = landed(browser, redirect_uri)
    token = session.fetch_token(tessera.token_endpoint, authorization_response=final, code_verifier=verifier)
    payload = token["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["amr"] == ["pwd", "otp"]

    # A client allowed to (`--allow-mfa-password-grant`) gets tokens only with a valid `otp`. The step
    # just used is spent; the next one is inside the ±1 window already.
    legacy = json.loads(tessera.cli("client", "add", "legacy", "--grant", "password", "--scope", "read",
                                    "--allow-mfa-password-grant", "--json").stdout)
    grant = {"grant_type": "password", "username": user.username, "password": user.password, "scope": "read"}
    auth = (legacy["client_id"], legacy["client_secret"])
    missing = requests.post(tessera.token_endpoint, data=grant, auth=auth, timeout=5)
    assert missing.status_code == 400 and "otp" in missing.json()["error_description"]
    granted = requests.post(tessera.token_endpoint, data={**grant, "otp": totp.at(time.time() + 30)}, auth=auth, timeout=5)
    assert granted.status_code == 200, granted.text
    assert granted.json()["access_token"]

    # An administrator removes MFA: the next login needs the password only.
    assert "removed" in tessera.cli("user", "mfa-reset", user.username).stdout
    assert any(line.startswith(user.username) and "mfa=off" in line for line in tessera.cli("user", "list").stdout.splitlines())
    sign_out(browser, tessera)
    log_in(browser, user)
    wait_for(browser, EC.presence_of_element_located((By.ID, "account-username")))


def test_a_session_cookie_alone_cannot_enrol_totp_and_enrolment_signs_out_older_sessions(tessera, browser):  # noqa: F811
    """Issue 20 item 8: a stolen session cookie cannot add a second factor (the password is asked again), and turning
    MFA on signs out the user's other, password-only sessions."""
    user = tessera.add_user(scopes=("openid", "profile", "read"))
    older = requests_sign_in(tessera, user)

    browser.get(f"{tessera.url}/account")
    log_in(browser, user)
    wait_for(browser, EC.presence_of_element_located((By.ID, "account-username")))

    # Whoever holds the cookie (and so can read the page's CSRF token) is asked for the password and gets no key.
    cookie = next(c for c in browser.get_cookies() if c["name"].endswith("tessera_session"))
    thief = requests.Session()
    thief.cookies.set(cookie["name"], cookie["value"])
    csrf = hidden_fields(thief.get(f"{tessera.url}/account", timeout=10).text)["csrf_token"]
    for path in ("/account/mfa/setup", "/account/mfa/confirm"):
        refused = thief.post(f"{tessera.url}{path}", data={"csrf_token": csrf, "otp": "123456"}, allow_redirects=False, timeout=10)
        assert refused.status_code == 401, (path, refused.status_code)
        assert 'id="reauth-password"' in refused.text and 'id="totp-secret"' not in refused.text
    guess = thief.post(f"{tessera.url}/account/reauthenticate", data={"csrf_token": csrf, "intent": "setup", "password": "not-it"},
                       allow_redirects=False, timeout=10)
    assert guess.status_code == 401 and 'id="reauth-error"' in guess.text and 'id="totp-secret"' not in guess.text
    assert any(line.startswith(user.username) and "mfa=off" in line for line in tessera.cli("user", "list").stdout.splitlines())

    # The user enrols: the password again, then the key and the first code.
    browser.get(f"{tessera.url}/account")
    wait_for(browser, EC.element_to_be_clickable((By.ID, "setup-totp"))).click()
    reauthenticate(browser, user)
    secret = wait_for(browser, EC.presence_of_element_located((By.ID, "totp-secret"))).text.strip()
    browser.find_element(By.ID, "otp").send_keys(pyotp.TOTP(secret).now())
    browser.find_element(By.ID, "confirm-totp").click()
    wait_for(browser, EC.presence_of_element_located((By.ID, "recovery-codes")))
    browser.get(f"{tessera.url}/account")
    assert wait_for(browser, EC.presence_of_element_located((By.ID, "mfa-status"))).get_attribute("data-mfa") == "on"

    # The older password-only session and the stolen cookie are signed out.
    for session in (older, thief):
        after = session.get(f"{tessera.url}/account", timeout=10)
        assert 'id="account-username"' not in after.text and 'id="username"' in after.text
    text = tessera.cli("audit", "--type", "user.sessions_revoked", "--user", user.id, "--json").stdout
    assert '"mfa_enrolled"' in text, text
