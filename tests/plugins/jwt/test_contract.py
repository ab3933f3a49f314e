"""The JWT provider passes the provider contract (authplug.testing.ProviderContract).

Tested through the provider's public behaviour only (bearer requests through
both hosts), so the contract survives the JOSE machinery moving into the core.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

import pytest

from authplug.testing import HostClient, ProviderContract

ISSUER = "https://issuer.example/"
AUDIENCE = "https://api.example"
SECRET = secrets.token_urlsafe(48)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256(claims: Mapping[str, Any]) -> str:
    """A compact HS256 JWS signed with SECRET (self-contained: no shared helpers)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(dict(claims)).encode())}"
    mac = hmac.new(SECRET.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


class TestJwtContract(ProviderContract):
    """A stateless bearer provider: no login flow, no cookie, no refresh."""

    entry_point = "jwt"
    accepts_bearer = True
    secret_settings = ("hmac_secret",)

    @pytest.fixture
    def provider_settings(self) -> Mapping[str, Any]:
        return {
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "algorithms": ["HS256"],
            "hmac_secret": SECRET,
        }

    @pytest.fixture
    def invalid_settings(self) -> list[Mapping[str, Any]]:
        base = {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": ["HS256"]}
        return [
            {**base, "hmac_secret": "short-" + secrets.token_hex(3)},  # under 32 bytes
            {**base, "hmac_secret": SECRET, "algorithms": ["HS256", "RS256"]},
            {**base, "hmac_secret": SECRET, "leeway": 100000},
            {"audience": AUDIENCE, "algorithms": ["HS256"], "hmac_secret": SECRET},
        ]

    def sign_in(self, client: HostClient) -> Mapping[str, str]:
        now = int(time.time())
        token = hs256(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "user-" + secrets.token_hex(4),
                "iat": now,
                "exp": now + 300,
            }
        )
        return {"authorization": f"Bearer {token}"}
