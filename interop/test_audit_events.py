"""Every audit event type (issue 6), produced by real requests and CLI commands against a running
server, persisted, and listed by `tessera audit` — with no token, code, password or secret in it.

MFA events (mfa.*, recovery_code.used) are produced and checked by test_mfa.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import urllib.parse

import requests

from interop_support import hidden_fields as _hidden_fields, post_token

REDIRECT_URI = "http://127.0.0.1:9/audit-callback"

EXPECTED_TYPES = {
    "client.registered", "client.updated", "client.deleted",
    "login.succeeded", "login.failed", "account.locked", "login.locked", "account.unlocked",
    "consent.granted", "consent.revoked", "authorization.granted", "authorization.denied",
    "token.issued", "token.refreshed", "token.reuse_detected", "token.revoked", "code.replay_detected",
    "client.authentication_failed", "key.rotated",
}


def _browse(server, session: requests.Session, url: str, user, decision: str = "allow") -> str:
    """Follows an authorization request through the login and consent forms; returns the final redirect."""
    response = session.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = urllib.parse.urljoin(server.url, response.headers["Location"])
            if location.startswith(REDIRECT_URI):
                return location
            response = session.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text
        form = _hidden_fields(response.text)
        if 'action="/login"' in response.text:
            form.update({"username": user.username, "password": user.password})
            response = session.post(f"{server.url}/login", data=form, allow_redirects=False, timeout=10)
        elif 'action="/consent"' in response.text:
            form["decision"] = decision
            response = session.post(f"{server.url}/consent", data=form, allow_redirects=False, timeout=10)
        else:
            raise AssertionError(f"unexpected page: {response.text[:500]}")
    raise AssertionError("no redirect back to the client after ten steps")


def _authorize_url(server, client_id: str, challenge: str, **extra) -> str:
    return f"{server.url}/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT_URI, "scope": "openid read",
        "state": secrets.token_hex(4), "code_challenge": challenge, "code_challenge_method": "S256", **extra,
    })


def _audit_types(server) -> tuple[set[str], str]:
    listing = server.cli("audit", "--limit", "5000").stdout
    types = {line.split("\t")[1] for line in listing.splitlines() if line.count("\t") >= 2}
    return types, listing


def test_every_audit_event_type_is_persisted_without_secrets(start_tessera):
    server = start_tessera({"TESSERA_LOCKOUT_THRESHOLD": "3"})
    secrets_seen: list[str] = []

    # client.registered (CLI) and a user who signs in through the browser forms.
    web = json.loads(server.cli("client", "add", "audit-web", "--grant", "authorization_code", "--grant", "refresh_token",
                                "--scope", "openid", "--scope", "read", "--redirect-uri", REDIRECT_URI, "--json").stdout)
    web_auth = (web["client_id"], web["client_secret"])
    secrets_seen.append(web["client_secret"])
    user = server.add_user(scopes=("openid", "read"))
    secrets_seen.append(user.password)

    # login.succeeded, consent.granted, authorization.granted; then token.issued for the code.
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    browser = requests.Session()
    redirect = _browse(server, browser, _authorize_url(server, web["client_id"], challenge), user)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect).query)["code"][0]
    secrets_seen.append(code)
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    tokens = post_token(server, exchange, web_auth)
    assert tokens.status_code == 200, tokens.text
    secrets_seen += [tokens.json()["access_token"], tokens.json()["refresh_token"], tokens.json()["id_token"]]

    # token.refreshed, then token.reuse_detected for the old refresh token, then code.replay_detected.
    old_refresh = tokens.json()["refresh_token"]
    refreshed = post_token(server, {"grant_type": "refresh_token", "refresh_token": old_refresh}, web_auth)
    assert refreshed.status_code == 200, refreshed.text
    secrets_seen.append(refreshed.json()["refresh_token"])
    assert post_token(server, {"grant_type": "refresh_token", "refresh_token": old_refresh}, web_auth).status_code == 400
    assert post_token(server, exchange, web_auth).status_code == 400

    # authorization.denied: force the consent page again and deny.
    denied = _browse(server, browser, _authorize_url(server, web["client_id"], challenge, prompt="consent"), user, decision="deny")
    assert "error=access_denied" in denied

    # consent.revoked from /account.
    account = browser.get(f"{server.url}/account", timeout=10)
    assert account.status_code == 200
    form = {"csrf_token": _hidden_fields(account.text)["csrf_token"], "client_id": web["client_id"]}
    assert browser.post(f"{server.url}/account/revoke", data=form, allow_redirects=False, timeout=10).status_code in (200, 303)

    # token.revoked (RFC 7009) and client.authentication_failed.
    service = server.add_client(grants=("client_credentials", "password", "refresh_token"))
    secrets_seen.append(service.client_secret)
    service_auth = (service.client_id, service.client_secret)
    issued = post_token(server, {"grant_type": "client_credentials"}, service_auth)
    assert issued.status_code == 200
    secrets_seen.append(issued.json()["access_token"])
    assert requests.post(f"{server.url}/revoke", data={"token": issued.json()["access_token"]}, auth=service_auth,
                         timeout=10).status_code == 200
    assert post_token(server, {"grant_type": "client_credentials"}, (service.client_id, "wrong-secret")).status_code == 401

    # login.failed ×3 → account.locked, then login.locked; `tessera user unlock` → account.unlocked.
    victim = server.add_user()
    secrets_seen.append(victim.password)
    for _ in range(3):
        wrong = post_token(server, {"grant_type": "password", "username": victim.username, "password": "not-the-password"},
                           service_auth)
        assert wrong.status_code == 400
    locked = post_token(server, {"grant_type": "password", "username": victim.username, "password": victim.password}, service_auth)
    assert "locked" in locked.json()["error_description"]
    server.cli("user", "unlock", victim.username)

    # key.rotated (CLI); client.registered/updated/deleted through RFC 7591/7592; client.deleted (CLI).
    server.cli("keys", "rotate")
    initial = json.loads(server.cli("client", "registration-token", "--json").stdout)["initial_access_token"]
    secrets_seen.append(initial)
    registered = requests.post(f"{server.url}/register", headers={"Authorization": f"Bearer {initial}"}, timeout=10,
                               json={"client_name": "dyn", "grant_types": ["client_credentials"], "response_types": [],
                                     "token_endpoint_auth_method": "client_secret_basic"})
    assert registered.status_code == 201, registered.text
    info = registered.json()
    secrets_seen += [info["client_secret"], info["registration_access_token"]]
    updated = requests.put(info["registration_client_uri"], timeout=10,
                           headers={"Authorization": f"Bearer {info['registration_access_token']}"},
                           json={"client_id": info["client_id"], "client_name": "dyn-renamed",
                                 "grant_types": ["client_credentials"], "response_types": []})
    assert updated.status_code == 200, updated.text
    assert requests.delete(info["registration_client_uri"], timeout=10,
                           headers={"Authorization": f"Bearer {updated.json()['registration_access_token']}"}).status_code == 204
    server.cli("client", "remove", service.client_id)

    # A clean shutdown flushes the buffered events.
    server.stop()
    types, listing = _audit_types(server)
    missing = EXPECTED_TYPES - types
    assert not missing, f"missing audit event types: {sorted(missing)}\n{listing}"
    for secret in secrets_seen:
        assert secret not in listing, "a secret, token or code leaked into the audit log"
    cli_sources = [line for line in listing.splitlines() if "source=cli" in line]
    assert {line.split("\t")[1] for line in cli_sources} >= {"client.registered", "client.deleted", "key.rotated"}


def test_a_password_typed_into_the_username_field_is_never_audited(start_tessera):
    # Issue 13 item 10: a failed login names the username only when it is a user; otherwise an HMAC of it.
    server = start_tessera({"TESSERA_LOCKOUT_THRESHOLD": "2"})
    user = server.add_user(scopes=("openid", "read"))
    service = server.add_client(grants=("password",))
    service_auth = (service.client_id, service.client_secret)
    typed = "Pw-" + secrets.token_urlsafe(12)

    # Password grant: the password in the username field, three times (login.failed ×2, account.locked, login.locked).
    for _ in range(3):
        response = post_token(server, {"grant_type": "password", "username": typed, "password": user.password}, service_auth)
        assert response.status_code == 400
    # The login page, with the password in the username field.
    web = json.loads(server.cli("client", "add", "typed-web", "--grant", "authorization_code", "--scope", "openid",
                                "--redirect-uri", REDIRECT_URI, "--json").stdout)
    browser = requests.Session()
    page = browser.get(_authorize_url(server, web["client_id"], "x" * 43), timeout=10)
    assert page.status_code == 200 and 'action="/login"' in page.text, page.text[:500]
    form = _hidden_fields(page.text) | {"username": typed + "-page", "password": user.password}
    assert browser.post(f"{server.url}/login", data=form, allow_redirects=False, timeout=10).status_code in (200, 400, 401)
    # A real user's wrong password still names them.
    assert post_token(server, {"grant_type": "password", "username": user.username, "password": "nope"}, service_auth).status_code == 400

    server.stop()
    listing = server.cli("audit", "--limit", "5000").stdout
    assert typed not in listing, "what was typed into the username field reached the audit log"
    hashed = [line for line in listing.splitlines() if "username_hmac=" in line]
    assert {line.split("\t")[1] for line in hashed} >= {"login.failed", "account.locked", "login.locked"}, listing
    assert len({re.search(r"username_hmac=([0-9a-f]{32})\b", line).group(1) for line in hashed}) == 2, "one HMAC per typed name"
    assert any(line.split("\t")[1] == "login.failed" and f"username={user.username}" in line for line in listing.splitlines())
