"""`tessera keys rotate` while the server runs (TESSERA_KEY_RELOAD_INTERVAL=1)."""

from __future__ import annotations

import time

from interop_support import session_for, unverified_header, verify_access_token

RELOAD_INTERVAL = 1
# The rotation must be visible within a few reload intervals.
ROTATION_DEADLINE = 5 * RELOAD_INTERVAL


def _es256_kids(jwks: dict) -> set[str]:
    return {k["kid"] for k in jwks["keys"] if k.get("alg") == "ES256" or k.get("crv") == "P-256"}


def test_rotation_publishes_new_key_and_keeps_old_tokens_verifiable(start_tessera):
    server = start_tessera({"TESSERA_KEY_RELOAD_INTERVAL": str(RELOAD_INTERVAL)})
    client = server.add_client()
    user = server.add_user()
    machine = session_for(client, scope="read")
    person = session_for(client, scope="read write")

    old_token = machine.fetch_token(server.token_endpoint, grant_type="client_credentials")["access_token"]
    old_user_token = person.fetch_token(server.token_endpoint, username=user.username, password=user.password)
    old_header, old_claims = verify_access_token(server, old_token)
    old_kid = old_header["kid"]
    old_kids = {k["kid"] for k in server.jwks()["keys"]}
    assert old_kid in old_kids

    rotated_at = time.monotonic()
    server.cli("keys", "rotate")

    # 1. /jwks.json picks up the new ES256 key and still publishes the old one.
    new_kids: set[str] = set()
    while time.monotonic() - rotated_at < ROTATION_DEADLINE:
        jwks = server.jwks()
        new_kids = _es256_kids(jwks) - old_kids
        if new_kids:
            break
        time.sleep(0.1)
    assert len(new_kids) == 1, f"no new ES256 key in /jwks.json {ROTATION_DEADLINE}s after `keys rotate`"
    (new_kid,) = new_kids
    assert old_kid in {k["kid"] for k in jwks["keys"]}, "the old key was withdrawn while its tokens are valid"

    # 2. New tokens are signed with the new key.
    new_header = None
    while time.monotonic() - rotated_at < ROTATION_DEADLINE + RELOAD_INTERVAL:
        token = machine.fetch_token(server.token_endpoint, grant_type="client_credentials")["access_token"]
        new_header = unverified_header(token)
        if new_header["kid"] == new_kid:
            break
        time.sleep(0.1)
    assert new_header is not None and new_header["kid"] == new_kid, new_header
    published = server.jwks()
    _, new_claims = verify_access_token(server, token, jwks=published)
    assert new_claims["sub"] == client.client_id

    # 3. The token minted before the rotation still verifies against the published keys.
    _, claims_again = verify_access_token(server, old_token, jwks=published)
    assert claims_again == old_claims

    # 4. A refresh token issued before the rotation still works and yields a new-key token.
    refreshed = person.refresh_token(server.token_endpoint)
    assert unverified_header(refreshed["access_token"])["kid"] == new_kid
    assert verify_access_token(server, refreshed["access_token"])[1]["sub"] == user.id
    assert verify_access_token(server, old_user_token["access_token"])[1]["sub"] == user.id


def _id_token(server, redirect_uri: str) -> tuple[str, str]:
    """An ID token from the authorization code flow (HTML login form, PKCE); returns (id_token, client_id)."""
    import base64
    import hashlib
    import json
    import secrets

    import requests

    from test_multinode import _authorization_code

    info = json.loads(server.cli("client", "add", server._unique("rp"), "--grant", "authorization_code", "--scope", "openid", "--scope", "read",
                                 "--redirect-uri", redirect_uri, "--no-consent", "--json").stdout)
    user = server.add_user(scopes=("openid", "read"))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = _authorization_code(server, info["client_id"], user, redirect_uri, challenge)
    response = requests.post(server.token_endpoint, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                                          "code_verifier": verifier},
                             auth=(info["client_id"], info["client_secret"]), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["id_token"], info["client_id"]


def test_id_token_from_before_a_rotation_stays_verifiable_and_a_logout_hint(start_tessera):
    """Issue 20, item 4: a retired key stays in /jwks.json, and verifies id_token_hint at /logout, for as long as the
    ID tokens it signed live — not just the (here 30 s) access token lifetime plus the 60 s margin."""
    import requests

    access_ttl = 30
    server = start_tessera({"TESSERA_KEY_RELOAD_INTERVAL": str(RELOAD_INTERVAL), "TESSERA_ACCESS_TOKEN_TTL": str(access_ttl)})
    redirect_uri = "http://127.0.0.1:9/bye"
    id_token, client_id = _id_token(server, redirect_uri)
    old_kid = unverified_header(id_token)["kid"]
    assert old_kid in {k["kid"] for k in server.jwks()["keys"]}

    server.cli("keys", "rotate")
    rotated = [line for line in server.cli("keys", "list").stdout.splitlines() if line.startswith(old_kid)]
    assert rotated and "retired" in rotated[0], rotated

    # Past every access token the old key signed (30 s) and the old retention (access + 60 s), well within the ID
    # token's hour. The maintenance job (every RELOAD_INTERVAL) and another `keys rotate` both purge expired keys.
    time.sleep(access_ttl + 60 + 3)
    server.cli("keys", "rotate")
    time.sleep(2 * RELOAD_INTERVAL)
    assert old_kid in {k["kid"] for k in server.jwks()["keys"]}, "the key of a valid ID token left the JWKS"
    response = requests.get(f"{server.url}/logout", params={"id_token_hint": id_token, "post_logout_redirect_uri": redirect_uri,
                                                           "state": "s1"}, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])
    assert response.headers["Location"] == f"{redirect_uri}?state=s1", "the hint verified: redirected to the client"
    assert unverified_header(id_token)["kid"] == old_kid and client_id
