"""The mock provider passes the provider contract (authplug.testing.ProviderContract)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from authplug.models import AnyUser
from authplug.testing import HostClient, ProviderContract

USERS = [
    {"user_id": "ada", "first_name": "Ada", "user_type": "internal-user", "roles": ["admin"]},
    {"user_id": "bob", "user_type": "external-user"},
]


class TestMockContract(ProviderContract):
    """The development provider: a login page, refreshable tokens, config-driven validation."""

    entry_point = "mock"
    uses_redirect_flow = True
    supports_refresh = True

    @pytest.fixture
    def provider_settings(self) -> Mapping[str, Any]:
        return {"users": USERS, "token_lifetime": 300}

    @pytest.fixture
    def invalid_settings(self) -> list[Mapping[str, Any]]:
        return [
            {"users": []},
            {"users": [USERS[0], USERS[0]]},
            {"users": USERS, "token_lifetime": -1},
            {"users": USERS, "token_lifetime": 600, "refresh_token_lifetime": 60},
        ]

    def sign_in(self, client: HostClient) -> Mapping[str, str]:
        start = client.get("/contract/protected", headers={"accept": "text/html"})
        assert start.status_code in {302, 303}
        response = client.get(start.headers["location"], params={"user": "ada"})
        assert response.status_code in {302, 303}, response.text[:300]
        return {}

    def expire(self, user: AnyUser) -> AnyUser | None:
        # a user removed from the configuration: validation must end the session
        return user.model_copy(update={"user_id": "removed-from-config"})
