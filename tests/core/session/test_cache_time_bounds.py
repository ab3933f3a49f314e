"""Every time bound and revocation hold on an opened-session cache hit, through the ASGI host.

The opened-session cache skips decrypting a cookie this process has opened
before. Each test below first makes the cookie's exact value a cache entry
(the decrypt count stops growing), then moves the clock or revokes the
session, and replays that same value: the request must be refused as if the
cookie had been opened afresh, and the decrypt count proves the answer came
from the cache.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware

pytestmark = pytest.mark.anyio

IDLE = 100
ABSOLUTE = 250


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.state.user.user_id})


@pytest.fixture
def counting(
    keys: list[str], store: Any, clock: Any, kit: ModuleType, counting_manager: Any
) -> tuple[AuthMiddleware, Any]:
    config = kit.make_config(
        keys, idle_timeout=IDLE, absolute_lifetime=ABSOLUTE, validate_interval=100_000
    )
    provider = kit.TestProvider(clock)
    provider.token_lifetime = 10 * ABSOLUTE  # no refresh inside the test
    host = kit.make_host(provider, config, store)
    sessions, cipher = counting_manager(config)
    host = dataclasses.replace(host, sessions=sessions)
    app = Starlette(routes=[Route("/{rest:path}", _whoami, methods=["GET"])])
    return AuthMiddleware(app, host=host, clock=clock), cipher


@pytest.fixture
async def client(counting: tuple[AuthMiddleware, Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=counting[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        yield c


def _session_header(client: httpx.AsyncClient) -> dict[str, str]:
    """The jar's session chunks as a fixed ``Cookie`` header (the exact value to replay)."""
    pairs = [f"{k}={v}" for k, v in client.cookies.items() if k.startswith("authplug_session.")]
    assert pairs
    return {"cookie": "; ".join(pairs)}


async def _cache(client: httpx.AsyncClient, cookie: dict[str, str], cipher: Any) -> None:
    """Open ``cookie`` once and check the next request is a cache hit."""
    assert (await client.get("/x", headers=cookie)).status_code == 200
    before = cipher.decrypts
    assert (await client.get("/x", headers=cookie)).status_code == 200
    assert cipher.decrypts == before


async def test_idle_lifetime_holds_on_a_cache_hit(
    client: httpx.AsyncClient, counting: tuple[AuthMiddleware, Any], clock: Any, kit: ModuleType
) -> None:
    _, cipher = counting
    await kit.login(client, "alice")
    cookie = _session_header(client)
    await _cache(client, cookie, cipher)
    before = cipher.decrypts
    clock.advance(IDLE + 1)
    response = await client.get("/x", headers=cookie)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/auth/test/login")
    assert cipher.decrypts == before  # the value came from the cache, and was refused


async def test_absolute_lifetime_holds_on_a_cache_hit(
    client: httpx.AsyncClient, counting: tuple[AuthMiddleware, Any], clock: Any, kit: ModuleType
) -> None:
    _, cipher = counting
    await kit.login(client, "alice")
    # Stay active (each touch re-seals the cookie with a new last_seen) until
    # the idle bound is far away and only the absolute one can end the session.
    while clock.now - kit.NOW < ABSOLUTE - IDLE // 2:
        clock.advance(IDLE // 2)
        assert (await client.get("/x")).status_code == 200
    cookie = _session_header(client)
    await _cache(client, cookie, cipher)
    before = cipher.decrypts
    clock.now = kit.NOW + ABSOLUTE + 1
    response = await client.get("/x", headers=cookie)
    assert response.status_code == 302
    assert cipher.decrypts == before


async def test_revocation_holds_on_a_cache_hit(
    client: httpx.AsyncClient, counting: tuple[AuthMiddleware, Any], kit: ModuleType
) -> None:
    _, cipher = counting
    await kit.login(client, "alice")
    cookie = _session_header(client)
    await _cache(client, cookie, cipher)
    page = await client.get("/auth/logout", headers=cookie)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    out = await client.post("/auth/logout", headers=cookie, data={"csrf_token": token.group(1)})
    assert out.status_code in (302, 303)
    before = cipher.decrypts
    replay = await client.get("/x", headers=cookie)
    assert replay.status_code == 302
    assert replay.headers["location"].startswith("/auth/test/login")
    assert cipher.decrypts == before


async def test_a_cache_hit_within_every_bound_is_served(
    client: httpx.AsyncClient, counting: tuple[AuthMiddleware, Any], clock: Any, kit: ModuleType
) -> None:
    _, cipher = counting
    await kit.login(client, "alice")
    cookie = _session_header(client)
    await _cache(client, cookie, cipher)
    clock.advance(IDLE - 1)
    response = await client.get("/x", headers=cookie)
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}
