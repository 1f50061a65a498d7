"""Helpers shared by the interoperability tests: Authlib sessions and JWT verification."""

from __future__ import annotations

import base64
import html
import json
import re
import time

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

ACCESS_TOKEN_LIFETIME = 900


def session_for(client, method: str | None = None, scope: str | None = None, **kwargs) -> OAuth2Session:
    """An Authlib OAuth2Session for a client registered with the CLI.

    Every request and response the session makes is recorded in `session.sent` (a list of
    `requests.Response`), so tests can check what Authlib actually put on the wire.
    """
    if method is None:
        method = client.info.get("token_endpoint_auth_method", "client_secret_basic")
    session = OAuth2Session(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_endpoint_auth_method=method,
        scope=scope,
        **kwargs,
    )
    session.sent = []
    session.hooks["response"].append(lambda response, *args, **kw: session.sent.append(response))
    return session


def b64url_json(segment: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def unverified_header(token: str) -> dict:
    return b64url_json(token.split(".")[0])


def verify_access_token(server, token: str, jwks: dict | None = None):
    """Verifies `token`'s signature with the keys published at `/jwks.json` (or `jwks`) and the
    registered claims iss/aud/exp. Returns `(header, claims)`; raises on any failure."""
    jwks = jwks if jwks is not None else server.jwks()
    header = unverified_header(token)
    assert header.get("typ") == "at+jwt", header
    assert header.get("alg") == "ES256", header
    kids = {key["kid"] for key in jwks["keys"]}
    assert header.get("kid") in kids, f"kid {header.get('kid')!r} is not published in {sorted(kids)}"

    key_set = KeySet.import_key_set(jwks)
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])  # raises BadSignatureError
    assert decoded.header == header
    claims = decoded.claims

    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server.issuer},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        sub={"essential": True},
    )
    registry.validate(claims)  # raises on a wrong iss or an expired token

    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    assert server.issuer in audiences, f"aud {aud!r} does not name the issuer {server.issuer}"
    now = time.time()
    assert claims["iat"] <= now + 5, claims
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_LIFETIME, claims
    assert isinstance(claims["jti"], str) and claims["jti"], claims
    return header, claims


def scopes(value: str) -> set[str]:
    return set(value.split())


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs of an HTML page (CSRF token, interaction id, return_to), unescaped."""
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    return {name: html.unescape(value) for name, value in fields.items()}


def audit_json(server, *args: str) -> list[dict]:
    """`tessera audit ARGS --json`: the events as dicts, newest first (the CLI prints a sequence of
    pretty-printed JSON objects, not one array)."""
    text = server.cli("audit", *args, "--json").stdout
    decoder, events, index = json.JSONDecoder(), [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return events
        value, index = decoder.raw_decode(text, index)
        events.append(value)


def post_token(server, data, auth=None, **kwargs) -> requests.Response:
    """A raw token request (for checks of status codes and headers Authlib hides)."""
    return requests.post(server.token_endpoint, data=data, auth=auth, timeout=10, **kwargs)
