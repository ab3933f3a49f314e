"""Fixtures for the JWT provider tests: keys made at test time, a raw token
minter (so tests control every header and payload byte) and a loopback JWKS
server that records every request it receives."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from authplug.request import AuthRequest
from authplug_jwt import JwtProvider, JwtSettings

ISSUER = "https://issuer.example/"
AUDIENCE = "https://api.example"


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


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=rsa.generate_private_key(65537, 2048),
        rsa_other=rsa.generate_private_key(65537, 2048),
        rsa_weak=rsa.generate_private_key(65537, 1024),  # noqa: S505 - the weak key under test
        p256=ec.generate_private_key(ec.SECP256R1()),
        p384=ec.generate_private_key(ec.SECP384R1()),
        p521=ec.generate_private_key(ec.SECP521R1()),
        ed=ed25519.Ed25519PrivateKey.generate(),
    )


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims for ISSUER/AUDIENCE, issued now, valid 5 minutes."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now,
        "exp": now + 300,
        "given_name": "Ada",
        "family_name": "Lovelace",
        "roles": ["reader"],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()
DROP: Any = _DROP
"""Pass as a claim value to leave the claim out."""


def request_with(token: str | None = None, **headers: str) -> AuthRequest:
    pairs = [
        (k.replace("_", "-").lower().encode(), v.encode("latin-1")) for k, v in headers.items()
    ]
    if token is not None:
        pairs.append((b"authorization", f"Bearer {token}".encode("latin-1")))
    return AuthRequest(method="GET", path="/api", headers=pairs)


def settings(**overrides: Any) -> JwtSettings:
    values: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["RS256"]}
    values.update(overrides)
    return JwtSettings.model_validate(values)


class Kit:
    """Everything a test needs to build tokens, settings and requests (one fixture)."""

    ISSUER = ISSUER
    AUDIENCE = AUDIENCE
    DROP = DROP
    b64 = staticmethod(b64)
    mint = staticmethod(mint)
    claims = staticmethod(claims)
    settings = staticmethod(settings)
    request = staticmethod(request_with)
    public_jwk = staticmethod(public_jwk)
    rsa_signer = staticmethod(rsa_signer)
    pss_signer = staticmethod(pss_signer)
    ec_signer = staticmethod(ec_signer)
    hmac_signer = staticmethod(hmac_signer)
    ed_signer = staticmethod(ed_signer)

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def rs256(self, header: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
        """An RS256 token with kid ``k1`` signed by ``keys.rsa``."""
        head = {"alg": "RS256", "typ": "JWT", "kid": "k1", **(header or {})}
        return mint(head, claims(**claim_overrides), rsa_signer(self.keys.rsa))

    def rsa_provider(self, **overrides: Any) -> JwtProvider:
        """RS256 with an inline JWKS holding ``keys.rsa`` under kid ``k1``."""
        values: dict[str, Any] = {"jwks": {"keys": [public_jwk(self.keys.rsa, kid="k1")]}}
        values.update(overrides)
        return JwtProvider(settings(**values))


@pytest.fixture
def kit(keys: Keys) -> Kit:
    return Kit(keys)


@pytest.fixture
def rsa_provider(keys: Keys) -> JwtProvider:
    """RS256 with an inline JWKS holding the RSA key under kid ``k1``."""
    return JwtProvider(settings(jwks={"keys": [public_jwk(keys.rsa, kid="k1")]}))
