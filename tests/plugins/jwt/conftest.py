"""Fixtures for the JWT provider tests: keys made at test time, a raw token
minter (so tests control every header and payload byte) and a loopback JWKS
server that records every request it receives."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from authplug.request import AuthRequest
from authplug_jwt import JwtProvider, JwtSettings

ISSUER = "https://issuer.example/"
AUDIENCE = "https://api.example"


def _jose_tokens() -> ModuleType:
    """``tests/jose_tokens.py``, imported once by path (test folders are not packages)."""
    name = "authplug_tests_jose_tokens"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).parents[2] / "jose_tokens.py"
        )
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


jose_tokens = _jose_tokens()
Keys = jose_tokens.Keys
b64 = jose_tokens.b64
mint = jose_tokens.mint
public_jwk = jose_tokens.public_jwk
rsa_signer = jose_tokens.rsa_signer
pss_signer = jose_tokens.pss_signer
ec_signer = jose_tokens.ec_signer
hmac_signer = jose_tokens.hmac_signer
ed_signer = jose_tokens.ed_signer


@pytest.fixture(scope="session")
def keys() -> Keys:
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
