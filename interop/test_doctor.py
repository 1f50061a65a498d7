"""`tessera doctor`: RFC 9700 findings for a database and configuration; exit 1 on errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess

from conftest import TESSERA_BIN, _child_env


def tessera(database, *args, env=None):
    return subprocess.run([str(TESSERA_BIN), *args, "--database", str(database)], capture_output=True, text=True,
                          env=_child_env(env or {}), timeout=60)


def test_clean_database_has_no_errors(tmp_path):
    database = tmp_path / "t.sqlite"
    added = tessera(database, "client", "add", "web", "--grant", "authorization_code", "--grant", "refresh_token",
                    "--redirect-uri", "https://app.example.com/cb", "--redirect-uri", "http://127.0.0.1:8000/cb")
    assert added.returncode == 0, added.stderr
    result = tessera(database, "doctor", env={"TESSERA_BCRYPT_COST": "12"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 errors" in result.stdout
    verbose = tessera(database, "doctor", "--verbose", env={"TESSERA_BCRYPT_COST": "12"})
    assert "RFC 9700 §2.2.2" in verbose.stdout  # refresh rotation reported as passed


def test_http_redirect_and_password_grant_are_errors_with_sections(tmp_path):
    database = tmp_path / "t.sqlite"
    config = tmp_path / "tessera.json"
    config.write_text(json.dumps({"bcryptCost": 12, "issuer": "http://auth.example.com", "openRegistration": True}))
    assert tessera(database, "client", "add", "legacy", "--grant", "password").returncode == 0
    assert tessera(database, "client", "add", "web", "--grant", "authorization_code",
                   "--redirect-uri", "http://app.example.com/callback").returncode == 0
    # A KEK is configured: a missing one off loopback is an error of its own (test_secrets_at_rest.py).
    kek = base64.b64encode(os.urandom(32)).decode()
    result = tessera(database, "doctor", "--config", str(config), env={"TESSERA_BCRYPT_COST": "12", "TESSERA_KEY_ENCRYPTION_KEYS": kek})
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "RFC 9700 §2.6" in out and "http://app.example.com/callback" in out
    assert "RFC 9700 §2.4" in out and "'legacy'" in out
    assert "RFC 8414 §2" in out and "http://auth.example.com" in out
    assert "WARNING" in out and "openRegistration" in out
    assert out.splitlines()[0].startswith("ERROR"), out
    assert "3 errors" in out


def test_weak_bcrypt_cost_is_an_error(tmp_path):
    result = tessera(tmp_path / "t.sqlite", "doctor", env={"TESSERA_BCRYPT_COST": "8"})
    assert result.returncode == 1
    assert "bcryptCost 8 is below 10" in result.stdout
