"""The ASGI host in front of a Litestar application (the third framework the issue names)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, get

from authplug.asgi import AuthMiddleware

pytestmark = pytest.mark.anyio


@get("/me", sync_to_thread=False)
def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    user = request.scope["authplug.user"]  # type: ignore[typeddict-item]
    return {"user": user.user_id, "roles": list(user.roles)}


@get("/login", sync_to_thread=False)
def public(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"user": request.scope.get("authplug.user")}


@pytest.fixture
async def client(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> AsyncIterator[httpx.AsyncClient]:
    host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), store)
    app = AuthMiddleware(
        Litestar(route_handlers=[me, public], logging_config=None), host=host, clock=clock
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example"
    ) as c:
        yield c


async def test_litestar_sees_the_session_user(client: httpx.AsyncClient, kit: ModuleType) -> None:
    anonymous = await client.get("/me")
    assert anonymous.status_code == 302
    assert anonymous.headers["location"].startswith("/auth/test/login")
    api = await client.get("/me", headers={"accept": "application/json"})
    assert api.status_code == 401
    await kit.login(client, "alice", roles="pika:content-admin")
    response = await client.get("/me")
    assert response.status_code == 200
    assert response.json() == {"user": "alice", "roles": ["pika:content-admin"]}


async def test_litestar_public_path_passes_untouched(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert response.json() == {"user": None}
    assert "set-cookie" not in response.headers
