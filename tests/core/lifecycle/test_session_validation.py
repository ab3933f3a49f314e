"""Validation throttling, refresh (single-flight) and forced re-authentication."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"


async def test_validate_runs_only_after_the_interval(
    client: httpx.AsyncClient, provider: Any, clock: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    clock.advance(299)
    assert (await client.get("/")).status_code == 200
    assert provider.validate_calls == 0
    clock.advance(1)  # validate_interval (300 s) reached
    response = await client.get("/")
    assert response.status_code == 200
    assert provider.validate_calls == 1
    assert f"{SESSION}.0" in kit.cookie_pairs(kit.set_cookie_headers(response.headers))
    # The re-sealed cookie records the validation: no new call until the next interval.
    clock.advance(299)
    assert (await client.get("/")).status_code == 200
    assert provider.validate_calls == 1
    clock.advance(1)
    assert (await client.get("/")).status_code == 200
    assert provider.validate_calls == 2


async def test_updated_user_is_resealed_and_saved(
    client: httpx.AsyncClient, provider: Any, clock: Any, store: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice", roles="pika:reader")
    provider.validate_behaviour = "update"
    clock.advance(300)
    response = await client.get("/")
    assert response.json()["roles"] == ["pika:reader", "pika:updated"]
    assert [u.roles for u in store.updates] == [("pika:reader", "pika:updated")]
    provider.validate_behaviour = "ok"
    again = await client.get("/")
    assert again.json()["roles"] == ["pika:reader", "pika:updated"]


async def test_force_reauthenticate_clears_the_session(
    client: httpx.AsyncClient, provider: Any, clock: Any, store: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    provider.validate_behaviour = "force"
    clock.advance(300)
    response = await client.get("/page")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/auth/test/login")
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))
    assert client.cookies.get(f"{SESSION}.0") is None
    assert store.updates == []


async def test_force_reauthenticate_gives_api_clients_401(
    client: httpx.AsyncClient, provider: Any, clock: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    provider.validate_behaviour = "force"
    clock.advance(300)
    response = await client.get("/api", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))


async def test_expiring_tokens_are_refreshed_instead_of_validated(
    client: httpx.AsyncClient, provider: Any, clock: Any, store: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    old_token = provider.access_token
    clock.advance(3600 - 30)  # within refresh_margin (60 s) of expires_at
    response = await client.get("/")
    assert response.status_code == 200
    assert provider.refresh_calls == 1
    assert provider.validate_calls == 0
    assert provider.access_token != old_token
    assert len(store.updates) == 1
    # The new cookie carries the new expiry: no second refresh.
    assert (await client.get("/")).status_code == 200
    assert provider.refresh_calls == 1


async def test_failed_refresh_clears_the_session(
    client: httpx.AsyncClient, provider: Any, clock: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    provider.refresh_behaviour = "force"
    clock.advance(3600)
    response = await client.get("/x", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))


async def test_fifty_concurrent_requests_cause_exactly_one_refresh(
    client: httpx.AsyncClient,
    middleware: Any,
    provider: Any,
    clock: Any,
    store: Any,
    kit: ModuleType,
) -> None:
    await kit.login(client, "alice")
    cookie_header = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    provider.refresh_delay = 0.01
    clock.advance(3600)
    transport = httpx.ASGITransport(app=middleware)

    async def one() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
            return await c.get("/", headers={"cookie": cookie_header})

    responses = await asyncio.gather(*(one() for _ in range(50)))
    assert [r.status_code for r in responses] == [200] * 50
    assert provider.refresh_calls == 1
    assert len(store.updates) == 1
    values = {
        kit.cookie_pairs(kit.set_cookie_headers(r.headers)).get(f"{SESSION}.0") is not None
        for r in responses
    }
    assert values == {True}  # every waiter got the refreshed session written back


async def test_reseal_with_rotated_key(
    provider: Any, keys: list[str], clock: Any, kit: ModuleType, app_factory: Any
) -> None:
    from authplug.asgi import AuthMiddleware

    old_host = kit.make_host(provider, kit.make_config(keys), kit.SpyStore())
    old_app = AuthMiddleware(app_factory(), host=old_host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=old_app), base_url="http://app.example"
    ) as c:
        await kit.login(c, "alice")
        cookies = dict(c.cookies)
    rotated = kit.make_host(provider, kit.make_config([kit.make_key(), *keys]), kit.SpyStore())
    app = AuthMiddleware(app_factory(), host=rotated, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example", cookies=cookies
    ) as c:
        response = await c.get("/")
        assert response.status_code == 200
        new_value = kit.cookie_pairs(kit.set_cookie_headers(response.headers))[f"{SESSION}.0"]
        assert new_value != cookies[f"{SESSION}.0"]
