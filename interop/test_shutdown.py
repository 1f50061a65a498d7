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


def test_serve_on_a_taken_port_prints_one_error_line_and_exits_1(tmp_path):
    import socket

    from conftest import TESSERA_BIN, _child_env

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.Popen(
            [str(TESSERA_BIN), "serve", "--database", str(tmp_path / "t.sqlite"), "--host", "127.0.0.1", "--port", str(port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_child_env({}),
        )
        try:
            out, err = proc.communicate(timeout=SHUTDOWN_BUDGET)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate(timeout=10)
            raise AssertionError(f"tessera serve on a taken port still running after {SHUTDOWN_BUDGET}s") from None
    text = err.decode(errors="replace")
    assert proc.returncode == 1, (proc.returncode, text)
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot listen on 127.0.0.1:{port}: address already in use"], text
    assert "Tessera listening" not in text + out.decode(errors="replace"), text


def test_sigterm_during_startup_ends_serve(tmp_path):
    from conftest import TESSERA_BIN, _child_env, free_port

    for delay in (0.05, 0.3, 0.8):  # while opening the database, migrating, or binding
        proc = subprocess.Popen(
            [str(TESSERA_BIN), "serve", "--database", str(tmp_path / f"t{delay}.sqlite"), "--host", "127.0.0.1",
             "--port", str(free_port())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_child_env({}),
        )
        time.sleep(delay)
        proc.terminate()
        try:
            proc.wait(timeout=SHUTDOWN_BUDGET)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError(f"tessera serve ignored SIGTERM {delay}s into startup") from None
