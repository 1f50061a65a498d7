"""A scriptable upstream identity provider for the federation tests (test_federation.py).

`FakeProvider` runs an http.server on a random loopback port in a thread and plays one of two parts:

* ``kind="oidc"``: an OpenID Connect provider — discovery (with RFC 9207
  ``authorization_response_iss_parameter_supported``), a JWKS with one RSA key, ``/authorize`` that
  approves at once, ``/token`` that returns an RS256 ID token, and ``/userinfo``;
* ``kind="oauth2"``: a GitHub-like plain OAuth 2.0 provider — ``/authorize``, ``/token`` (an access
  token only) and ``/user`` (numeric ``id``, ``login``, ``name``, ``email``).

Both check what a real provider checks: the client id and redirect URI at ``/authorize``, PKCE S256
is required, and at ``/token`` the client secret (Basic or form), the single-use code, the redirect
URI and the ``code_verifier`` against the recorded challenge. A request that fails a check gets an
OAuth error, and the failure is kept in ``errors`` so a test can assert that none happened.

``mode`` scripts misbehaviour for the negative tests:
  ``ok``           behave;
  ``tamper``       flip bytes of the ID token's signature;
  ``wrong_nonce``  sign an ID token whose ``nonce`` is not the one sent;
  ``evil_iss``     add ``iss=http://evil`` to the authorization response;
  ``deny``         answer the authorization request with ``error=access_denied``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    scope: str
    identity: dict


@dataclass
class FakeProvider:
    client_id: str
    client_secret: str
    kind: str = "oidc"  # "oidc" or "oauth2"
    # OIDC: sub, email, email_verified, name, preferred_username. oauth2: id, login, name, email.
    identity: dict = field(default_factory=dict)
    mode: str = "ok"
    # What the provider saw: authorization requests (query dicts), token requests (form dicts + auth method).
    authorize_requests: list = field(default_factory=list)
    token_requests: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._kid = "fixture-" + secrets.token_hex(4)
        self._codes: dict[str, PendingCode] = {}
        self._tokens: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "FakeProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def jwks(self) -> dict:
        numbers = self._key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "kid": self._kid, "use": "sig", "alg": "RS256",
                          "n": _uint(numbers.n), "e": _uint(numbers.e)}]}

    # --- tokens ----------------------------------------------------------------------------------

    def sign(self, claims: dict) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self._kid}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def _id_token(self, pending: PendingCode) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300, "auth_time": now,
                  **pending.identity}
        if self.mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce-" + secrets.token_hex(4)
        elif pending.nonce is not None:
            claims["nonce"] = pending.nonce
        token = self.sign(claims)
        if self.mode == "tamper":
            head, body, signature = token.split(".")
            raw = bytearray(b64url_decode(signature))
            raw[0] ^= 0xFF
            raw[-1] ^= 0xFF
            token = f"{head}.{body}.{b64url(bytes(raw))}"
        return token

    # --- HTTP ------------------------------------------------------------------------------------

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, value: dict, headers=None):
                self._send(status, json.dumps(value).encode(), headers=headers)

            def _error(self, status: int, error: str, description: str, headers=None):
                provider.errors.append(f"{self.command} {urlsplit(self.path).path}: {error}: {description}")
                self._json(status, {"error": error, "error_description": description}, headers)

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration" and provider.kind == "oidc":
                    self._json(200, provider.metadata())
                elif parts.path == "/jwks" and provider.kind == "oidc":
                    self._json(200, provider.jwks)
                elif parts.path == "/authorize":
                    self._authorize(query)
                elif parts.path == ("/userinfo" if provider.kind == "oidc" else "/user"):
                    self._userinfo()
                else:
                    self._send(404, b'{"error":"not_found"}')

            def do_POST(self):  # noqa: N802
                if urlsplit(self.path).path == "/token":
                    self._token()
                else:
                    self._send(404, b'{"error":"not_found"}')

            def _authorize(self, query: dict):
                provider.authorize_requests.append(dict(query))
                redirect_uri = query.get("redirect_uri", "")
                if query.get("client_id") != provider.client_id or not redirect_uri.startswith("http"):
                    return self._error(400, "invalid_request", "unknown client_id or bad redirect_uri")
                response: dict[str, str] = {}
                if provider.mode == "deny":
                    response = {"error": "access_denied", "error_description": "The user said no"}
                else:
                    problems = []
                    if query.get("response_type") != "code":
                        problems.append("response_type must be code")
                    if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
                        problems.append("PKCE S256 is required")
                    if not query.get("state"):
                        problems.append("state is missing")
                    if provider.kind == "oidc" and ("openid" not in query.get("scope", "").split() or not query.get("nonce")):
                        problems.append("scope openid and a nonce are required")
                    if problems:
                        return self._error(400, "invalid_request", "; ".join(problems))
                    code = secrets.token_urlsafe(24)
                    with provider._lock:
                        provider._codes[code] = PendingCode(
                            client_id=provider.client_id, redirect_uri=redirect_uri, code_challenge=query["code_challenge"],
                            nonce=query.get("nonce"), scope=query.get("scope", ""), identity=dict(provider.identity))
                    response = {"code": code}
                if "state" in query:
                    response["state"] = query["state"]
                if provider.kind == "oidc":
                    response["iss"] = "http://evil" if provider.mode == "evil_iss" else provider.issuer
                separator = "&" if urlsplit(redirect_uri).query else "?"
                self._send(302, b"", "text/plain", {"Location": redirect_uri + separator + urlencode(response)})

            def _token(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                auth = self.headers.get("Authorization", "")
                method, client_id, secret = "none", form.get("client_id"), form.get("client_secret")
                if auth.startswith("Basic "):
                    raw_id, _, raw_secret = base64.b64decode(auth[6:]).decode().partition(":")
                    method, client_id, secret = "client_secret_basic", unquote(raw_id), unquote(raw_secret)
                elif secret is not None:
                    method = "client_secret_post"
                provider.token_requests.append({**{k: v for k, v in form.items() if k != "client_secret"}, "auth_method": method})
                if client_id != provider.client_id or secret != provider.client_secret:
                    return self._error(401, "invalid_client", "client authentication failed",
                                       {"WWW-Authenticate": 'Basic realm="fixture"'})
                if form.get("grant_type") != "authorization_code":
                    return self._error(400, "unsupported_grant_type", "only authorization_code")
                with provider._lock:
                    pending = provider._codes.pop(form.get("code", ""), None)
                if pending is None:
                    return self._error(400, "invalid_grant", "unknown or used code")
                if form.get("redirect_uri") != pending.redirect_uri:
                    return self._error(400, "invalid_grant", "redirect_uri differs from the authorization request")
                verifier = form.get("code_verifier", "")
                if b64url(hashlib.sha256(verifier.encode("ascii")).digest()) != pending.code_challenge:
                    return self._error(400, "invalid_grant", "code_verifier does not match the S256 challenge")
                access_token = secrets.token_urlsafe(24)
                with provider._lock:
                    provider._tokens[access_token] = pending.identity
                body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 300, "scope": pending.scope}
                if provider.kind == "oidc":
                    body["id_token"] = provider._id_token(pending)
                self._json(200, body)

            def _userinfo(self):
                auth = self.headers.get("Authorization", "")
                identity = provider._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
                if identity is None:
                    return self._error(401, "invalid_token", "a Bearer token is required",
                                       {"WWW-Authenticate": 'Bearer error="invalid_token"'})
                self._json(200, identity)

        return Handler

    def metadata(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "email"],
            "authorization_response_iss_parameter_supported": True,
        }

    # --- endpoints for a plain OAuth 2.0 configuration --------------------------------------------

    @property
    def endpoints(self) -> dict:
        return {"authorizationEndpoint": f"{self.url}/authorize", "tokenEndpoint": f"{self.url}/token",
                "userinfoEndpoint": f"{self.url}/user"}
