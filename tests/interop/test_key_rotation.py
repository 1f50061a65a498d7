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
