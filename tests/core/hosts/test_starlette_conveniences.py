"""``authplug.starlette``: the ``current_user`` dependency and ``requires(...)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.models import AuthenticatedUser
from authplug.starlette import current_user, requires

pytestmark = pytest.mark.anyio


def make_fastapi() -> FastAPI:
    app = FastAPI()

    @app.get("/login")
    def public(user: AuthenticatedUser = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"user": user.user_id}

    @app.get("/me")
    def me(user: AuthenticatedUser = Depends(current_user)) -> dict[str, str]:  # noqa: B008
        return {"user": user.user_id}

    @app.get("/admin", dependencies=[Depends(requires("pika:content-admin"))])
    def admin() -> dict[str, bool]:
        return {"admin": True}

    staff_only = requires("pika:a", "pika:b", mode="all", user_types=["internal-user"])

    @app.get("/staff")
    def staff(user: AuthenticatedUser = Depends(staff_only)) -> dict[str, str]:  # noqa: B008
        return {"user": user.user_id}

    return app


@pytest.fixture
async def client(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> AsyncIterator[httpx.AsyncClient]:
    host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), store)
    app = AuthMiddleware(make_fastapi(), host=host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example"
    ) as c:
        yield c


async def test_current_user_dependency(client: httpx.AsyncClient, kit: ModuleType) -> None:
    assert (await client.get("/login")).status_code == 401  # public path: no user attached
    await kit.login(client, "alice")
    assert (await client.get("/me")).json() == {"user": "alice"}


async def test_requires_any_role(client: httpx.AsyncClient, kit: ModuleType) -> None:
    await kit.login(client, "alice", roles="pika:reader")
    assert (await client.get("/admin")).status_code == 403
    await kit.login(client, "root", roles="pika:content-admin")
    assert (await client.get("/admin")).json() == {"admin": True}


async def test_requires_all_roles(client: httpx.AsyncClient, kit: ModuleType) -> None:
    await kit.login(client, "half", roles="pika:a")
    assert (await client.get("/staff")).status_code == 403
    await kit.login(client, "full", roles="pika:a,pika:b")
    assert (await client.get("/staff")).json() == {"user": "full"}


async def test_protect_decorates_starlette_endpoints(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    @requires("pika:content-admin").protect
    async def admin(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), store)
    app = AuthMiddleware(Starlette(routes=[Route("/admin", admin)]), host=host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example"
    ) as c:
        await kit.login(c, "alice", roles="pika:reader")
        assert (await c.get("/admin")).status_code == 403
        await kit.login(c, "root", roles="pika:content-admin")
        assert (await c.get("/admin")).text == "ok"


def test_requires_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError):
        requires("a", user_types="internal-user")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        requires("a", mode="some")  # type: ignore[arg-type]
