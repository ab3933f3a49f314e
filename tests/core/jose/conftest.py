"""Fixtures for the shared JOSE machinery's own tests: keys made at test time
and the raw minter of ``tests/jose_tokens.py`` (no provider involved)."""

from __future__ import annotations

from types import ModuleType

import pytest


class JoseKit:
    """Keys plus the raw minting helpers, as one fixture."""

    def __init__(self, module: ModuleType, keys: object) -> None:
        self.keys = keys
        self.b64 = module.b64
        self.mint = module.mint
        self.public_jwk = module.public_jwk
        self.rsa_signer = module.rsa_signer
        self.ec_signer = module.ec_signer
        self.hmac_signer = module.hmac_signer


@pytest.fixture(scope="session")
def jose_keys(jose_tokens: ModuleType) -> object:
    return jose_tokens.make_keys()


@pytest.fixture
def jose(jose_tokens: ModuleType, jose_keys: object) -> JoseKit:
    """Keys made at test time and the raw token minter."""
    return JoseKit(jose_tokens, jose_keys)
