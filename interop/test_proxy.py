"""`--trusted-proxy`: X-Forwarded-For / X-Forwarded-Proto count only when the TCP peer is a listed proxy."""

from __future__ import annotations

import requests

from interop_support import post_token


def login_post(server, forwarded_for: str) -> int:
    # The CSRF check fails (no session), but the per-IP login limit is counted first.
    response = requests.post(f"{server.url}/login", data={"username": "x", "password": "y"},
                             headers={"X-Forwarded-For": forwarded_for}, timeout=5, allow_redirects=False)
    return response.status_code


def audit_ips(server, client_id: str) -> set[str]:
    """The `client_ip` values of a client's audit events (`tessera audit --json` prints one pretty object each)."""
    listing = server.cli("audit", "--client", client_id, "--json").stdout
    return {
        line.split(":", 1)[1].strip().rstrip(",").strip('"')
        for line in listing.splitlines()
        if line.strip().startswith('"client_ip"')
    }


def test_trusted_proxy_gives_each_forwarded_client_its_own_bucket_and_audit_ip(start_tessera):
    server = start_tessera({"TESSERA_TRUSTED_PROXIES": "127.0.0.1", "TESSERA_LOGIN_RATE_LIMIT": "2"})
    assert [login_post(server, "198.51.100.1") for _ in range(2)] != [429, 429]
    assert login_post(server, "198.51.100.1") == 429
    # Another client behind the same proxy has its own bucket.
    assert login_post(server, "198.51.100.2") != 429
    # A forged leftmost hop does not help: the rightmost untrusted hop is the client.
    assert login_post(server, "203.0.113.50, 198.51.100.1") == 429

    client = server.add_client()
    user = server.add_user()
    ok = post_token(server, {"grant_type": "password", "username": user.username, "password": user.password},
                    (client.client_id, client.client_secret), headers={"X-Forwarded-For": "198.51.100.77"})
    assert ok.status_code == 200, ok.text
    server.stop()  # flushes the audit buffer
    assert "198.51.100.77" in audit_ips(server, client.client_id)


def test_untrusted_peer_forwarded_headers_are_ignored(start_tessera):
    server = start_tessera({"TESSERA_TRUSTED_PROXIES": "10.9.9.9", "TESSERA_LOGIN_RATE_LIMIT": "2"})
    assert login_post(server, "198.51.100.1") != 429
    assert login_post(server, "198.51.100.2") != 429
    # Every request counted against the real peer, 127.0.0.1, whatever the header claims.
    assert login_post(server, "198.51.100.3") == 429

    client = server.add_client()
    ok = post_token(server, {"grant_type": "client_credentials"}, (client.client_id, client.client_secret),
                    headers={"X-Forwarded-For": "198.51.100.77", "X-Forwarded-Proto": "https"})
    assert ok.status_code == 200
    assert "Strict-Transport-Security" not in ok.headers
    server.stop()
    assert audit_ips(server, client.client_id) == {"127.0.0.1"}


def test_trusted_proxy_forwarded_proto_makes_the_session_cookie_secure(start_tessera):
    trusted = start_tessera({"TESSERA_TRUSTED_PROXIES": "127.0.0.1"})
    secure = requests.get(f"{trusted.url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=5)
    plain = requests.get(f"{trusted.url}/login", timeout=5)
    assert secure.status_code == 200 and plain.status_code == 200
    assert "; Secure" in secure.headers.get("Set-Cookie", ""), secure.headers
    assert "; Secure" not in plain.headers.get("Set-Cookie", "")
