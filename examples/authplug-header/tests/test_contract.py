"""authplug-header passes authplug's provider contract, through both hosts."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import pytest

from authplug.testing import HostClient, ProviderContract

SECRET = secrets.token_urlsafe(24)


class TestHeaderContract(ProviderContract):
    """A stateless provider: the proxy asserts identity on every request."""

    entry_point = "header"
    secret_settings = ("shared_secret",)

    @pytest.fixture
    def provider_settings(self) -> Mapping[str, Any]:
        return {
            "trusted_proxies": ["127.0.0.1/32", "::1/128"],
            "shared_secret_header": "X-Proxy-Secret",
            "shared_secret": SECRET,
            "internal_email_domains": ["example.com"],
        }

    @pytest.fixture
    def invalid_settings(self) -> list[Mapping[str, Any]]:
        return [
            {"trusted_proxies": []},
            {"trusted_proxies": ["0.0.0.0/0"]},
            {"trusted_proxies": ["not-a-network"]},
            {"trusted_proxies": ["10.0.0.0/8"], "shared_secret": SECRET},  # no header named
            {"trusted_proxies": ["10.0.0.0/8"], "user_header": "Bad Header: x"},
        ]

    def sign_in(self, client: HostClient) -> Mapping[str, str]:
        return {
            "x-forwarded-user": "ada",
            "x-forwarded-email": "ada@example.com",
            "x-forwarded-groups": "staff,admins",
            "x-proxy-secret": SECRET,
        }
