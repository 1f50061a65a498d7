"""Client display names (RFC 7591 §2 `client_name`) are shown on the login, consent and account pages:
NUL, control, bidi-override and zero-width characters are refused, at POST /register with
`invalid_client_metadata` (RFC 7591 §3.2.2) and by `tessera client add` with a clear error.
"""

from __future__ import annotations

import json

import pytest
import requests

REFUSED = ["Evil\u0000App", "Pay\u202elapyap", "\u2067App\u2069", "Goo\u200bgle", "Line\nbreak", "App\u061c", "\u200fApp"]


def _initial_access_token(tessera) -> str:
    return json.loads(tessera.cli("client", "registration-token", "--json").stdout)["initial_access_token"]


@pytest.mark.parametrize("name", REFUSED, ids=[f"U+{next(ord(c) for c in n if not c.isalnum()):04X}" for n in REFUSED])
def test_register_refuses_control_and_bidi_client_names(tessera, name):
    response = requests.post(f"{tessera.url}/register", json={"client_name": name, "redirect_uris": ["https://app.example/cb"]},
                             headers={"Authorization": f"Bearer {_initial_access_token(tessera)}"}, timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert response.json()["error_description"].startswith("client_name must not contain U+")


def test_register_accepts_names_in_any_script(tessera):
    name = "Café «Photos» 写真 📷"
    response = requests.post(f"{tessera.url}/register", json={"client_name": name, "redirect_uris": ["https://app.example/cb"]},
                             headers={"Authorization": f"Bearer {_initial_access_token(tessera)}"}, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["client_name"] == name


def test_cli_client_add_refuses_a_bidi_override(tessera):
    with pytest.raises(RuntimeError) as failure:
        tessera.cli("client", "add", "Pay\u202elapyap", "--grant", "client_credentials", "--scope", "read")
    assert "client name must not contain U+202E" in str(failure.value)
