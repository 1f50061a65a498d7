"""Slow and idle connections (issue 13, item 4): a connection that sends half a request head, half a body,
or nothing at all is closed after the configured timeout; an idle keep-alive connection after the idle
timeout; connections over `TESSERA_MAX_CONNECTIONS` are closed at once. The server keeps answering others.
"""

from __future__ import annotations

import socket
import time

import requests

TIMEOUT = 1  # seconds, for every timeout under test
SLACK = 2.5  # scheduling slack on a loaded machine


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(TIMEOUT + SLACK + 5)
    return sock


def _seconds_until_closed(sock: socket.socket) -> float:
    """Reads until the server closes the connection; returns how long that took (discarding any response)."""
    started = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("the server kept the connection open") from None
    return time.monotonic() - started


def _timeouts(start_tessera, **extra):
    env = {"TESSERA_HEADER_TIMEOUT": str(TIMEOUT), "TESSERA_BODY_TIMEOUT": str(TIMEOUT), "TESSERA_IDLE_TIMEOUT": str(TIMEOUT)}
    env.update(extra)
    return start_tessera(env)


def test_half_a_request_head_is_closed_while_others_are_served(start_tessera):
    server = _timeouts(start_tessera)
    sock = _connect(server)
    sock.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\n")
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    elapsed = _seconds_until_closed(sock)
    assert elapsed < TIMEOUT + SLACK, elapsed
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_half_a_body_is_closed(start_tessera):
    server = _timeouts(start_tessera)
    sock = _connect(server)
    sock.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 100\r\n\r\ngrant_type=")
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    elapsed = _seconds_until_closed(sock)
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_a_silent_connection_is_closed(start_tessera):
    server = _timeouts(start_tessera)
    sock = _connect(server)
    elapsed = _seconds_until_closed(sock)
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(start_tessera):
    server = _timeouts(start_tessera, TESSERA_HEADER_TIMEOUT="30", TESSERA_IDLE_TIMEOUT=str(TIMEOUT))
    sock = _connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first
    elapsed = _seconds_until_closed(sock)
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_a_slow_head_after_keep_alive_gets_the_head_timeout_not_the_idle_one(start_tessera):
    server = _timeouts(start_tessera, TESSERA_HEADER_TIMEOUT=str(TIMEOUT), TESSERA_IDLE_TIMEOUT="30")
    sock = _connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # half of the next head
    elapsed = _seconds_until_closed(sock)
    assert elapsed < TIMEOUT + SLACK, elapsed


def test_connections_over_the_bound_are_closed_at_once(start_tessera):
    server = start_tessera({"TESSERA_MAX_CONNECTIONS": "3", "TESSERA_HEADER_TIMEOUT": "30"})
    held = [_connect(server) for _ in range(3)]
    time.sleep(0.3)  # let the server accept all three
    extra = _connect(server)
    elapsed = _seconds_until_closed(extra)
    assert elapsed < 1.0, elapsed
    for sock in held:
        sock.close()
    deadline = time.monotonic() + 5
    while True:  # the slots free up as the server sees the closes
        try:
            if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "no slot freed after the held connections closed"
        time.sleep(0.1)
