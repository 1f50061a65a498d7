"""RFC 8414 metadata and the published JWKS, consumed by Authlib."""

from __future__ import annotations

import requests

from interop_support import session_for, verify_access_token


def test_metadata_is_consistent(tessera):
    response = requests.get(f"{tessera.url}/.well-known/oauth-authorization-server", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    metadata = response.json()

    assert metadata["issuer"] == tessera.issuer == f"http://127.0.0.1:{tessera.port}"
    assert metadata["token_endpoint"] == f"{metadata['issuer']}/token"
    assert metadata["jwks_uri"] == f"{metadata['issuer']}/jwks.json"
    assert {"client_credentials", "password", "refresh_token"} <= set(metadata["grant_types_supported"])
    assert {"client_secret_basic", "client_secret_post", "none"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )


def test_jwks_publishes_only_public_signing_keys(tessera):
    response = requests.get(tessera.metadata()["jwks_uri"], timeout=5)
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert any(k["kty"] == "EC" and k["crv"] == "P-256" and k.get("alg") == "ES256" for k in keys)
    kids = [k["kid"] for k in keys]
    assert all(kids) and len(kids) == len(set(kids))
    for key in keys:
        assert key.get("use", "sig") == "sig"
        # No private material: EC/OKP "d", RSA "d", "p", "q", "dp", "dq", "qi", symmetric "k".
        assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & key.keys(), key


def test_authlib_uses_the_token_endpoint_from_metadata(tessera, client):
    metadata = tessera.metadata()
    # Authlib's OAuth2Session takes server metadata as keyword arguments; fetch_token() and
    # refresh_token() without a URL use metadata["token_endpoint"].
    session = session_for(client, scope="read", token_endpoint=metadata["token_endpoint"])
    token = session.fetch_token(grant_type="client_credentials")
    (sent,) = session.sent
    assert sent.request.url == metadata["token_endpoint"]

    jwks = requests.get(metadata["jwks_uri"], timeout=5).json()
    _, claims = verify_access_token(tessera, token["access_token"], jwks=jwks)
    assert claims["iss"] == metadata["issuer"]
    assert claims["client_id"] == client.client_id


def test_authlib_refreshes_via_metadata_endpoint(tessera, client, user):
    metadata = tessera.metadata()
    session = session_for(client, scope="read", token_endpoint=metadata["token_endpoint"])
    first = session.fetch_token(username=user.username, password=user.password)
    second = session.refresh_token()
    assert session.sent[-1].request.url == metadata["token_endpoint"]
    assert second["refresh_token"] != first["refresh_token"]
    assert verify_access_token(tessera, second["access_token"])[1]["sub"] == user.id
