"""TLS on the status listener: HTTPS only, optional client certificates, clear config errors.

The CA, the kiosk's certificate and the client certificates are made at test time
(cryptography), never committed. The peer is a real TLS client (httpx over Python's ssl)
talking to the listener's real socket.
"""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.config import ConfigError, check_secrets, status_tls_context
from kiosk.services import Kiosk
from kiosk.staff.tokens import Tokens
from ui.api import StatusListener, start_status_listener


@dataclass(frozen=True)
class Pem:
    cert: Path
    key: Path


def _write(base: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    pem = Pem(base / f"{name}.crt", base / f"{name}.key")
    pem.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return pem


def make_ca(base: Path, name: str) -> tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return _write(base, name, cert, key), cert, key


def issue(base: Path, name: str, ca: tuple[Pem, x509.Certificate, ec.EllipticCurvePrivateKey], server: bool) -> Pem:
    _, ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    return _write(base, name, builder.sign(ca_key, hashes.SHA256()), key)


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Pem]:
    server_ca = make_ca(tmp_path, "kiosk-ca")
    client_ca = make_ca(tmp_path, "fleet-ca")
    stranger_ca = make_ca(tmp_path, "stranger-ca")
    return {"server_ca": server_ca[0], "kiosk": issue(tmp_path, "kiosk", server_ca, server=True),
            "client_ca": client_ca[0], "console": issue(tmp_path, "console", client_ca, server=False),
            "stranger": issue(tmp_path, "stranger", stranger_ca, server=False)}


def tls_kiosk(make_kiosk: Callable[..., Kiosk], pki: dict[str, Pem], client_ca: bool = False) -> Kiosk:
    return make_kiosk(**{"status.tls_cert_file": str(pki["kiosk"].cert), "status.tls_key_file": str(pki["kiosk"].key),
                         **({"status.tls_client_ca_file": str(pki["client_ca"].cert)} if client_ca else {})})


def client_context(pki: dict[str, Pem], cert: str = "") -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["server_ca"].cert))
    if cert:
        ctx.load_cert_chain(str(pki[cert].cert), str(pki[cert].key))
    return ctx


def https_url(listener: StatusListener) -> str:
    return f"https://localhost:{listener.port}"


def test_https_serves_the_token_holder_and_plain_http_is_refused(make_kiosk: Callable[..., Kiosk],
                                                                 pki: dict[str, Pem]) -> None:
    k = tls_kiosk(make_kiosk, pki)
    auth = {"Authorization": "Bearer " + Tokens(k.store).create("central-staff")}
    listener = StatusListener(k, "127.0.0.1", 0, tls=status_tls_context(k.cfg.status)).start()
    try:
        assert listener.url.startswith("https://")
        with httpx.Client(verify=client_context(pki), timeout=5) as c:
            r = c.get(https_url(listener) + "/api/v1/status", headers=auth)
            assert r.status_code == 200 and r.json()["kiosk"]["id"] == k.cfg.kiosk.id
            assert c.get(https_url(listener) + "/metrics").status_code == 401  # TLS does not replace the token
        try:
            plain = httpx.get(f"http://127.0.0.1:{listener.port}/api/v1/status", headers=auth, timeout=5)
        except httpx.TransportError:
            pass
        else:  # cheroot's "this port speaks HTTPS only" answer: nothing from the app, no status
            assert plain.status_code == 400 and "kiosk" not in plain.text and "HTTPS" in plain.text
    finally:
        listener.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(https_url(listener) + "/metrics", verify=client_context(pki), timeout=1)


def test_a_client_certificate_is_required_when_a_client_ca_is_set(make_kiosk: Callable[..., Kiosk],
                                                                  pki: dict[str, Pem]) -> None:
    k = tls_kiosk(make_kiosk, pki, client_ca=True)
    auth = {"Authorization": "Bearer " + Tokens(k.store).create("central-staff")}
    listener = StatusListener(k, "127.0.0.1", 0, tls=status_tls_context(k.cfg.status)).start()
    url = https_url(listener) + "/api/v1/status"
    try:
        with httpx.Client(verify=client_context(pki, "console"), timeout=5) as c:
            assert c.get(url, headers=auth).status_code == 200
        for who in ("", "stranger"):  # no certificate, or one the fleet's CA did not sign
            with pytest.raises(httpx.TransportError), httpx.Client(verify=client_context(pki, who), timeout=5) as c:
                c.get(url, headers=auth)
    finally:
        listener.stop()


def test_the_configured_listener_starts_with_tls(make_kiosk: Callable[..., Kiosk], pki: dict[str, Pem]) -> None:
    """``[status] port`` plus the two files: what ``adm-kiosk run`` starts is HTTPS."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    k = tls_kiosk(make_kiosk, pki)
    k.cfg.status.port = port
    listener = start_status_listener(k)
    assert listener is not None
    try:
        assert listener.url == f"https://127.0.0.1:{port}"
        r = httpx.get(f"https://localhost:{port}/metrics", verify=client_context(pki), timeout=5)
        assert r.status_code == 401
    finally:
        listener.stop()


def test_tls_settings_are_checked_with_clear_errors(make_kiosk: Callable[..., Kiosk], pki: dict[str, Pem],
                                                    tmp_path: Path) -> None:
    k = tls_kiosk(make_kiosk, pki, client_ca=True)
    cfg = k.cfg
    cfg.status.tls_key_file = str(pki["console"].key)  # another certificate's key
    with pytest.raises(ConfigError, match="the key does not belong to the certificate"):
        check_secrets(cfg)
    cfg.status.tls_key_file = str(tmp_path / "gone.key")
    with pytest.raises(ConfigError, match=r"'status.tls_key_file': no such file .*gone.key"):
        check_secrets(cfg)
    cfg.status.tls_key_file = str(pki["kiosk"].key)
    cfg.status.tls_client_ca_file = str(pki["kiosk"].key)  # not a certificate
    with pytest.raises(ConfigError, match="'status.tls_client_ca_file': not a PEM CA certificate"):
        check_secrets(cfg)
    (tmp_path / "garbage.crt").write_text("not a certificate\n")
    cfg.status.tls_client_ca_file = ""
    cfg.status.tls_cert_file = str(tmp_path / "garbage.crt")
    with pytest.raises(ConfigError, match="not a PEM certificate"):
        check_secrets(cfg)
    from kiosk.config import load
    with pytest.raises(ConfigError, match="go together"):
        load(env={}, overrides={"sim.mode": "inprocess", "status.tls_cert_file": str(pki["kiosk"].cert)})


def test_a_silent_client_holds_nobody_off_and_stop_stays_bounded(make_kiosk: Callable[..., Kiosk],
                                                                 pki: dict[str, Pem]) -> None:
    """A client that opens a connection and never starts the handshake (a port scanner, a hung console)."""
    import socket
    k = tls_kiosk(make_kiosk, pki)
    auth = {"Authorization": "Bearer " + Tokens(k.store).create("central-staff")}
    listener = StatusListener(k, "127.0.0.1", 0, tls=status_tls_context(k.cfg.status)).start()
    silent = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(3)]
    try:
        started = time.monotonic()
        r = httpx.get(https_url(listener) + "/api/v1/status", headers=auth, verify=client_context(pki), timeout=15)
        waited = time.monotonic() - started
        assert r.status_code == 200
        assert waited < 3 * StatusListener.SOCKET_TIMEOUT_S + 2, waited
    finally:
        started = time.monotonic()
        listener.stop()
        stopped = time.monotonic() - started
        for s in silent:
            s.close()
    assert stopped < StatusListener.SHUTDOWN_S + 5, stopped
