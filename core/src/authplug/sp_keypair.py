"""``authplug keygen --saml``: a self-signed RSA key and certificate for a SAML service provider.

The SAML provider signs its AuthnRequests, LogoutRequests and metadata with
this key, and the IdP reads the certificate from the SP metadata. A
self-signed certificate is normal for SAML (the metadata exchange is what
establishes trust), but this one is meant for development: production keys
belong in the operator's key management.

Files are written with mode 0600 (key) and 0644 (certificate) and never over
an existing file.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SpKeyPair", "make_sp_keypair", "write_sp_keypair"]


@dataclass(frozen=True, slots=True)
class SpKeyPair:
    """A PEM private key (PKCS#8, unencrypted) and its self-signed certificate."""

    key_pem: bytes
    cert_pem: bytes


def make_sp_keypair(common_name: str, *, days: int = 365, bits: int = 3072) -> SpKeyPair:
    """A fresh RSA key (``bits``) and a certificate for ``common_name`` valid ``days``.

    :raises ValueError: ``days`` or ``bits`` out of range, or an empty name.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    if not common_name or len(common_name) > 64:
        raise ValueError("the certificate's common name must be 1 to 64 characters")
    if not 1 <= days <= 3650:
        raise ValueError("days must be between 1 and 3650")
    if bits not in (2048, 3072, 4096):
        raise ValueError("bits must be 2048, 3072 or 4096")
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return SpKeyPair(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert.public_bytes(serialization.Encoding.PEM),
    )


def write_sp_keypair(pair: SpKeyPair, key_path: Path, cert_path: Path) -> None:
    """Write ``pair``; the key file is created 0600. Never overwrites.

    :raises FileExistsError: either file exists already.
    """
    for path in (key_path, cert_path):
        if path.exists():
            raise FileExistsError(f"{path} already exists; not overwriting it")
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pair.key_pem)
    descriptor = os.open(cert_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pair.cert_pem)
