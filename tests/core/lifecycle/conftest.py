"""Fixtures for the lifecycle tests: the in-test provider, a Starlette app behind the middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from authplug.asgi import AuthMiddleware
from authplug.host import Host


@pytest.fixture
def provider(clock: Any, kit: ModuleType) -> Any:
    return kit.TestProvider(clock)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change the config."""
    return {}


@pytest.fixture
def host(
    provider: Any,
    keys: list[str],
    store: Any,
    events: Any,
    config_overrides: dict[str, Any],
    kit: ModuleType,
) -> Host:
    return kit.make_host(provider, kit.make_config(keys, **config_overrides), store, events)


async def _whoami(request: Request) -> JSONResponse:
    user = request.state.user
    scope_user = request.scope["authplug.user"]
    assert scope_user is user
    return JSONResponse({"user": user.user_id, "roles": list(user.roles)})


async def _public(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"public user={request.scope.get('authplug.user')}")


async def _ws(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.scope["authplug.user"].user_id)
    await websocket.close()


def make_app() -> Starlette:
    """The protected application: every path answers with the user it sees."""
    return Starlette(
        routes=[
            Route("/login", _public),
            Route("/static/{rest:path}", _public),
            WebSocketRoute("/ws", _ws),
            Route("/{rest:path}", _whoami, methods=["GET", "POST"]),
        ]
    )


@pytest.fixture
def app_factory() -> Any:
    """Build a fresh protected Starlette app."""
    return make_app


@pytest.fixture
def middleware(host: Host, clock: Any) -> AuthMiddleware:
    return AuthMiddleware(make_app(), host=host, clock=clock)


@pytest.fixture
async def client(middleware: AuthMiddleware) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        yield c
