"""Issue 13 items 6 and 7 against the binary.

/userinfo (OIDC Core §5.3) refuses what /introspect refuses — a revoked token (RFC 7009), a token of a
client deleted through RFC 7592 — and a token minted only for another resource (RFC 8707, RFC 9700 §2.3).
Tokens are accepted in their one canonical spelling only (RFC 7515 §2, RFC 4648 §3.5): `=` padding or a
non-canonical last character is refused at /introspect, /userinfo and by the example API.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
import urllib.parse

import requests

OTHER_RESOURCE = "https://api.other.example"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def spellings(token: str) -> list[str]:
    """The padded and the non-canonical-last-character spellings of a compact JWS."""
    last_segment = token.rsplit(".", 1)[1]
    assert len(last_segment) % 4 in (2, 3), "an ES256/RS256 signature leaves pad bits in its last character"
    sibling = ALPHABET[ALPHABET.index(token[-1]) ^ 1]
    return [token + "=", token[:-1] + sibling]


def userinfo(server, token: str) -> requests.Response:
    return requests.get(f"{server.url}/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"


def oidc_password_client(server) -> tuple[str, str]:
    """A CLI client for the password grant with `openid profile`, allowed the resource OTHER_RESOURCE."""
    info = json.loads(server.cli("client", "add", f"oidc-{secrets.token_hex(3)}", "--grant", "password", "--scope", "openid",
                                 "--scope", "profile", "--resource", OTHER_RESOURCE, "--json").stdout)
    return info["client_id"], info["client_secret"]


def password_token(server, client: tuple[str, str], user, resource: str | None = None) -> str:
    form = {"grant_type": "password", "username": user.username, "password": user.password, "scope": "openid profile"}
    if resource:
        form["resource"] = resource
    response = requests.post(server.token_endpoint, data=form, auth=client, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def introspect(server, token: str, caller: tuple[str, str]) -> dict:
    response = requests.post(f"{server.url}/introspect", data={"token": token}, auth=caller, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_userinfo_refuses_a_token_meant_only_for_another_resource(tessera):
    client = oidc_password_client(tessera)
    user = tessera.add_user(scopes=("openid", "profile"))
    normal = password_token(tessera, client, user)
    ok = userinfo(tessera, normal)
    assert ok.status_code == 200, ok.text
    assert ok.json()["sub"] == user.id and ok.json()["preferred_username"] == user.username

    foreign = password_token(tessera, client, user, resource=OTHER_RESOURCE)
    assert introspect(tessera, foreign, client)["aud"] == [OTHER_RESOURCE], "live, but for the other API"
    assert_invalid_token(userinfo(tessera, foreign))


def test_userinfo_refuses_a_revoked_token(tessera):
    client = oidc_password_client(tessera)
    user = tessera.add_user(scopes=("openid", "profile"))
    token = password_token(tessera, client, user)
    assert userinfo(tessera, token).status_code == 200
    assert requests.post(f"{tessera.url}/revoke", data={"token": token}, auth=client, timeout=10).status_code == 200
    assert_invalid_token(userinfo(tessera, token))


def _code_flow_tokens(server, client_id: str, client_secret: str, user, redirect_uri: str) -> dict:
    """Signs `user` in through the HTML login and consent forms and redeems the code (PKCE S256)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = requests.Session()
    response = session.get(f"{server.url}/authorize?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid profile",
        "state": "s-" + secrets.token_hex(4), "nonce": "n-" + secrets.token_hex(4), "code_challenge": challenge,
        "code_challenge_method": "S256"}), allow_redirects=False, timeout=10)
    code = None
    for _ in range(10):
        if response.status_code in (302, 303):
            location = urllib.parse.urljoin(server.url, response.headers["Location"])
            if location.startswith(redirect_uri):
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]
                break
            response = session.get(location, allow_redirects=False, timeout=10)
            continue
        assert response.status_code == 200, response.text
        form = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.text)}
        assert "csrf_token" in form, response.text
        if 'action="/consent"' in response.text:
            response = session.post(f"{server.url}/consent", data={**form, "decision": "allow"}, allow_redirects=False, timeout=10)
        else:
            response = session.post(f"{server.url}/login", data={**form, "username": user.username, "password": user.password},
                                    allow_redirects=False, timeout=10)
    assert code, "no code after ten steps"
    token = requests.post(server.token_endpoint, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                                      "code_verifier": verifier}, auth=(client_id, client_secret), timeout=10)
    assert token.status_code == 200, token.text
    return token.json()


def test_userinfo_refuses_the_tokens_of_a_client_deleted_through_rfc7592(tessera):
    initial = json.loads(tessera.cli("client", "registration-token", "--json").stdout)["initial_access_token"]
    redirect_uri = "https://app.example/cb"
    registered = requests.post(f"{tessera.url}/register", headers={"Authorization": f"Bearer {initial}"}, timeout=10, json={
        "client_name": "rp", "redirect_uris": [redirect_uri], "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic", "scope": "openid profile"})
    assert registered.status_code == 201, registered.text
    info = registered.json()
    user = tessera.add_user(scopes=("openid", "profile"))
    tokens = _code_flow_tokens(tessera, info["client_id"], info["client_secret"], user, redirect_uri)
    seen = tokens["access_token"]
    assert userinfo(tessera, seen).json()["sub"] == user.id
    refreshed = requests.post(tessera.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                              auth=(info["client_id"], info["client_secret"]), timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    unseen = refreshed.json()["access_token"]

    deleted = requests.delete(info["registration_client_uri"], headers={"Authorization": f"Bearer {info['registration_access_token']}"},
                              timeout=10)
    assert deleted.status_code == 204
    assert_invalid_token(userinfo(tessera, unseen))
    # A token checked just before the deletion: the node re-asks the database within 2 s (IntrospectionCache).
    time.sleep(2.2)
    assert_invalid_token(userinfo(tessera, seen))


def test_token_spellings_are_refused_at_introspection_userinfo_and_the_example_api(tessera, example_api, client, user):
    token = requests.post(tessera.token_endpoint, data={"grant_type": "password", "username": user.username, "password": user.password,
                                                      "scope": "read"}, auth=(client.client_id, client.client_secret), timeout=10)
    assert token.status_code == 200, token.text
    access = token.json()["access_token"]
    caller = (client.client_id, client.client_secret)
    assert introspect(tessera, access, caller)["active"] is True
    me = requests.get(f"{example_api.url}/users/me", headers={"Authorization": f"Bearer {access}"}, timeout=10)
    assert me.status_code == 200, me.text

    oidc = oidc_password_client(tessera)
    oidc_user = tessera.add_user(scopes=("openid", "profile"))
    openid_token = password_token(tessera, oidc, oidc_user)
    assert userinfo(tessera, openid_token).status_code == 200

    for variant in spellings(access):
        assert introspect(tessera, variant, caller) == {"active": False}, variant
        refused = requests.get(f"{example_api.url}/users/me", headers={"Authorization": f"Bearer {variant}"}, timeout=10)
        assert refused.status_code == 401, variant
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    for variant in spellings(openid_token):
        assert_invalid_token(userinfo(tessera, variant))
    assert introspect(tessera, access, caller)["active"] is True, "the canonical spelling still works"
