"""Process lifecycle: `tessera serve` must stop promptly on SIGTERM (e.g. a Kubernetes rollout)."""

from __future__ import annotations

import subprocess
import time

import requests

SHUTDOWN_BUDGET = 5.0


def test_serve_exits_promptly_on_sigterm_with_default_reload_interval(start_tessera):
    # The default key reload interval (30 s) must not delay shutdown.
    server = start_tessera({"TESSERA_KEY_RELOAD_INTERVAL": "30"})
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    started = time.monotonic()
    server.proc.terminate()
    try:
        status = server.proc.wait(timeout=SHUTDOWN_BUDGET)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(timeout=10)
        raise AssertionError(f"tessera serve still running {SHUTDOWN_BUDGET}s after SIGTERM") from None
    assert status == 0, f"exit status {status}"
    assert time.monotonic() - started < SHUTDOWN_BUDGET
