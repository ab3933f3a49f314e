"""API clients (401 JSON, RFC 6750), stateless bearer providers and access rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug.asgi import AuthMiddleware

pytestmark = pytest.mark.anyio


async def test_api_client_gets_401_json_not_a_redirect(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    for headers in ({"accept": "application/json"}, {"x-requested-with": "XMLHttpRequest"}):
        response = await client.get("/api/items", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "not_authenticated"
        assert "location" not in response.headers
        assert "www-authenticate" not in response.headers
        # No return_to is recorded for API clients: nothing but the provider's flow record.
        assert "authplug_session.0" not in kit.cookie_pairs(
            kit.set_cookie_headers(response.headers)
        )


async def test_bearer_request_401_has_www_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/items", headers={"authorization": "Bearer abc.def"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "abc.def" not in response.text


@pytest.fixture
async def bearer_client(
    keys: list[str], store: Any, kit: ModuleType, app_factory: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    provider = kit.BearerProvider()
    host = kit.make_host(provider, kit.make_config(keys), store)
    app = AuthMiddleware(app_factory(), host=host)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.example"
    ) as c:
        yield c, provider


async def test_stateless_provider_authenticates_each_request_without_cookies(
    bearer_client: tuple[httpx.AsyncClient, Any], store: Any
) -> None:
    client, provider = bearer_client
    for _ in range(2):
        response = await client.get("/me", headers={"authorization": "Bearer good-zed"})
        assert response.status_code == 200
        assert response.json()["user"] == "zed"
        assert "set-cookie" not in response.headers
    assert provider.calls == 2
    assert store.logins == []
    assert store.updates == []


async def test_invalid_bearer_token_gets_rfc6750_error_without_echo(
    bearer_client: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _ = bearer_client
    token = "bad-SECRETTOKENVALUE"
    response = await client.get("/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"] == "not_authenticated"
    assert token not in response.text
    assert token not in str(response.headers)


async def test_missing_bearer_token_on_stateless_provider(
    bearer_client: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _ = bearer_client
    response = await client.get("/me", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "access": [
            {"path": "/admin", "roles": ["pika:content-admin"]},
            {"path": "/staff", "user_types": ["internal-user"]},
        ]
    }


async def test_access_rule_denies_with_403_html_and_json(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    await kit.login(client, "alice", roles="pika:reader")
    page = await client.get("/admin/users")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    api = await client.get("/admin/users", headers={"accept": "application/json"})
    assert api.status_code == 403
    assert api.json()["error"] == "forbidden"
    assert (await client.get("/staff")).status_code == 200
    assert (await client.get("/elsewhere")).status_code == 200
    assert (await client.get("http://app.example//admin/users")).status_code == 400


async def test_access_rule_allows_the_role(client: httpx.AsyncClient, kit: ModuleType) -> None:
    await kit.login(client, "root", roles="pika:content-admin")
    response = await client.get("/admin/users")
    assert response.status_code == 200
    assert response.json()["user"] == "root"


async def test_access_rule_cannot_be_dodged_with_dot_segments(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    await kit.login(client, "alice", roles="pika:reader")
    response = await client.get("http://app.example/public/../admin/users")
    assert response.status_code in (400, 403)  # 400 when the client sends the dots as they are
