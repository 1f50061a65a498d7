"""Durability of refresh rotation on the embedded SQLite store (issue 19: faster rotation, nothing weakened).

A refresh token a client received must survive a `kill -9` of the server, and reuse detection must still work after
the restart: the 200 is sent only after the commit, and the commit is in the write-ahead log before it returns.
"""
from __future__ import annotations

import os
import signal
import threading
import time

import requests


def password_grant(server, client, user) -> requests.Response:
    return requests.post(server.token_endpoint,
                         data={"grant_type": "password", "username": user.username, "password": user.password, "scope": "read write"},
                         auth=(client.client_id, client.client_secret), timeout=30)


def refresh(server, client, token: str) -> requests.Response:
    return requests.post(server.token_endpoint, data={"grant_type": "refresh_token", "refresh_token": token},
                         auth=(client.client_id, client.client_secret), timeout=30)


def test_kill_minus_nine_during_rotations_loses_no_token_and_keeps_reuse_detection(start_tessera):
    server = start_tessera()
    client = server.add_client()
    users = [server.add_user() for _ in range(8)]
    holding: dict[int, str] = {}    # the refresh token each client holds, unused
    previous: dict[int, str] = {}   # the token each client rotated away last (a replay of it is reuse)
    in_flight: set[int] = set()     # clients whose request was cut by the kill: their token may have been used
    lock = threading.Lock()
    stop = threading.Event()
    received = 0

    def load(index: int, user) -> None:
        nonlocal received
        token = None
        while not stop.is_set():
            try:
                response = password_grant(server, client, user) if token is None else refresh(server, client, token)
            except requests.RequestException:
                with lock:
                    in_flight.add(index)
                return
            assert response.status_code == 200, response.text
            with lock:
                if token is not None:
                    previous[index] = token
                token = response.json()["refresh_token"]
                holding[index] = token
                received += 1

    threads = [threading.Thread(target=load, args=(i, user)) for i, user in enumerate(users)]
    for thread in threads:
        thread.start()
    time.sleep(2.5)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert received >= 40, f"too little load before the kill: {received} tokens"

    server.start()  # the same SQLite file, the same port
    survivors = {i: token for i, token in holding.items() if i not in in_flight}
    assert survivors, "every client was mid-request at the kill; nothing to check"
    replayable = [i for i in survivors if i in previous]
    assert replayable, "no client had rotated before the kill"
    # Reuse detection survives the crash: replaying an already-rotated token is refused and revokes its family,
    # so that client's current token stops working too (RFC 9700 §4.14.2).
    victim = replayable[0]
    replay = refresh(server, client, previous[victim])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    after_replay = refresh(server, client, survivors[victim])
    assert after_replay.status_code == 400, "the family of a replayed token must be revoked"
    # Every other client's last token was committed before its 200 was sent: it still rotates.
    for index, token in survivors.items():
        if index == victim:
            continue
        response = refresh(server, client, token)
        assert response.status_code == 200, f"client {index} lost its refresh token across kill -9: {response.text}"
