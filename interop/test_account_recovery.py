"""Account recovery evicts an intruder (issue 20 item 3, RFC 9700 §4.14.2), against the release binary:
`tessera user passwd`, `user disable` (+ `enable`) and `user sign-out-everywhere` end the user's browser
sessions and revoke every refresh token; a disabled user's access tokens are inactive at /introspect; and
browser sessions end after `TESSERA_SESSION_IDLE_TTL` without use.
"""

from __future__ import annotations

import subprocess
import time

import pytest
import requests

from conftest import TESSERA_BIN, _child_env
from interop_support import audit_json, hidden_fields as _hidden_fields, post_token


def reaches_account(server, browser: requests.Session) -> bool:
    """Whether the browser's session cookie still reaches /account (else it is sent to the login page)."""
    response = browser.get(f"{server.url}/account", allow_redirects=False, timeout=10)
    if response.status_code == 200:
        return True
    assert response.status_code in (302, 303), response.text
    assert response.headers["Location"].startswith("/login"), response.headers["Location"]
    return False


def sign_in(server, user) -> requests.Session:
    """A browser (cookie jar) signed in through the login form."""
    browser = requests.Session()
    page = browser.get(f"{server.url}/login", params={"return_to": "/account"}, timeout=10)
    assert page.status_code == 200, page.text
    form = {**_hidden_fields(page.text), "username": user.username, "password": user.password}
    done = browser.post(f"{server.url}/login", data=form, allow_redirects=False, timeout=10)
    assert done.status_code in (302, 303) and done.headers["Location"] == "/account", done.text
    assert reaches_account(server, browser)
    return browser


def password_grant(server, client, user, password: str | None = None) -> dict:
    response = post_token(server, {"grant_type": "password", "username": user.username, "password": password or user.password,
                                   "scope": "read"}, (client.client_id, client.client_secret))
    assert response.status_code == 200, response.text
    assert response.json().get("refresh_token"), response.json()
    return response.json()


def refresh(server, client, refresh_token: str) -> requests.Response:
    return post_token(server, {"grant_type": "refresh_token", "refresh_token": refresh_token}, (client.client_id, client.client_secret))


def assert_dead(server, client, refresh_token: str) -> None:
    response = refresh(server, client, refresh_token)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant", response.text


def introspect(server, client, token: str) -> dict:
    response = requests.post(f"{server.url}/introspect", data={"token": token}, auth=(client.client_id, client.client_secret), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def revocation_events(server, user) -> list[dict]:
    """`user.sessions_revoked` audit events about `user`, newest first."""
    return audit_json(server, "--type", "user.sessions_revoked", "--user", user.id)


def test_password_change_ends_sessions_and_revokes_every_refresh_token(tessera, client):
    user = tessera.add_user()
    laptop, phone = sign_in(tessera, user), sign_in(tessera, user)
    first, second = password_grant(tessera, client, user), password_grant(tessera, client, user)
    rotated = refresh(tessera, client, first["refresh_token"])  # family one, rotated once
    assert rotated.status_code == 200, rotated.text
    bystander = tessera.add_user()
    bystanders_browser, bystanders_tokens = sign_in(tessera, bystander), password_grant(tessera, client, bystander)

    result = tessera.cli("user", "passwd", user.username, "--password-stdin", input="a-new-password-123")
    assert "ended 2 browser session(s), revoked 2 refresh token families" in result.stdout, result.stdout

    assert_dead(tessera, client, rotated.json()["refresh_token"])
    assert_dead(tessera, client, second["refresh_token"])
    assert not reaches_account(tessera, laptop) and not reaches_account(tessera, phone)
    # Nobody else is signed out, and the new password works.
    assert reaches_account(tessera, bystanders_browser)
    assert refresh(tessera, client, bystanders_tokens["refresh_token"]).status_code == 200
    password_grant(tessera, client, user, password="a-new-password-123")
    [event] = revocation_events(tessera, user)
    assert event["detail"]["reason"] == "password_changed" and event["detail"]["source"] == "cli", event
    assert event["detail"]["sessions"] == "2" and event["detail"]["refresh_token_families"] == "2", event


def test_disable_revokes_and_enable_brings_nothing_back(tessera, client):
    user = tessera.add_user()
    browser = sign_in(tessera, user)
    tokens = password_grant(tessera, client, user)
    assert introspect(tessera, client, tokens["access_token"])["active"] is True

    assert "ended 1 browser session(s), revoked 1 refresh token family" in tessera.cli("user", "disable", user.username).stdout
    # RFC 7662: a disabled user's access token is inactive (introspection re-checks the database every 2 s).
    deadline = time.monotonic() + 10
    while introspect(tessera, client, tokens["access_token"]) != {"active": False}:
        assert time.monotonic() < deadline, "a disabled user's access token stayed active"
        time.sleep(0.25)

    tessera.cli("user", "enable", user.username)
    assert_dead(tessera, client, tokens["refresh_token"])
    assert not reaches_account(tessera, browser)
    # Enabled again, the user signs in afresh (once the server's 1 s read cache has seen the CLI's write).
    time.sleep(1.5)
    password_grant(tessera, client, user)
    assert reaches_account(tessera, sign_in(tessera, user))
    assert [event["detail"]["reason"] for event in revocation_events(tessera, user)] == ["user_disabled"]


def test_sign_out_everywhere(tessera, client):
    user = tessera.add_user()
    browsers = [sign_in(tessera, user), sign_in(tessera, user)]
    tokens = password_grant(tessera, client, user)

    result = tessera.cli("user", "sign-out-everywhere", user.username)
    assert "ended 2 browser session(s), revoked 1 refresh token family" in result.stdout, result.stdout
    assert not any(reaches_account(tessera, browser) for browser in browsers)
    assert_dead(tessera, client, tokens["refresh_token"])
    password_grant(tessera, client, user)  # the password still works
    [event] = revocation_events(tessera, user)
    assert event["detail"]["reason"] == "sign_out_everywhere", event
    with pytest.raises(RuntimeError, match="no user named 'no-such-user'"):
        tessera.cli("user", "sign-out-everywhere", "no-such-user")


def test_an_idle_session_expires_and_use_keeps_it_alive(start_tessera):
    server = start_tessera({"TESSERA_SESSION_IDLE_TTL": "6"})
    user = server.add_user()
    browser = sign_in(server, user)
    time.sleep(3)
    assert reaches_account(server, browser)  # used: the idle deadline moves to now + 6 s
    time.sleep(3.5)
    assert reaches_account(server, browser), "6.5 s after sign-in, but used 3.5 s ago: still signed in"
    time.sleep(7.5)
    assert not reaches_account(server, browser), "unused for longer than TESSERA_SESSION_IDLE_TTL"


def test_an_invalid_idle_timeout_is_refused_at_start_up(tmp_path):
    result = subprocess.run([str(TESSERA_BIN), "serve", "--database", str(tmp_path / "x.sqlite"), "--port", "1"],
                            capture_output=True, text=True, timeout=30, env=_child_env({"TESSERA_SESSION_IDLE_TTL": "0"}))
    assert result.returncode != 0
    assert "sessionIdleTimeout must be at least 1 second" in result.stdout + result.stderr, result.stderr
