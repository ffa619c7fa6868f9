"""Throw-away X.509 material for the test registries.

Everything is generated per session with `cryptography` so no key or certificate is ever
checked in, and TLS tests exercise a real (if private) chain of trust: a CA, and a server
certificate it signed for ``127.0.0.1`` and ``localhost``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(days=1)


@dataclass(frozen=True)
class TestPKI:
    """Paths of a CA and of one server certificate it signed (all PEM).

    ``ca_file`` sits alone in ``ca_dir`` so the directory can be handed to tools that load
    every file in a directory (``skopeo --cert-dir`` would take a stray ``*.key`` for a
    client key and fail).
    """

    ca_dir: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    __test__ = False  # not a pytest test class, despite the name


def new_key() -> ec.EllipticCurvePrivateKey:
    """A P-256 key: fast to generate, accepted by Go, OpenSSL and ES256 JWTs alike."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM, the form the registry's TLS config loads."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    """PEM encoding of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pullgate tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def self_signed_cert(
    key: ec.EllipticCurvePrivateKey, common_name: str, *, ca: bool = True
) -> x509.Certificate:
    """A self-signed certificate for ``key`` (a CA, or a token-signing certificate)."""
    now = dt.datetime.now(dt.timezone.utc)
    name = _name(common_name)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(key, hashes.SHA256())


def make_test_pki(
    directory: Path,
    *,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    expired: bool = False,
) -> TestPKI:
    """Write ``ca/ca.crt``, ``server.crt`` and ``server.key`` into ``directory``.

    The server certificate carries IP and DNS SANs because clients (httpx, Go, skopeo)
    verify ``127.0.0.1`` against IP SANs only, never against the common name. Give other
    ``dns_names`` / ``ip_addresses`` for a certificate made out to the wrong name;
    ``expired=True`` makes one whose validity ended yesterday (its CA is still valid).
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = new_key()
    ca_cert = self_signed_cert(ca_key, "pullgate test CA", ca=True)

    server_key = new_key()
    now = dt.datetime.now(dt.timezone.utc)
    if expired:
        now -= _VALIDITY + _BACKDATE
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(dns_names[0] if dns_names else ip_addresses[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    (directory / "ca").mkdir(exist_ok=True)
    pki = TestPKI(
        ca_dir=directory / "ca",
        ca_file=directory / "ca" / "ca.crt",
        cert_file=directory / "server.crt",
        key_file=directory / "server.key",
    )
    pki.ca_file.write_bytes(cert_pem(ca_cert))
    pki.cert_file.write_bytes(cert_pem(server_cert))
    pki.key_file.write_bytes(key_pem(server_key))
    pki.key_file.chmod(0o600)
    return pki


@dataclass(frozen=True)
class ClientPKI:
    """A CA for client certificates and one client certificate it signed (all PEM).

    ``combined_file`` holds the certificate and its key in one file (containerd's
    ``client = "file.pem"`` form, the key None).
    """

    ca_file: Path
    cert_file: Path
    key_file: Path
    combined_file: Path


def make_client_pki(directory: Path, common_name: str = "pullgate test client") -> ClientPKI:
    """Write ``client-ca.crt``, ``client.crt``, ``client.key`` and ``client.pem`` (both)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = new_key()
    ca_cert = self_signed_cert(ca_key, "pullgate test client CA", ca=True)
    key = new_key()
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pki = ClientPKI(
        ca_file=directory / "client-ca.crt",
        cert_file=directory / "client.crt",
        key_file=directory / "client.key",
        combined_file=directory / "client.pem",
    )
    pki.ca_file.write_bytes(cert_pem(ca_cert))
    pki.cert_file.write_bytes(cert_pem(cert))
    pki.key_file.write_bytes(key_pem(key))
    pki.combined_file.write_bytes(cert_pem(cert) + key_pem(key))
    for path in (pki.key_file, pki.combined_file):
        path.chmod(0o600)
    return pki
