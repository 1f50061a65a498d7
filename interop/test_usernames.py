"""Usernames are canonical (RFC 8265 PRECIS UsernameCaseMapped, plus the UTS #39 single-script rule).

Every spelling of one name — case, full-width letters, NFD vs NFC — names one user, at creation and at
sign-in; zero-width, bidi and mixed-script look-alikes are refused, so they can never coexist as
separate users that look the same on a page.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess

import pytest

from interop_support import post_token


def add_user(server, username: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(server.binary), "user", "add", username, "--password-stdin", "--scope", "read",
                           "--database", str(server.database)],
                          input="correct horse battery", capture_output=True, text=True, env=server.env, timeout=30)


def test_variants_of_one_name_are_one_user(tessera):
    base = "alice" + secrets.token_hex(3)
    created = add_user(tessera, base.capitalize())
    assert created.returncode == 0, created.stderr
    for variant in (base.upper(), base, "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in base)):
        again = add_user(tessera, variant)
        assert again.returncode != 0, f"{variant!r} was created beside {base!r}"
        assert "already exists" in again.stderr

    client = tessera.add_client(grants=("password",), scopes=("read",))
    for spelling in (base, base.upper(), base.capitalize()):
        response = post_token(tessera, {"grant_type": "password", "username": spelling, "password": "correct horse battery"},
                              (client.client_id, client.client_secret))
        assert response.status_code == 200, (spelling, response.text)


def test_nfd_and_nfc_are_one_user(tessera):
    suffix = secrets.token_hex(2)
    assert add_user(tessera, f"jose\u0301{suffix}").returncode == 0
    again = add_user(tessera, f"jos\u00e9{suffix}")
    assert again.returncode != 0 and "already exists" in again.stderr


@pytest.mark.parametrize("name", ["al\u200bice", "ali\u200dce", "alice\u202e", "al ice", "\u0430lice", "p\u0430ypal", "ab\u2066c"])
def test_invisible_and_mixed_script_names_are_refused(tessera, name):
    result = add_user(tessera, name)
    assert result.returncode != 0
    assert "invalid username" in result.stderr


def test_lookalike_login_is_an_unknown_user(tessera):
    user = tessera.add_user(username="bob" + secrets.token_hex(3))
    client = tessera.add_client(grants=("password",), scopes=("read",))
    for spelling in (user.username.replace("b", "\u0432", 1), user.username[:1] + "\u200b" + user.username[1:]):
        response = post_token(tessera, {"grant_type": "password", "username": spelling, "password": user.password},
                              (client.client_id, client.client_secret))
        assert response.status_code == 400 and response.json()["error"] == "invalid_grant", spelling


def test_existing_collisions_are_reported_not_merged(tessera, tmp_path):
    """A database from before canonicalisation (schema 10) with `Carol` and `carol`: the migration keeps both,
    and `tessera doctor` reports the one that cannot sign in by name."""
    database = tmp_path / "old.sqlite"
    env = tessera.env
    subprocess.run([str(tessera.binary), "migrate", "--database", str(database)], check=True, env=env, capture_output=True, timeout=30)
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM tessera_migrations WHERE version = 11")
        for user_id, name, created in (("u1", "carol", 1), ("u2", "Carol", 2), ("u3", "Dave", 3)):
            db.execute("INSERT INTO users (id, username, password_hash, scopes, disabled, created_at) VALUES (?, ?, 'x', 'read', 0, ?)",
                       (user_id, name, created))
    subprocess.run([str(tessera.binary), "migrate", "--database", str(database)], check=True, env=env, capture_output=True, timeout=30)
    with sqlite3.connect(database) as db:
        names = dict(db.execute("SELECT id, username FROM users").fetchall())
    assert names == {"u1": "carol", "u2": "Carol", "u3": "dave"}
    doctor = subprocess.run([str(tessera.binary), "doctor", "--database", str(database)], env=env, capture_output=True, text=True, timeout=30)
    assert doctor.returncode == 1
    assert "RFC 8265" in doctor.stdout and "'Carol' (u2)" in doctor.stdout and "'carol'" in doctor.stdout
