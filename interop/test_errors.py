"""Token endpoint error responses (RFC 6749 §5.2) as seen on the wire and by Authlib."""

from __future__ import annotations

import pytest
import requests
from authlib.integrations.requests_client import OAuthError

from interop_support import post_token, session_for


def _assert_error(response: requests.Response, status: int, error: str) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description", ""), str)
    assert "access_token" not in body
    return body


def test_unsupported_grant_type(tessera, client):
    response = post_token(tessera, {"grant_type": "urn:example:magic"}, (client.client_id, client.client_secret))
    _assert_error(response, 400, "unsupported_grant_type")
    with pytest.raises(OAuthError) as raised:
        session_for(client).fetch_token(tessera.token_endpoint, grant_type="urn:example:magic")
    assert raised.value.error == "unsupported_grant_type"


def test_missing_grant_type(tessera, client):
    response = post_token(tessera, {"scope": "read"}, (client.client_id, client.client_secret))
    _assert_error(response, 400, "invalid_request")


def test_wrong_secret_via_basic_is_401_with_basic_challenge(tessera, client):
    response = post_token(tessera, {"grant_type": "client_credentials"}, (client.client_id, "wrong-secret"))
    _assert_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")

    wrong = session_for(client)
    wrong.client_secret = "wrong-secret"
    with pytest.raises(OAuthError) as raised:
        wrong.fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    assert raised.value.error == "invalid_client"


def test_wrong_secret_via_post(tessera, client):
    response = post_token(
        tessera,
        {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": "wrong-secret"},
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_client(tessera):
    response = post_token(tessera, {"grant_type": "client_credentials"}, ("no-such-client", "secret"))
    _assert_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_basic_and_client_secret_together_is_invalid_request(tessera, client):
    response = post_token(
        tessera,
        {"grant_type": "client_credentials", "client_secret": client.client_secret},
        (client.client_id, client.client_secret),
    )
    _assert_error(response, 400, "invalid_request")


def test_repeated_parameter_is_invalid_request(tessera, client):
    auth = (client.client_id, client.client_secret)
    repeated_scope = post_token(tessera, [("grant_type", "client_credentials"), ("scope", "read"), ("scope", "write")], auth)
    _assert_error(repeated_scope, 400, "invalid_request")
    repeated_grant = post_token(
        tessera, [("grant_type", "client_credentials"), ("grant_type", "client_credentials")], auth
    )
    _assert_error(repeated_grant, 400, "invalid_request")


def test_json_body_is_rejected(tessera, client):
    response = requests.post(
        tessera.token_endpoint,
        json={"grant_type": "client_credentials", "scope": "read"},
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )
    _assert_error(response, 400, "invalid_request")


def test_success_responses_are_not_cacheable(tessera, client):
    response = post_token(tessera, {"grant_type": "client_credentials"}, (client.client_id, client.client_secret))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers.get("Pragma") == "no-cache"
    assert response.headers["Content-Type"].startswith("application/json")


def test_public_client_cannot_use_client_credentials(tessera, public_client):
    response = post_token(tessera, {"grant_type": "client_credentials", "client_id": public_client.client_id})
    assert (response.status_code, response.json()["error"]) in {(400, "unauthorized_client"), (401, "invalid_client")}
    assert response.headers["Cache-Control"] == "no-store"
    with pytest.raises(OAuthError) as raised:
        session_for(public_client, "none").fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    assert raised.value.error in ("unauthorized_client", "invalid_client")


def test_public_client_cannot_authenticate_with_a_made_up_secret(tessera, public_client, user):
    # A public client has no secret; presenting one must not turn it into a confidential client.
    response = post_token(
        tessera,
        {"grant_type": "password", "username": user.username, "password": user.password},
        (public_client.client_id, "made-up-secret"),
    )
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("invalid_client", "invalid_request")


def test_grant_not_registered_for_client_is_unauthorized_client(tessera, user):
    machine = tessera.add_client(grants=("client_credentials",), scopes=("read",))
    response = post_token(
        tessera,
        {"grant_type": "password", "username": user.username, "password": user.password},
        (machine.client_id, machine.client_secret),
    )
    _assert_error(response, 400, "unauthorized_client")


def test_refresh_with_unknown_token_is_invalid_grant(tessera, client):
    response = post_token(
        tessera, {"grant_type": "refresh_token", "refresh_token": "not-a-real-token"}, (client.client_id, client.client_secret)
    )
    _assert_error(response, 400, "invalid_grant")
