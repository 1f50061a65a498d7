"""Client ID Metadata Documents against the release binary: the test serves the documents on loopback (with the
development setting TESSERA_ALLOW_LOOPBACK_CLIENT_URLS on), a headless Chromium signs in and consents — the consent
page names the document's host and warns that the redirects are local — and the code is exchanged with PKCE and no
secret. Each refusal is an error page at /authorize, never a redirect to an unvetted URI."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from test_browser import (  # noqa: E402  (shared driver fixture and helpers)
    browser,  # noqa: F401
    callback,  # noqa: F401
    landed,
    pytestmark,  # noqa: F401  (skips without chromium)
)
from test_consent_interaction import open_consent  # noqa: E402
from interop_support import audit_json, verify_access_token  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402


class _Documents(BaseHTTPRequestHandler):
    """Serves `documents[path]` = (status, content type, body, extra headers); counts requests per path."""

    documents: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
    hits: dict[str, int] = {}

    def do_GET(self):  # noqa: N802
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        status, content_type, body, headers = self.documents.get(self.path, (404, "text/plain", b"missing", {}))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def documents():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Documents)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    def publish(path, document=None, status=200, content_type="application/json", body=None, headers=None):
        payload = body if body is not None else json.dumps(document).encode()
        _Documents.documents[path] = (status, content_type, payload, headers or {})
        return base + path

    yield publish
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from conftest import _start_tessera
    root = tmp_path_factory.mktemp("cimd")
    node = _start_tessera(root, {"TESSERA_ALLOW_LOOPBACK_CLIENT_URLS": "true"})
    yield node
    node.stop()


def _document(client_id, redirect_uri, **members):
    return {"client_id": client_id, "client_name": "Loopback Agent", "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none", **members}


def test_browser_flow_with_a_client_id_metadata_document(server, browser, callback, documents):
    redirect_uri = f"{callback}/cb"
    client_id = documents("/agent/client.json")
    documents("/agent/client.json", _document(client_id, redirect_uri), headers={"Cache-Control": "max-age=300"})
    metadata = requests.get(f"{server.url}/.well-known/oauth-authorization-server", timeout=5).json()
    assert metadata["client_id_metadata_document_supported"] is True

    user = server.add_user(scopes=("openid", "profile", "read"))
    session, verifier, state = open_consent(browser, server, {"client_id": client_id}, user, redirect_uri, "openid read")
    assert browser.find_element(By.ID, "client-name").text == "Loopback Agent"
    assert browser.find_element(By.ID, "client-host").find_element(By.CLASS_NAME, "host").text == "127.0.0.1"
    assert "Local application" in browser.find_element(By.ID, "loopback-warning").text
    assert browser.find_elements(By.ID, "unverified-notice"), "nobody vetted the document's name"
    browser.find_element(By.ID, "consent-allow").click()
    landed_at = landed(browser, redirect_uri)
    query = parse_qs(urlsplit(landed_at).query)
    assert query["state"] == [state] and query["iss"] == [server.issuer]

    token = requests.post(server.token_endpoint, data={
        "grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier}, timeout=10)
    assert token.status_code == 200, token.text
    _, claims = verify_access_token(server, token.json()["access_token"])
    assert claims["client_id"] == client_id
    refreshed = requests.post(server.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"], "client_id": client_id}, timeout=10)
    assert refreshed.status_code == 200, refreshed.text
    assert _Documents.hits["/agent/client.json"] == 1, "cached per node for its max-age"
    for _ in range(40):  # the audit buffer reaches the database within a second
        events = audit_json(server, "--client", client_id)
        if any(event["type"] == "client.metadata_document_fetched" for event in events):
            break
        time.sleep(0.1)
    assert any(event["type"] == "client.metadata_document_fetched" for event in events), events


@pytest.mark.parametrize("case", ["mismatch", "redirect-not-listed", "html", "oversize", "redirected", "secret", "missing"])
def test_each_refused_document_is_an_error_page(server, callback, documents, case):
    redirect_uri = f"{callback}/cb"
    path = f"/refused/{case}.json"
    client_id = documents(path, {})
    if case == "mismatch":
        documents(path, _document(client_id + "x", redirect_uri))
    elif case == "redirect-not-listed":
        documents(path, _document(client_id, f"{callback}/elsewhere"))
    elif case == "html":
        documents(path, content_type="text/html", body=b"<html>hello</html>")
    elif case == "oversize":
        documents(path, _document(client_id, redirect_uri, padding="x" * 6000))
    elif case == "redirected":
        target = documents("/refused/target.json", _document(client_id, redirect_uri))
        documents(path, status=302, body=b"", headers={"Location": target})
    elif case == "secret":
        documents(path, _document(client_id, redirect_uri, client_secret="s3cret"))
    elif case == "missing":
        client_id = client_id.replace(".json", "-absent.json")
    response = requests.get(f"{server.url}/authorize", params={
        "client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code", "scope": "read",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"},
        allow_redirects=False, timeout=10)
    # invalid_client (the document) is 401, invalid_request (the redirect URI) 400: both an HTML page, never a redirect.
    assert response.status_code in (400, 401), (case, response.status_code, response.headers.get("Location"))
    assert "Location" not in response.headers
    assert "text/html" in response.headers["Content-Type"]


def test_private_addresses_are_refused_without_the_development_setting(start_tessera, callback, documents):
    node = start_tessera()  # TESSERA_ALLOW_LOOPBACK_CLIENT_URLS off
    client_id = documents("/agent/strict.json", _document("x", f"{callback}/cb"))
    response = requests.get(f"{node.url}/authorize", params={
        "client_id": client_id, "redirect_uri": f"{callback}/cb", "response_type": "code",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"},
        allow_redirects=False, timeout=10)
    assert response.status_code in (400, 401) and "Location" not in response.headers
    assert _Documents.hits.get("/agent/strict.json", 0) == 0, "an http loopback client_id is not even fetched"
