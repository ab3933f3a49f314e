"""Fixtures for the shared JOSE machinery's own tests: keys made at test time
and the raw minter of ``tests/jose_tokens.py`` (no provider involved)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


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
def jose_keys() -> object:
    return _jose_tokens().make_keys()


@pytest.fixture
def jose(jose_keys: object) -> JoseKit:
    """Keys made at test time and the raw token minter."""
    return JoseKit(_jose_tokens(), jose_keys)
