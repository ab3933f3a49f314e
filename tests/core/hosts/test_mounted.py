"""Applications mounted under a prefix: ASGI ``root_path`` and WSGI ``SCRIPT_NAME``.

Paths are matched inside the application; every URL sent to the browser
(the provider's ``/auth/...`` login, ``return_to``, the logout form, the
default page) keeps the ``/app`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from authplug.asgi import AuthMiddleware as AsgiAuth
from authplug.responses import app_location, mount_prefix
from authplug.wsgi import AuthMiddleware as WsgiAuth

BASE = "http://app.example"


@pytest.fixture
def provider(clock: Any, kit: ModuleType) -> Any:
    return kit.TestProvider(clock)


@pytest.fixture
def host(provider: Any, keys: list[str], store: Any, events: Any, kit: ModuleType) -> Any:
    return kit.make_host(provider, kit.make_config(keys), store, events)


async def _whoami(request: Request) -> JSONResponse:
    user = request.state.user
    return JSONResponse({"user": user.user_id, "path": request.url.path})


async def _public(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"public user={request.scope.get('authplug.user')}")


def _inner_starlette() -> Starlette:
    return Starlette(
        routes=[Route("/login", _public), Route("/{rest:path}", _whoami, methods=["GET", "POST"])]
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def asgi_client(host: Any, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    outer = Starlette(
        routes=[Mount("/app", app=AsgiAuth(_inner_starlette(), host=host, clock=clock))]
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url=BASE) as c:
        yield c


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


# -- ASGI --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_starlette_mount_keeps_the_prefix_through_login(
    asgi_client: httpx.AsyncClient, store: Any
) -> None:
    start = await asgi_client.get("/app/reports", params={"q": "1"})
    assert start.status_code == 302
    location = start.headers["location"]
    assert location.startswith("/app/auth/test/login?state=")
    done = await asgi_client.get(location + "&user=alice")
    assert done.status_code == 302
    assert done.headers["location"] == "/app/reports?q=1"
    page = await asgi_client.get("/app/reports")
    assert page.status_code == 200
    assert page.json() == {"user": "alice", "path": "/app/reports"}
    assert [u.user_id for u in store.logins] == ["alice"]


@pytest.mark.anyio
async def test_starlette_mount_public_and_default_redirect(
    asgi_client: httpx.AsyncClient, provider: Any
) -> None:
    public = await asgi_client.get("/app/login")
    assert public.text == "public user=None"
    done = await asgi_client.get("/app/auth/test/login", params={"user": "alice"})
    assert done.status_code == 302
    assert done.headers["location"] == "/app/"
    assert provider.authenticate_calls == 0


@pytest.mark.anyio
async def test_starlette_mount_route_redirect_to_is_application_relative(
    asgi_client: httpx.AsyncClient,
) -> None:
    done = await asgi_client.get(
        "/app/auth/test/login", params={"user": "alice", "next": "/settings"}
    )
    assert done.headers["location"] == "/app/settings"
    evil = await asgi_client.get(
        "/app/auth/test/login", params={"user": "alice", "next": "//evil.example"}
    )
    assert evil.headers["location"] == "/app/"


@pytest.mark.anyio
async def test_starlette_mount_logout_form_and_redirect(asgi_client: httpx.AsyncClient) -> None:
    await asgi_client.get("/app/auth/test/login", params={"user": "alice"})
    form = await asgi_client.get("/app/auth/logout")
    assert '<form method="post" action="/app/auth/logout">' in form.text
    done = await asgi_client.post("/app/auth/logout", data={"csrf_token": _token(form.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/app/"
    signed_out = await asgi_client.get("/app/auth/logout")
    assert 'href="/app/"' in signed_out.text


@pytest.mark.anyio
async def test_api_client_under_a_mount_gets_401(asgi_client: httpx.AsyncClient) -> None:
    response = await asgi_client.get("/app/api", headers={"accept": "application/json"})
    assert response.status_code == 401


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("root_path", "full_path", "expected"),
    [
        ("/app", True, "/app/auth/test/login?state="),  # modern servers: path includes it
        ("/app", False, "/app/auth/test/login?state="),  # older servers: path excludes it
        ("//evil.example", False, "/auth/test/login?state="),  # a hostile prefix is ignored
        ("/app\r\nx", False, "/auth/test/login?state="),
    ],
)
async def test_root_path_from_the_server(
    host: Any, clock: Any, root_path: str, full_path: bool, expected: str
) -> None:
    middleware = AsgiAuth(_inner_starlette(), host=host, clock=clock)

    async def server(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = root_path + scope["path"] if full_path else scope["path"]
            scope = {**scope, "root_path": root_path, "path": path}
        await middleware(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url=BASE) as c:
        response = await c.get("/reports")
        assert response.status_code == 302
        assert response.headers["location"].startswith(expected)


def test_mount_prefix_and_app_location() -> None:
    assert mount_prefix("") == ""
    assert mount_prefix("/") == ""
    assert mount_prefix("/app/") == "/app"
    assert mount_prefix("/a b/") == "/a b"
    for hostile in ("//evil.example", "/\\evil", "/app\nLocation: x", "https://evil", "app"):
        assert mount_prefix(hostile) == ""
    assert app_location("/app", "/auth/x?y=1") == "/app/auth/x?y=1"
    assert app_location("/app", "https://idp.example/logout") == "https://idp.example/logout"
    assert app_location("", "/auth/x") == "/auth/x"


# -- WSGI --------------------------------------------------------------------------------


def _flask(host: Any, clock: Any) -> tuple[Any, WsgiAuth]:
    app = Flask("authplug_mounted_app")

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST"])
    @app.route("/<path:rest>", methods=["GET", "POST"])
    def whoami(rest: str) -> Any:
        return jsonify(user=request.environ["authplug.user"].user_id, url=request.path)

    middleware = WsgiAuth(app.wsgi_app, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]

    def root(environ: Any, start_response: Any) -> Any:
        start_response("404 Not Found", [("content-type", "text/plain")])
        return [b"outside the mount"]

    return DispatcherMiddleware(root, {"/app": app}), middleware


@pytest.fixture
def wsgi_client(host: Any, clock: Any) -> Iterator[httpx.Client]:
    app, middleware = _flask(host, clock)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE) as c:
        yield c
    middleware.close()


def test_wsgi_script_name_keeps_the_prefix_through_login(wsgi_client: httpx.Client) -> None:
    start = wsgi_client.get("/app/reports", params={"q": "1"})
    assert start.status_code == 302
    location = start.headers["location"]
    assert location.startswith("/app/auth/test/login?state=")
    done = wsgi_client.get(location + "&user=alice")
    assert done.status_code == 302
    assert done.headers["location"] == "/app/reports?q=1"
    page = wsgi_client.get("/app/reports")
    assert page.json() == {"user": "alice", "url": "/reports"}


def test_wsgi_script_name_logout(wsgi_client: httpx.Client) -> None:
    wsgi_client.get("/app/auth/test/login", params={"user": "alice"})
    form = wsgi_client.get("/app/auth/logout")
    assert '<form method="post" action="/app/auth/logout">' in form.text
    done = wsgi_client.post("/app/auth/logout", data={"csrf_token": _token(form.text)})
    assert done.status_code == 303
    assert done.headers["location"] == "/app/"
    after = wsgi_client.get("/app/reports", headers={"accept": "application/json"})
    assert after.status_code == 401
