"""Token lifecycle and client management through Authlib: dynamic registration (RFC 7591/7592) with an
initial access token from the CLI, introspection (RFC 7662), revocation (RFC 7009), and the example API
in introspection mode refusing a revoked token.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

from conftest import EXAMPLE_API_BIN, _child_env, _stop, _wait_healthy, free_port


def _initial_access_token(tessera) -> str:
    out = json.loads(tessera.cli("client", "registration-token", "--json").stdout)
    assert out["expires_at"] > 0
    return out["initial_access_token"]


def _register(tessera, metadata: dict, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{tessera.url}/register", json=metadata, headers=headers, timeout=10)


def _registered_session(tessera, scope="read") -> tuple[OAuth2Session, dict]:
    info = _register(tessera, {"client_name": "authlib", "grant_types": ["client_credentials"], "response_types": [],
                               "token_endpoint_auth_method": "client_secret_basic", "scope": scope},
                     _initial_access_token(tessera))
    assert info.status_code == 201, info.text
    body = info.json()
    session = OAuth2Session(client_id=body["client_id"], client_secret=body["client_secret"],
                            token_endpoint_auth_method="client_secret_basic", scope=scope)
    return session, body


def test_metadata_advertises_lifecycle_endpoints(tessera):
    metadata = tessera.metadata()
    assert metadata["revocation_endpoint"] == f"{tessera.issuer}/revoke"
    assert metadata["introspection_endpoint"] == f"{tessera.issuer}/introspect"
    assert metadata["registration_endpoint"] == f"{tessera.issuer}/register"


def test_registration_requires_initial_access_token(tessera):
    response = _register(tessera, {"redirect_uris": ["https://app.example/cb"]}, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert _register(tessera, {"redirect_uris": ["https://app.example/cb"]}, "wrong").status_code == 401


def test_register_fetch_introspect_revoke(tessera):
    session, info = _registered_session(tessera)
    assert info["client_secret_expires_at"] == 0
    assert info["registration_client_uri"] == f"{tessera.issuer}/register/{info['client_id']}"

    token = session.fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    access = token["access_token"]

    response = session.introspect_token(f"{tessera.url}/introspect", token=access, token_type_hint="access_token")
    assert response.status_code == 200
    answer = response.json()
    assert answer["active"] is True
    assert answer["client_id"] == info["client_id"]
    assert answer["scope"] == "read"
    assert answer["token_type"] == "access_token"
    assert answer["iss"] == tessera.issuer

    revoked = session.revoke_token(f"{tessera.url}/revoke", token=access, token_type_hint="access_token")
    assert revoked.status_code == 200
    assert session.introspect_token(f"{tessera.url}/introspect", token=access).json() == {"active": False}
    # RFC 7009 §2.2: garbage is also 200.
    assert session.revoke_token(f"{tessera.url}/revoke", token="garbage").status_code == 200


def test_refresh_token_revocation_kills_the_family(tessera, client, user):
    session = OAuth2Session(client_id=client.client_id, client_secret=client.client_secret, scope="read")
    token = session.fetch_token(tessera.token_endpoint, username=user.username, password=user.password)
    assert session.revoke_token(f"{tessera.url}/revoke", token=token["refresh_token"], token_type_hint="refresh_token").status_code == 200
    response = requests.post(tessera.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
                             auth=(client.client_id, client.client_secret), timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_client_management_rfc7592(tessera):
    _, info = _registered_session(tessera)
    uri, rat = info["registration_client_uri"], info["registration_access_token"]
    read = requests.get(uri, headers={"Authorization": f"Bearer {rat}"}, timeout=10)
    assert read.status_code == 200 and read.json()["client_id"] == info["client_id"]
    update = requests.put(uri, headers={"Authorization": f"Bearer {rat}"}, timeout=10,
                          json={"client_id": info["client_id"], "client_name": "renamed", "grant_types": ["client_credentials"],
                                "response_types": []})
    assert update.status_code == 200, update.text
    new_rat = update.json()["registration_access_token"]
    assert requests.get(uri, headers={"Authorization": f"Bearer {rat}"}, timeout=10).status_code == 401
    assert requests.delete(uri, headers={"Authorization": f"Bearer {new_rat}"}, timeout=10).status_code == 204
    assert requests.get(uri, headers={"Authorization": f"Bearer {new_rat}"}, timeout=10).status_code == 401


def test_open_registration_for_mcp_style_clients(start_tessera):
    server = start_tessera({"TESSERA_OPEN_REGISTRATION": "true"})
    response = _register(server, {"client_name": "mcp", "redirect_uris": ["http://127.0.0.1:33418/callback"],
                                  "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none"}, None)
    assert response.status_code == 201, response.text
    assert "client_secret" not in response.json()
    refused = _register(server, {"grant_types": ["password"], "response_types": []}, None)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata"


def test_example_api_in_introspection_mode_refuses_a_revoked_token(tessera, tmp_root):
    if not EXAMPLE_API_BIN.is_file():
        pytest.skip(f"example API binary {EXAMPLE_API_BIN} not built")
    api_client = tessera.add_client(grants=("client_credentials",), scopes=("read",))
    caller, _ = _registered_session(tessera)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="example-api-introspection-", dir=tmp_root)) / "api.log"
    env = _child_env({"TESSERA_ISSUER": tessera.issuer, "EXAMPLE_API_PORT": str(port), "EXAMPLE_API_HOST": "127.0.0.1",
                      "EXAMPLE_API_MODE": "introspection", "EXAMPLE_API_CLIENT_ID": api_client.client_id,
                      "EXAMPLE_API_CLIENT_SECRET": api_client.client_secret, "EXAMPLE_API_INTROSPECTION_CACHE": "0"})
    with open(log, "ab") as log_file:
        proc = subprocess.Popen([str(EXAMPLE_API_BIN)], stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(proc, url, log, "tessera-example-api (introspection)")
        access = caller.fetch_token(tessera.token_endpoint, grant_type="client_credentials")["access_token"]
        ok = requests.get(f"{url}/data", headers={"Authorization": f"Bearer {access}"}, timeout=10)
        assert ok.status_code == 200, ok.text
        assert caller.revoke_token(f"{tessera.url}/revoke", token=access).status_code == 200
        refused = requests.get(f"{url}/data", headers={"Authorization": f"Bearer {access}"}, timeout=10)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    finally:
        _stop(proc)


def test_open_registration_gives_no_machine_tokens_and_no_foreign_introspection(start_tessera):
    """Issue 20, item 1 (RFC 7591 §5, RFC 7662 §4): an anonymous registrant gets no client_credentials client and no
    API scope, and its client is told nothing about other clients' tokens; an operator's client still is."""
    server = start_tessera({"TESSERA_OPEN_REGISTRATION": "true"})
    for grants in (["client_credentials"], ["authorization_code", "client_credentials"], ["password"]):
        refused = _register(server, {"grant_types": grants, "redirect_uris": ["http://127.0.0.1:9/cb"], "scope": "read",
                                     "response_types": ["code"] if "authorization_code" in grants else []}, None)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_client_metadata", (grants, refused.text)

    anonymous = _register(server, {"client_name": "self", "redirect_uris": ["http://127.0.0.1:9/cb"], "scope": "openid read write"}, None)
    assert anonymous.status_code == 201, anonymous.text
    body = anonymous.json()
    assert body["scope"] == "openid" and body["grant_types"] == ["authorization_code"]
    # Its own update cannot add what registration refused (RFC 7592 §2.2).
    widened = requests.put(body["registration_client_uri"], headers={"Authorization": f"Bearer {body['registration_access_token']}"},
                           json={"client_id": body["client_id"], "redirect_uris": ["http://127.0.0.1:9/cb"],
                                 "grant_types": ["authorization_code", "client_credentials"], "response_types": ["code"]}, timeout=10)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_client_metadata"
    assert requests.post(server.token_endpoint, data={"grant_type": "client_credentials"},
                         auth=(body["client_id"], body["client_secret"]), timeout=10).status_code in (400, 401)

    operator = server.add_client(grants=("client_credentials",), scopes=("read",))
    access = requests.post(server.token_endpoint, data={"grant_type": "client_credentials", "scope": "read"},
                           auth=(operator.client_id, operator.client_secret), timeout=10).json()["access_token"]
    seen = requests.post(f"{server.url}/introspect", data={"token": access}, auth=(body["client_id"], body["client_secret"]), timeout=10)
    assert seen.status_code == 200 and seen.json() == {"active": False}
    resource_server = server.add_client(grants=("client_credentials",), scopes=("read",))
    assert requests.post(f"{server.url}/introspect", data={"token": access},
                         auth=(resource_server.client_id, resource_server.client_secret), timeout=10).json()["active"] is True


def test_logout_is_no_open_redirect_for_an_anonymous_registrant(start_tessera):
    """Issue 20, item 2 (RP-Initiated Logout §3): without id_token_hint, a post_logout_redirect_uri that an anonymous
    registrant chose is not followed; the signed-out page is shown."""
    server = start_tessera({"TESSERA_OPEN_REGISTRATION": "true"})
    target = "http://127.0.0.1:9/landing"
    registered = _register(server, {"redirect_uris": [target], "token_endpoint_auth_method": "none"}, None)
    assert registered.status_code == 201, registered.text
    response = requests.get(f"{server.url}/logout", params={"client_id": registered.json()["client_id"], "post_logout_redirect_uri": target,
                                                            "state": "x"}, allow_redirects=False, timeout=10)
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert "Signed out" in response.text

