"""private_key_jwt (RFC 7523 §2.2) with two independent client libraries: Authlib (RS256, aud = token endpoint, its
one-hour default lifetime) and requests-oauth2client (ES256, 60 s assertions) — token, introspection, revocation, and
the replay a stolen assertion would attempt."""

from __future__ import annotations

import base64
import json

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, RSAKey
from requests_oauth2client import OAuth2Client, PrivateKeyJwt
from jwskate import Jwk

from interop_support import verify_access_token

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _register(tessera, tmp_path, public_jwk: dict, name: str):
    path = tmp_path / f"{name}.jwks.json"
    path.write_text(json.dumps({"keys": [public_jwk]}))
    return tessera.add_client(grants=("client_credentials",), scopes=("read",), name=name,
                              extra_args=("--jwks-file", str(path)))


def test_authlib_rs256_private_key_jwt(tessera, tmp_path):
    key = RSAKey.generate_key(2048, parameters={"kid": "authlib-1", "use": "sig"}, private=True)
    client = _register(tessera, tmp_path, key.as_dict(private=False), "authlib-pkjwt")
    assert client.client_secret is None and client.info["token_endpoint_auth_method"] == "private_key_jwt"

    session = OAuth2Session(client.client_id, key, token_endpoint_auth_method="private_key_jwt", scope="read")
    session.register_client_auth_method(PrivateKeyJWT(tessera.token_endpoint))
    token = session.fetch_token(tessera.token_endpoint, grant_type="client_credentials")
    _, claims = verify_access_token(tessera, token["access_token"])
    assert claims["client_id"] == client.client_id and token["scope"] == "read"


def test_requests_oauth2client_es256_token_introspect_revoke_and_replay(tessera, tmp_path):
    private = Jwk.generate(alg="ES256", kid="roc-1")
    client = _register(tessera, tmp_path, private.public_jwk().to_dict(), "roc-pkjwt")

    oauth = OAuth2Client(
        token_endpoint=tessera.token_endpoint,
        introspection_endpoint=f"{tessera.url}/introspect",
        revocation_endpoint=f"{tessera.url}/revoke",
        auth=PrivateKeyJwt(client.client_id, private),
        testing=True,  # the library's switch for http endpoints (the server listens on loopback without TLS)
    )
    token = oauth.client_credentials(scope="read")
    _, claims = verify_access_token(tessera, str(token.access_token))
    assert claims["client_id"] == client.client_id
    assert oauth.introspect_token(token.access_token)["active"] is True
    assert oauth.revoke_access_token(token.access_token) is True
    assert oauth.introspect_token(token.access_token)["active"] is False

    # A captured assertion replayed (as an attacker with a copy of one request would): refused and audited.
    assertion = PrivateKeyJwt(client.client_id, private).client_assertion(tessera.token_endpoint)
    form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    first = requests.post(tessera.token_endpoint, data=form, timeout=5)
    assert first.status_code == 200, first.text
    replay = requests.post(tessera.token_endpoint, data=form, timeout=5)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    assert "already used" in replay.json()["error_description"]

    # An assertion signed by a key the client never registered, and one with alg "none".
    stranger = Jwk.generate(alg="ES256", kid="roc-1")
    forged = PrivateKeyJwt(client.client_id, stranger).client_assertion(tessera.token_endpoint)
    refused = requests.post(tessera.token_endpoint, data={**form, "client_assertion": forged}, timeout=5)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    _, payload, _ = assertion.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    unsigned = requests.post(tessera.token_endpoint, data={**form, "client_assertion": f"{none_header}.{payload}."}, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_client"


def test_metadata_advertises_private_key_jwt(tessera):
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        metadata = requests.get(tessera.url + path, timeout=5).json()
        assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
        assert {"ES256", "RS256"} <= set(metadata["token_endpoint_auth_signing_alg_values_supported"])
        assert "none" not in metadata["token_endpoint_auth_signing_alg_values_supported"]
