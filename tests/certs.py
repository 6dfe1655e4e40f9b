"""Test helper: a throw-away CA with server and client certificates for 127.0.0.1 (cryptography, no network)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Certs:
    ca: Path  # CA certificate (PEM)
    server_cert: Path
    server_key: Path
    server_pem: Path  # certificate and key in one file, as MongoDB's tlsCertificateKeyFile wants
    client_cert: Path
    client_key: Path
    client_pem: Path
    client_subject: str  # RFC 4514 subject of the client certificate, e.g. for MONGODB-X509 users


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_certs(directory: Path, client_cn: str = "pmm-exporter") -> Certs:
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def leaf(name: x509.Name, usage: x509.ObjectIdentifier, san: bool) -> tuple[x509.Certificate, bytes]:
        key = _key()
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(ca_key, hashes.SHA256()), _pem_key(key)

    server, server_key = leaf(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
                              ExtendedKeyUsageOID.SERVER_AUTH, san=True)
    client_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pmm-backup-prereq-exporter tests"),
                             x509.NameAttribute(NameOID.COMMON_NAME, client_cn)])
    client, client_key = leaf(client_name, ExtendedKeyUsageOID.CLIENT_AUTH, san=False)

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    pem = serialization.Encoding.PEM
    return Certs(
        ca=write("ca.pem", ca.public_bytes(pem)),
        server_cert=write("server.crt", server.public_bytes(pem)),
        server_key=write("server.key", server_key),
        server_pem=write("server.pem", server.public_bytes(pem) + server_key),
        client_cert=write("client.crt", client.public_bytes(pem)),
        client_key=write("client.key", client_key),
        client_pem=write("client.pem", client.public_bytes(pem) + client_key),
        client_subject=client.subject.rfc4514_string(),
    )
