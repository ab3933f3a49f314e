"""Raw JWS minting for tests: keys made at test time, every header and payload
byte under the test's control (so tests can mint what no library would).

Loaded by path, once, by ``tests/conftest.py``'s ``jose_tokens`` fixture (which
the JOSE, JWT and OAuth test folders use), since test folders are not packages.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _json(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


Signer = Callable[[bytes], bytes]


def mint(header: dict[str, Any] | bytes, claims: dict[str, Any] | bytes, sign: Signer) -> str:
    """A compact JWS from raw parts: dicts are JSON-encoded, bytes used as they are."""
    signing_input = f"{b64(_json(header))}.{b64(_json(claims))}"
    return f"{signing_input}.{b64(sign(signing_input.encode('ascii')))}"


def rsa_signer(
    key: rsa.RSAPrivateKey, digest: type[hashes.HashAlgorithm] = hashes.SHA256
) -> Signer:
    return lambda data: key.sign(data, padding.PKCS1v15(), digest())


def pss_signer(
    key: rsa.RSAPrivateKey, digest: type[hashes.HashAlgorithm] = hashes.SHA256
) -> Signer:
    algorithm = digest()
    return lambda data: key.sign(
        data,
        padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size),
        algorithm,
    )


def ec_signer(key: ec.EllipticCurvePrivateKey, digest: type[hashes.HashAlgorithm]) -> Signer:
    size = (key.curve.key_size + 7) // 8

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return sign


def hmac_signer(secret: bytes, digest: str = "sha256") -> Signer:
    return lambda data: hmac.new(secret, data, getattr(hashlib, digest)).digest()


def ed_signer(key: ed25519.Ed25519PrivateKey) -> Signer:
    return key.sign


def public_jwk(key: Any, **extra: Any) -> dict[str, Any]:
    """The public JWK of a private key object, with ``extra`` members."""
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        jwk: dict[str, Any] = {"kty": "RSA", "n": b64(n), "e": b64(numbers.e.to_bytes(3, "big"))}
    elif isinstance(public, ec.EllipticCurvePublicKey):
        size = (public.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[public.curve.name]
        nums = public.public_numbers()
        jwk = {
            "kty": "EC",
            "crv": crv,
            "x": b64(nums.x.to_bytes(size, "big")),
            "y": b64(nums.y.to_bytes(size, "big")),
        }
    else:
        from cryptography.hazmat.primitives import serialization

        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}
    jwk.update(extra)
    return jwk


@dataclass
class Keys:
    """Private keys generated once per session."""

    rsa: rsa.RSAPrivateKey
    rsa_other: rsa.RSAPrivateKey
    rsa_weak: rsa.RSAPrivateKey
    p256: ec.EllipticCurvePrivateKey
    p384: ec.EllipticCurvePrivateKey
    p521: ec.EllipticCurvePrivateKey
    ed: ed25519.Ed25519PrivateKey


def make_keys() -> Keys:
    """Fresh private keys of every kind the tests sign with."""
    return Keys(
        rsa=rsa.generate_private_key(65537, 2048),
        rsa_other=rsa.generate_private_key(65537, 2048),
        rsa_weak=rsa.generate_private_key(65537, 1024),  # noqa: S505 - the weak key under test
        p256=ec.generate_private_key(ec.SECP256R1()),
        p384=ec.generate_private_key(ec.SECP384R1()),
        p521=ec.generate_private_key(ec.SECP521R1()),
        ed=ed25519.Ed25519PrivateKey.generate(),
    )
