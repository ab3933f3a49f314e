"""PEM keys in the settings: SubjectPublicKeyInfo or an X.509 certificate, bound to their kid."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from authplug.errors import NotAuthenticatedError
from authplug_jwt import JwtProvider


def _spki(kit: Any) -> str:
    return (
        kit.keys.rsa.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _certificate(kit: Any) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(kit.keys.rsa.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(kit.keys.rsa, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _code(provider: JwtProvider, token: str) -> str | None:
    try:
        provider.verify(token)
    except NotAuthenticatedError as exc:
        return exc.code
    return None


def test_a_certificate_pem_verifies_like_its_public_key(kit: Any) -> None:
    token = kit.rs256()
    for pem in (_spki(kit), _certificate(kit)):
        assert _code(JwtProvider(kit.settings(public_keys=[pem])), token) is None


def test_a_pem_configured_under_a_kid_verifies_only_tokens_naming_it(kit: Any) -> None:
    provider = JwtProvider(kit.settings(public_keys={"k1": _certificate(kit)}))
    assert _code(provider, kit.rs256({"kid": "k1"})) is None
    assert _code(provider, kit.rs256({"kid": "other"})) == "unknown_key"
    anonymous = JwtProvider(kit.settings(public_keys=[_spki(kit)]))
    assert _code(anonymous, kit.rs256({"kid": "other"})) is None  # a key without kid serves any
