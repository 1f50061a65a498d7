"""The example resource server (tessera-example-api) accepting Tessera tokens fetched by Authlib.

Skipped only when the example API binary has not been built.
"""

from __future__ import annotations

import base64
import json
import re

import requests

from interop_support import session_for, verify_access_token


def _get(api, path: str, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{api.url}{path}", headers=headers, timeout=10)


def _token(tessera, client, scope: str) -> str:
    return session_for(client, scope=scope).fetch_token(tessera.token_endpoint, grant_type="client_credentials")[
        "access_token"
    ]


def test_no_token_is_401_with_bearer_challenge(example_api):
    response = _get(example_api, "/users/me")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    # RFC 6750 §3.1: no error code when the request carried no authentication at all.
    assert "error=" not in challenge


def test_users_me_with_any_valid_token(tessera, example_api):
    client = tessera.add_client(grants=("client_credentials",), scopes=("write",))
    token = _token(tessera, client, "write")  # no "read": /users/me needs only a valid token
    _, claims = verify_access_token(tessera, token)

    # Authlib's session adds the bearer token itself.
    session = session_for(client, token={"access_token": token, "token_type": "Bearer"})
    response = session.get(f"{example_api.url}/users/me", timeout=10)
    assert session.sent[-1].request.headers["Authorization"] == f"Bearer {token}"
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("Cache-Control") == "no-store"
    body = response.json()
    assert body["sub"] == claims["sub"] == client.client_id
    assert body["client_id"] == client.client_id
    assert body["scope"] == "write"
    assert body["exp"] == claims["exp"]


def test_users_me_with_a_user_token(tessera, example_api, client, user):
    session = session_for(client, scope="read")
    session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)
    response = session.get(f"{example_api.url}/users/me", timeout=10)
    assert response.status_code == 200
    assert response.json()["sub"] == user.id


def test_data_requires_read_scope(tessera, example_api):
    client = tessera.add_client(grants=("client_credentials",), scopes=("read", "write"))
    response = _get(example_api, "/data", _token(tessera, client, "write"))
    assert response.status_code == 403
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="read"' in challenge


def test_data_with_read_scope(tessera, example_api, client):
    token = _token(tessera, client, "read")
    response = _get(example_api, "/data", token)
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == client.client_id
    assert body["items"]


def test_garbage_token_is_invalid_token(example_api):
    response = _get(example_api, "/users/me", "garbage")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer")
    assert 'error="invalid_token"' in challenge


def test_forged_token_is_invalid_token(tessera, example_api, client):
    head, payload, signature = _token(tessera, client, "write").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "read write"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = _get(example_api, "/data", f"{head}.{forged}.{signature}")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_token_from_another_issuer_is_invalid_token(start_tessera, example_api):
    stranger = start_tessera()
    client = stranger.add_client(grants=("client_credentials",), scopes=("read",))
    token = _token(stranger, client, "read")
    verify_access_token(stranger, token)  # valid where it came from ...
    response = _get(example_api, "/data", token)  # ... but not for an API trusting another issuer
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def _challenge_param(challenge: str, name: str) -> str:
    match = re.search(rf'(?:^Bearer |, ){name}="([^"]*)"', challenge)
    assert match, f"{name} missing from {challenge!r}"
    return match.group(1)


def test_protected_resource_metadata_discovery(tessera, example_api, client):
    """RFC 9728 §5: from a 401 to the resource's metadata to Tessera's RFC 8414 metadata."""
    response = _get(example_api, "/data")
    assert response.status_code == 401
    metadata_url = _challenge_param(response.headers["WWW-Authenticate"], "resource_metadata")
    assert metadata_url == f"{example_api.url}/.well-known/oauth-protected-resource"

    document_response = requests.get(metadata_url, timeout=10)
    assert document_response.status_code == 200
    assert document_response.headers["Content-Type"].startswith("application/json")
    assert "max-age=" in document_response.headers["Cache-Control"]
    document = document_response.json()
    # RFC 9728 §3.3: the resource must be the one whose well-known URL was fetched.
    assert document["resource"] == example_api.url
    assert document["bearer_methods_supported"] == ["header"]
    assert "read" in document["scopes_supported"]
    issuer = document["authorization_servers"][0]
    assert issuer == tessera.issuer

    as_metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", timeout=10)
    assert as_metadata.status_code == 200
    assert as_metadata.json()["issuer"] == issuer

    # Step-up (RFC 6750 §3.1): a token without "read" gets 403 naming the scope, and the same
    # challenge points at the same document.
    weak = tessera.add_client(grants=("client_credentials",), scopes=("write",))
    forbidden = _get(example_api, "/data", _token(tessera, weak, "write"))
    assert forbidden.status_code == 403
    challenge = forbidden.headers["WWW-Authenticate"]
    assert _challenge_param(challenge, "scope") == "read"
    assert _challenge_param(challenge, "resource_metadata") == metadata_url
    assert _get(example_api, "/data", _token(tessera, client, "read")).status_code == 200
