"""TLS for the simulated servers (stdlib `ssl`): the server-side context and a client certificate's subject.

mongod names an x.509 user by its certificate's subject in RFC 4514 form (docs "x.509 Certificate Authentication";
server `SSLX509Name::toString`): the RDNs most-specific first (reversed certificate order), `,` between RDNs, `+`
inside a multi-valued RDN, the short names CN, L, ST, O, OU, C, STREET, DC and UID, and values escaped per RFC 4514
section 2.4. That is also what `cryptography`'s `Name.rfc4514_string()` gives for these attributes.
"""

from __future__ import annotations

import ssl
from typing import Any

from .specs import SimTLS

# OpenSSL long names (what `SSLSocket.getpeercert()` reports) -> RFC 4514 section 3 short names. Other attributes
# keep OpenSSL's name (e.g. emailAddress), or their dotted OID when OpenSSL has no name for them.
_SHORT_NAMES = {
    "commonName": "CN",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}


def server_context(tls: SimTLS) -> ssl.SSLContext:
    """A server-side context, TLS 1.2+ (mongod's default `net.tls.disabledProtocols` leaves TLS 1.2 and 1.3)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.ca_file is not None:
        context.load_verify_locations(tls.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return context


def _escape(value: str) -> str:
    # RFC 4514 section 2.4.
    if not value:
        return ""
    for ch in ("\\", '"', "+", ",", ";", "<", ">"):
        value = value.replace(ch, "\\" + ch)
    value = value.replace("\0", "\\00")
    if value[0] in ("#", " "):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


def rfc4514_subject(peer_cert: dict[str, Any] | None) -> str | None:
    """The RFC 4514 subject of a verified peer certificate (`getpeercert()`), None without one."""
    if not peer_cert:
        return None
    rdns = peer_cert.get("subject") or ()
    parts = ["+".join(f"{_SHORT_NAMES.get(name, name)}={_escape(value)}" for name, value in rdn) for rdn in rdns]
    return ",".join(reversed(parts)) or None
