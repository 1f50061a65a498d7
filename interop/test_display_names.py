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


IMITATIONS = ["Tessera Account Security", "TESSERA", "\uff34\uff45\uff53\uff53\uff45\uff52\uff41 Login", "T\u00ebssera", "T.e.s.s.e.r.a",
              "T\u0435ss\u0435r\u0430 Support"]


def test_open_registration_refuses_names_imitating_the_product(start_tessera):
    """Issue 20 item 10: an anonymous registrant may not call itself "Tessera …" (folded like usernames)."""
    server = start_tessera({"TESSERA_OPEN_REGISTRATION": "true", "TESSERA_REGISTRATION_RATE_LIMIT": "1000"})
    token = _initial_access_token(server)
    for name in IMITATIONS:
        body = {"client_name": name, "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none"}
        refused = requests.post(f"{server.url}/register", json=body, timeout=10)
        assert refused.status_code == 400, (name, refused.text)
        assert refused.json()["error"] == "invalid_client_metadata"
        assert "imitate" in refused.json()["error_description"]
        # An operator (initial access token) may use any name.
        allowed = requests.post(f"{server.url}/register", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert allowed.status_code == 201, (name, allowed.text)
        assert allowed.json()["client_name"] == name
    ordinary = requests.post(f"{server.url}/register", json={"client_name": "Photo Helper", "redirect_uris": ["https://app.example/cb"],
                                                             "token_endpoint_auth_method": "none"}, timeout=10)
    assert ordinary.status_code == 201, ordinary.text
