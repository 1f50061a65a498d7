"""`GET /metrics` behind a bearer token (issue 13, item 11): with `TESSERA_METRICS_TOKEN` (or
`TESSERA_METRICS_TOKEN_FILE`) only a request bearing it gets the exposition; any other gets 401 with
`WWW-Authenticate: Bearer` (RFC 6750 §3)."""

from __future__ import annotations

import requests

TOKEN = "scrape-token-0123456789abcdef"


def _assert_refused(response: requests.Response) -> None:
    assert response.status_code == 401, response.status_code
    assert response.headers["WWW-Authenticate"].startswith("Bearer"), response.headers
    assert "tessera_" not in response.text


def test_metrics_token_from_the_environment(start_tessera):
    server = start_tessera({"TESSERA_METRICS_TOKEN": TOKEN})
    url = f"{server.url}/metrics"
    _assert_refused(requests.get(url, timeout=5))
    _assert_refused(requests.get(url, headers={"Authorization": f"Bearer {TOKEN[:-1]}"}, timeout=5))
    _assert_refused(requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5))
    scrape = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert scrape.status_code == 200
    assert scrape.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "tessera_http_requests_total" in scrape.text


def test_metrics_token_from_a_file(start_tessera, tmp_path):
    token_file = tmp_path / "metrics-token"
    token_file.write_text(TOKEN + "\n")
    server = start_tessera({"TESSERA_METRICS_TOKEN_FILE": str(token_file)})
    url = f"{server.url}/metrics"
    _assert_refused(requests.get(url, timeout=5))
    assert requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).status_code == 200


def test_metrics_stay_public_without_a_token(tessera):
    assert requests.get(f"{tessera.url}/metrics", timeout=5).status_code == 200
