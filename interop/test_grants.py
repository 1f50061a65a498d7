"""Authlib runs the client_credentials, password and refresh_token grants against Tessera."""

from __future__ import annotations

import base64
import json
import threading
from urllib.parse import parse_qs

import pytest
import requests
from authlib.integrations.requests_client import OAuthError
from joserfc.errors import BadSignatureError

from interop_support import (
    ACCESS_TOKEN_LIFETIME,
    post_token,
    scopes,
    session_for,
    unverified_header,
    verify_access_token,
)


def _form(response: requests.Response) -> dict[str, list[str]]:
    body = response.request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return parse_qs(body, keep_blank_values=True)


# --- client_credentials ----------------------------------------------------------------------


def test_client_credentials_client_secret_basic(tessera, client):
    session = session_for(client, "client_secret_basic", scope="read write")
    token = session.fetch_token(tessera.token_endpoint, grant_type="client_credentials")

    # Authlib really used HTTP Basic and kept the secret out of the body.
    (sent,) = session.sent
    assert sent.request.headers["Authorization"].startswith("Basic ")
    assert "client_secret" not in _form(sent)
    assert sent.headers["Cache-Control"] == "no-store"

    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == ACCESS_TOKEN_LIFETIME
    assert scopes(token["scope"]) == {"read", "write"}
    assert "refresh_token" not in token  # RFC 6749 §4.4.3: no refresh token for client_credentials

    header, claims = verify_access_token(tessera, token["access_token"])
    es256 = [k for k in tessera.jwks()["keys"] if k["kid"] == header["kid"]]
    assert es256 and es256[0]["kty"] == "EC" and es256[0]["crv"] == "P-256"
    assert claims["iss"] == tessera.issuer
    assert claims["sub"] == client.client_id
    assert claims["client_id"] == client.client_id
    assert scopes(claims["scope"]) == {"read", "write"}
    assert claims["exp"] - claims["iat"] == 900
    assert "auth_time" not in claims  # no end user involved


def test_client_credentials_client_secret_post(tessera, client):
    session = session_for(client, "client_secret_post", scope="read")
    token = session.fetch_token(tessera.token_endpoint, grant_type="client_credentials")

    (sent,) = session.sent
    assert "Authorization" not in sent.request.headers
    form = _form(sent)
    assert form["client_id"] == [client.client_id]
    assert form["client_secret"] == [client.client_secret]

    assert token["scope"] == "read"
    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["sub"] == client.client_id
    assert claims["client_id"] == client.client_id
    assert claims["scope"] == "read"


def test_client_credentials_default_scope_is_read(tessera, client):
    # No scope parameter: Tessera grants its configured default scopes (default "read").
    token = session_for(client).fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    assert token["scope"] == "read"
    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["scope"] == "read"


def test_client_credentials_scope_outside_registration_is_invalid_scope(tessera):
    client = tessera.add_client(grants=("client_credentials",), scopes=("read",))
    with pytest.raises(OAuthError) as raised:
        session_for(client, scope="write").fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    assert raised.value.error == "invalid_scope"


def test_each_token_has_a_unique_jti(tessera, client):
    session = session_for(client, scope="read")
    jtis = set()
    for _ in range(3):
        token = session.fetch_token(tessera.token_endpoint, grant_type="client_credentials")
        jtis.add(verify_access_token(tessera, token["access_token"])[1]["jti"])
    assert len(jtis) == 3


def test_tampered_token_fails_signature_verification(tessera, client):
    token = session_for(client, scope="read").fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    head, payload, signature = token["access_token"].split(".")
    # Swap the payload for one claiming a wider scope, keeping the original signature.
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "read write"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadSignatureError):
        verify_access_token(tessera, f"{head}.{forged}.{signature}")


# --- password --------------------------------------------------------------------------------


def test_password_grant_issues_access_and_refresh_token(tessera, client, user):
    session = session_for(client, scope="read write")
    token = session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)

    (sent,) = session.sent
    assert _form(sent)["grant_type"] == ["password"]
    assert token["refresh_token"]
    assert token["expires_in"] == ACCESS_TOKEN_LIFETIME
    assert scopes(token["scope"]) == {"read", "write"}

    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["sub"] == user.id
    assert claims["sub"] != user.username
    assert claims["client_id"] == client.client_id
    assert scopes(claims["scope"]) == {"read", "write"}
    assert isinstance(claims["auth_time"], int)
    assert claims["iat"] - 5 <= claims["auth_time"] <= claims["iat"]


def test_password_grant_scope_narrowing(tessera, client, user):
    token = session_for(client, scope="read").fetch_token(
        tessera.token_endpoint, username=user.username, password=user.password
    )
    assert token["scope"] == "read"
    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["scope"] == "read"
    assert claims["sub"] == user.id


def test_password_grant_scope_beyond_the_user_is_invalid_scope(tessera, client):
    reader = tessera.add_user(scopes=("read",))
    with pytest.raises(OAuthError) as raised:
        session_for(client, scope="write").fetch_token(
            tessera.token_endpoint, username=reader.username, password=reader.password
        )
    assert raised.value.error == "invalid_scope"


def test_password_grant_public_client(tessera, public_client, user):
    session = session_for(public_client, "none", scope="read")
    token = session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)

    (sent,) = session.sent
    assert "Authorization" not in sent.request.headers
    assert _form(sent)["client_id"] == [public_client.client_id]
    assert "client_secret" not in _form(sent)

    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["client_id"] == public_client.client_id
    assert claims["sub"] == user.id
    assert token["refresh_token"]


def test_wrong_password_and_unknown_user_look_identical(tessera, client, user):
    auth = (client.client_id, client.client_secret)
    wrong_password = post_token(
        tessera, {"grant_type": "password", "username": user.username, "password": user.password + "x"}, auth
    )
    unknown_user = post_token(
        tessera, {"grant_type": "password", "username": user.username + "-nobody", "password": user.password}, auth
    )
    assert wrong_password.status_code == unknown_user.status_code == 400
    assert wrong_password.json()["error"] == "invalid_grant"
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.content == unknown_user.content
    assert "access_token" not in wrong_password.json()

    # Authlib surfaces the same error.
    with pytest.raises(OAuthError) as raised:
        session_for(client).fetch_token(tessera.token_endpoint, username=user.username, password="not-the-password")
    assert raised.value.error == "invalid_grant"


# --- refresh_token ---------------------------------------------------------------------------


def _login(tessera, client, user, scope="read write"):
    session = session_for(client, scope=scope)
    token = session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)
    return session, token


def _refresh_raw(tessera, client, refresh_token, **extra):
    return post_token(
        tessera,
        {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra},
        (client.client_id, client.client_secret),
    )


def test_refresh_rotates_the_refresh_token(tessera, client, user):
    session, first = _login(tessera, client, user)
    second = session.refresh_token(tessera.token_endpoint)

    (_, sent) = session.sent
    form = _form(sent)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [first["refresh_token"]]

    assert second["refresh_token"] and second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert scopes(second["scope"]) == {"read", "write"}
    _, old_claims = verify_access_token(tessera, first["access_token"])
    _, claims = verify_access_token(tessera, second["access_token"])
    assert claims["sub"] == user.id
    assert claims["client_id"] == client.client_id
    assert claims["jti"] != old_claims["jti"]
    # Authlib tracks the rotated token: a second refresh uses (and rotates) the new one.
    third = session.refresh_token(tessera.token_endpoint)
    assert _form(session.sent[-1])["refresh_token"] == [second["refresh_token"]]
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


def test_refresh_may_narrow_scope(tessera, client, user):
    session, _ = _login(tessera, client, user)
    narrowed = session.refresh_token(tessera.token_endpoint, scope="read")
    assert narrowed["scope"] == "read"
    assert verify_access_token(tessera, narrowed["access_token"])[1]["scope"] == "read"


def test_refresh_token_reuse_revokes_the_family(tessera, client, user):
    session, first = _login(tessera, client, user)
    second = session.refresh_token(tessera.token_endpoint)
    newest = session.refresh_token(tessera.token_endpoint)
    assert len({first["refresh_token"], second["refresh_token"], newest["refresh_token"]}) == 3

    # Replaying a rotated-out token is treated as theft ...
    replay = _refresh_raw(tessera, client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.headers["Cache-Control"] == "no-store"

    # ... and the whole family, including the newest token, is revoked (RFC 9700 §4.14.2).
    with pytest.raises(OAuthError) as raised:
        session.refresh_token(tessera.token_endpoint, refresh_token=newest["refresh_token"])
    assert raised.value.error == "invalid_grant"
    assert _refresh_raw(tessera, client, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_families_are_independent(tessera, client, user):
    _, family_a = _login(tessera, client, user)
    session_b, family_b = _login(tessera, client, user)
    session_a = session_for(client, scope="read write", token=family_a)
    session_a.refresh_token(tessera.token_endpoint)
    assert _refresh_raw(tessera, client, family_a["refresh_token"]).status_code == 400  # family A revoked
    refreshed_b = session_b.refresh_token(tessera.token_endpoint)  # family B unaffected
    assert refreshed_b["refresh_token"] != family_b["refresh_token"]


def test_refresh_cannot_widen_scope(tessera, client, user):
    session, first = _login(tessera, client, user, scope="read")
    with pytest.raises(OAuthError) as raised:
        session.refresh_token(tessera.token_endpoint, scope="read write")
    assert raised.value.error == "invalid_scope"
    raw = _refresh_raw(tessera, client, first["refresh_token"], scope="write")
    assert raw.status_code == 400
    assert raw.json()["error"] == "invalid_scope"


def test_refresh_token_is_bound_to_its_client(tessera, client, user):
    _, token = _login(tessera, client, user)
    other = tessera.add_client()
    with pytest.raises(OAuthError) as raised:
        session_for(other).refresh_token(tessera.token_endpoint, refresh_token=token["refresh_token"])
    assert raised.value.error == "invalid_grant"


def test_public_client_refresh(tessera, public_client, user):
    session = session_for(public_client, "none", scope="read")
    first = session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)
    second = session.refresh_token(tessera.token_endpoint)
    assert second["refresh_token"] != first["refresh_token"]
    assert verify_access_token(tessera, second["access_token"])[1]["client_id"] == public_client.client_id


def test_concurrent_refreshes_of_one_token_succeed_exactly_once(tessera, client, user):
    _, token = _login(tessera, client, user)
    attempts = 20
    barrier = threading.Barrier(attempts)
    results: list[requests.Response | BaseException] = [None] * attempts  # type: ignore[list-item]

    def refresh(index: int) -> None:
        with requests.Session() as http:
            try:
                barrier.wait(timeout=10)
                results[index] = http.post(
                    tessera.token_endpoint,
                    data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                    auth=(client.client_id, client.client_secret),
                    timeout=20,
                )
            except BaseException as error:  # surfaced by the assertions below
                results[index] = error

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    errors = [r for r in results if not isinstance(r, requests.Response)]
    assert not errors, errors
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, statuses
    assert statuses.count(400) == attempts - 1, statuses
    for response in results:
        if response.status_code == 400:
            assert response.json()["error"] == "invalid_grant", response.text
    winner = next(r for r in results if r.status_code == 200).json()
    assert winner["refresh_token"] != token["refresh_token"]
    verify_access_token(tessera, winner["access_token"])
