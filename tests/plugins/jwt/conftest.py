"""Fixtures for the JWT provider tests: keys made at test time, a raw token
minter (so tests control every header and payload byte) and a loopback JWKS
server that records every request it receives."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest

from authplug.request import AuthRequest
from authplug_jwt import JwtProvider, JwtSettings

ISSUER = "https://issuer.example/"
AUDIENCE = "https://api.example"


@pytest.fixture(scope="session")
def keys(jose_tokens: ModuleType) -> Any:
    return jose_tokens.make_keys()


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
    claims = staticmethod(claims)
    settings = staticmethod(settings)
    request = staticmethod(request_with)

    def __init__(self, jose_tokens: ModuleType, keys: Any) -> None:
        """``jose_tokens``: ``tests/jose_tokens.py`` (the raw minter); ``keys``: its ``Keys``."""
        self.keys = keys
        self.b64 = jose_tokens.b64
        self.mint = jose_tokens.mint
        self.public_jwk = jose_tokens.public_jwk
        self.rsa_signer = jose_tokens.rsa_signer
        self.pss_signer = jose_tokens.pss_signer
        self.ec_signer = jose_tokens.ec_signer
        self.hmac_signer = jose_tokens.hmac_signer
        self.ed_signer = jose_tokens.ed_signer

    def rs256(self, header: dict[str, Any] | None = None, **claim_overrides: Any) -> str:
        """An RS256 token with kid ``k1`` signed by ``keys.rsa``."""
        head = {"alg": "RS256", "typ": "JWT", "kid": "k1", **(header or {})}
        return self.mint(head, claims(**claim_overrides), self.rsa_signer(self.keys.rsa))

    def rsa_provider(self, **overrides: Any) -> JwtProvider:
        """RS256 with an inline JWKS holding ``keys.rsa`` under kid ``k1``."""
        values: dict[str, Any] = {"jwks": {"keys": [self.public_jwk(self.keys.rsa, kid="k1")]}}
        values.update(overrides)
        return JwtProvider(settings(**values))


@pytest.fixture
def kit(jose_tokens: ModuleType, keys: Any) -> Kit:
    return Kit(jose_tokens, keys)


@pytest.fixture
def rsa_provider(kit: Kit) -> JwtProvider:
    """RS256 with an inline JWKS holding the RSA key under kid ``k1``."""
    return kit.rsa_provider()
