"""The synchronous fast path of stateless providers (issue #16, item 1).

A third-party stateless provider written from the guide opts in by
overriding ``AuthProvider.authenticate_fast`` (or with a bare
``authplug_authenticate_fast`` hookimpl). The host calls it before building
an ``AuthRequest`` or a coroutine; ``None`` sends the request down the full
path, which decides and answers. Checked at start-up: synchronous, takes
exactly ``header``.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.errors import NotAuthenticatedError, PluginLoadError
from authplug.hookspecs import hookimpl
from authplug.host import Host, PluginInfo, build_host
from authplug.provider import AuthProvider, NoSettings
from authplug.request import AuthRequest, HeaderLookup
from authplug.results import Authenticated, AuthenticateResult

pytestmark = pytest.mark.anyio


class ProxyHeaders(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """Identity from a trusted proxy's header, with the fast path (as the guide shows)."""

    __test__ = False
    stateless = True
    challenge = 'Proxy realm="corp"'

    def __init__(self, kit: ModuleType) -> None:
        super().__init__(NoSettings())
        self.kit = kit
        self.fast_calls = 0
        self.full_calls = 0
        self.fast_answer: Any = "user"

    def authenticate_fast(self, header: HeaderLookup) -> Any:
        self.fast_calls += 1
        if self.fast_answer == "raise":
            raise RuntimeError("fast path bug")
        if self.fast_answer == "wrong-type":
            return {"user_id": "nope"}
        name = header("x-forwarded-user")
        if not name or name.startswith("slow-"):
            return None  # let authenticate decide
        return self.kit.User(user_id=name, user_type="internal-user", roles=("staff",))

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        self.full_calls += 1
        name = request.header("x-forwarded-user")
        if not name:
            raise NotAuthenticatedError("no identity header", code="missing_identity")
        return Authenticated(user=self.kit.User(user_id=name, user_type="internal-user"))


def _apps(host: Host) -> tuple[Any, Any]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = scope["authplug.user"].user_id.encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ["authplug.user"].user_id.encode()]

    return asgi.AuthMiddleware(app, host=host), wsgi.AuthMiddleware(wsgi_app, host=host)


async def _get(kind: str, host: Host, headers: dict[str, str], path: str = "/x") -> Any:
    asgi_app, wsgi_app = _apps(host)
    try:
        if kind == "asgi":
            transport = httpx.ASGITransport(app=asgi_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                return await c.get(path, headers=headers)
        with httpx.Client(transport=httpx.WSGITransport(app=wsgi_app), base_url="http://a") as c:
            return c.get(path, headers=headers)
    finally:
        wsgi_app.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_the_fast_path_answers_without_the_full_path(
    kind: str, kit: ModuleType, keys: list[str]
) -> None:
    provider = ProxyHeaders(kit)
    host = build_host(provider, kit.make_config(keys))
    assert host.fast_authenticate is not None
    ok = await _get(kind, host, {"x-forwarded-user": "ada"})
    assert ok.status_code == 200
    assert ok.text == "ada"
    assert (provider.fast_calls, provider.full_calls) == (1, 0)
    slow = await _get(kind, host, {"x-forwarded-user": "slow-bob"})
    assert slow.text == "slow-bob"
    assert (provider.fast_calls, provider.full_calls) == (2, 1)
    missing = await _get(kind, host, {"accept": "application/json"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Proxy realm="corp"'
    assert provider.full_calls == 2


@pytest.mark.parametrize("answer", ["raise", "wrong-type"])
async def test_a_broken_fast_path_is_logged_and_the_full_path_decides(
    answer: str, kit: ModuleType, keys: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    provider = ProxyHeaders(kit)
    provider.fast_answer = answer
    host = build_host(provider, kit.make_config(keys))
    caplog.set_level(logging.ERROR, logger="authplug")
    response = await _get("asgi", host, {"x-forwarded-user": "ada"})
    assert response.status_code == 200
    assert provider.full_calls == 1
    expected = "Traceback" if answer == "raise" else "returned dict"
    assert any(
        "authplug_authenticate_fast" in r.getMessage() and expected in r.getMessage()
        for r in caplog.records
    )


async def test_access_rules_hold_on_the_fast_path(kit: ModuleType, keys: list[str]) -> None:
    provider = ProxyHeaders(kit)
    config = kit.make_config(keys, access=[{"path": "/admin", "roles": ["pika:content-admin"]}])
    host = build_host(provider, config)
    denied = await _get("asgi", host, {"x-forwarded-user": "ada"}, "/admin")
    assert denied.status_code == 403


async def test_extension_plugins_or_debug_take_the_full_path(
    kit: ModuleType, keys: list[str]
) -> None:
    class Roles:
        @hookimpl
        def authplug_extra_roles(self, user: Any) -> list[str]:
            return ["mapped"]

    provider = ProxyHeaders(kit)
    host = build_host(
        provider, kit.make_config(keys), extensions=[(Roles(), PluginInfo(name="roles"))]
    )
    assert (await _get("asgi", host, {"x-forwarded-user": "ada"})).status_code == 200
    assert (provider.fast_calls, provider.full_calls) == (0, 1)
    traced = ProxyHeaders(kit)
    debug_host = build_host(traced, kit.make_config(keys, debug=True))
    assert (await _get("asgi", debug_host, {"x-forwarded-user": "ada"})).status_code == 200
    assert (traced.fast_calls, traced.full_calls) == (0, 1)


def test_an_async_fast_path_fails_the_start_up(kit: ModuleType, keys: list[str]) -> None:
    class Bare:
        stateless = True

        @hookimpl
        def authplug_authenticate(self, request: AuthRequest) -> None:
            return None

        @hookimpl
        def authplug_validate(self, request: AuthRequest, user: Any) -> None:
            return None

        @hookimpl
        def authplug_refresh(self, user: Any) -> Any:
            return user

        @hookimpl
        async def authplug_authenticate_fast(self, header: HeaderLookup) -> None:
            return None

    with pytest.raises(PluginLoadError, match="must be synchronous"):
        build_host(Bare(), kit.make_config(keys))


def test_a_fast_path_without_the_header_argument_fails_the_start_up(
    kit: ModuleType, keys: list[str]
) -> None:
    class Bare:
        stateless = True

        @hookimpl
        def authplug_authenticate(self, request: AuthRequest) -> None:
            return None

        @hookimpl
        def authplug_validate(self, request: AuthRequest, user: Any) -> None:
            return None

        @hookimpl
        def authplug_refresh(self, user: Any) -> Any:
            return user

        @hookimpl
        def authplug_authenticate_fast(self) -> None:
            return None

    with pytest.raises(PluginLoadError, match="exactly 'header'"):
        build_host(Bare(), kit.make_config(keys))


def test_session_providers_are_never_asked(kit: ModuleType, keys: list[str]) -> None:
    host = build_host(kit.TestProvider(kit.Clock()), kit.make_config(keys))
    assert host.fast_authenticate is None
