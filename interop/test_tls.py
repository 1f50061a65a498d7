"""HTTPS: `tessera serve --tls-cert --tls-key` with a self-signed certificate generated for 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import STARTUP_TIMEOUT, TESSERA_BIN, _child_env, _stop, _tail, free_port


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate (SAN IP:127.0.0.1) and its key, with the openssl CLI or else `cryptography`."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    if shutil.which("openssl"):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=30,
        )
        return cert, key
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


def cli(database: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(TESSERA_BIN), *args, "--database", str(database)], capture_output=True, text=True,
                          env=env, timeout=30)


@pytest.fixture
def tls_server(tmp_path):
    cert, key = make_certificate(tmp_path)
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    database = tmp_path / "t.sqlite"
    env = _child_env({})
    log = tmp_path / "serve.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(TESSERA_BIN), "serve", "--database", str(database), "--host", "127.0.0.1", "--port", str(port),
             "--issuer", issuer, "--tls-cert", str(cert), "--tls-key", str(key)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert proc.poll() is None, f"tessera exited early:\n{_tail(log)}"
            try:
                if requests.get(f"{issuer}/healthz", verify=str(cert), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"not healthy over https:\n{_tail(log)}"
            time.sleep(0.05)
        yield {"issuer": issuer, "port": port, "cert": cert, "key": key, "database": database, "env": env}
    finally:
        _stop(proc)


def test_discovery_and_client_credentials_over_https_with_hsts(tls_server):
    issuer, cert = tls_server["issuer"], str(tls_server["cert"])
    metadata = requests.get(f"{issuer}/.well-known/oauth-authorization-server", verify=cert, timeout=5)
    assert metadata.status_code == 200
    assert metadata.json()["issuer"] == issuer
    assert metadata.json()["token_endpoint"] == f"{issuer}/token"
    assert metadata.headers["Strict-Transport-Security"].startswith("max-age=")

    added = cli(tls_server["database"], tls_server["env"], "client", "add", "tls-test", "--grant", "client_credentials",
                "--scope", "read", "--json")
    assert added.returncode == 0, added.stderr
    client = json.loads(added.stdout)
    token = requests.post(f"{issuer}/token", data={"grant_type": "client_credentials", "scope": "read"},
                          auth=(client["client_id"], client["client_secret"]), verify=cert, timeout=10)
    assert token.status_code == 200, token.text
    assert token.json()["token_type"].lower() == "bearer"
    assert "max-age=" in token.headers["Strict-Transport-Security"]

    # The certificate really is the one served (verification against a wrong CA fails).
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{issuer}/healthz", verify=True, timeout=5)


def test_plain_http_to_the_tls_port_fails(tls_server):
    try:
        response = requests.get(f"http://127.0.0.1:{tls_server['port']}/healthz", timeout=5)
    except requests.RequestException:
        return
    pytest.fail(f"plain http to the TLS port answered {response.status_code}")


@pytest.mark.parametrize("which", ["missing", "garbage"])
def test_unreadable_or_invalid_files_are_one_line_errors(tmp_path, which):
    cert, key = make_certificate(tmp_path)
    if which == "missing":
        cert = tmp_path / "nope.pem"
    else:
        key.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    result = subprocess.run(
        [str(TESSERA_BIN), "serve", "--database", str(tmp_path / "t.sqlite"), "--port", str(free_port()),
         "--tls-cert", str(cert), "--tls-key", str(key)],
        capture_output=True, text=True, env=_child_env({}), timeout=30,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and ("TLS" in lines[0]), lines[0]
