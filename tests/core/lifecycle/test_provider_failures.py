"""A provider's bug is loud, and stateless is not bearer (issue #10, items 2 and 3).

* ``authenticate`` returning the wrong type or raising an unexpected
  exception is a 500 with a short correlation id; the traceback is logged at
  ERROR on the ``authplug`` logger, secrets redacted; never a 401, never a
  redirect to a login that would fail again. Through both hosts.
* ``validate``/``refresh`` raising unexpectedly ends the session (cookies
  cleared, back to login) and logs the traceback.
* A provider declares its ``WWW-Authenticate`` challenge in any scheme; an
  error's own ``www_authenticate`` wins; a challenge with control
  characters fails the start-up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.errors import NotAuthenticatedError, PluginLoadError
from authplug.host import Host, PluginInfo, build_host
from authplug.provider import AuthProvider, NoSettings
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ"


class Misbehaving(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """``authenticate`` does whatever ``mode`` says."""

    __test__ = False

    def __init__(self, kit: ModuleType) -> None:
        super().__init__(NoSettings())
        self.mode = "raise"
        self.kit = kit
        self.calls = 0

    def authenticate(self, request: AuthRequest) -> Any:
        self.calls += 1
        if self.mode == "raise":
            raise RuntimeError(f"lost my keys; token={SECRET}")
        if self.mode == "async-raise":
            return self._raise_later()
        if self.mode == "dict":
            return {"user_id": "alice"}
        if self.mode == "user":
            return self.kit.User(user_id="alice", user_type="internal-user")
        return None

    async def _raise_later(self) -> AuthenticateResult:
        raise KeyError(SECRET)


def _apps(host: Host) -> tuple[asgi.AuthMiddleware, wsgi.AuthMiddleware]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    return asgi.AuthMiddleware(app, host=host), wsgi.AuthMiddleware(wsgi_app, host=host)


@pytest.fixture
def misbehaving(kit: ModuleType, keys: list[str]) -> tuple[Misbehaving, Host]:
    provider = Misbehaving(kit)
    host = build_host(provider, kit.make_config(keys), provider_info=PluginInfo(name="bad"))
    return provider, host


async def _get(kind: str, host: Host, path: str, headers: dict[str, str]) -> httpx.Response:
    asgi_app, wsgi_app = _apps(host)
    try:
        if kind == "asgi":
            transport = httpx.ASGITransport(app=asgi_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://a.example") as c:
                return await c.get(path, headers=headers)
        with httpx.Client(
            transport=httpx.WSGITransport(app=wsgi_app), base_url="http://a.example"
        ) as c:
            return c.get(path, headers=headers)
    finally:
        wsgi_app.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("mode", ["raise", "async-raise", "dict", "user", "none"])
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
async def test_a_broken_authenticate_is_a_500_with_a_reference_and_a_logged_traceback(
    kind: str,
    mode: str,
    accept: str,
    misbehaving: tuple[Misbehaving, Host],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, host = misbehaving
    provider.mode = mode
    caplog.set_level(logging.ERROR, logger="authplug")
    response = await _get(kind, host, "/page", {"accept": accept})
    assert response.status_code == 500
    assert "location" not in response.headers  # no redirect to a login that fails again
    assert SECRET not in response.text
    assert "Traceback" not in response.text
    if accept == "application/json":
        body = response.json()
        assert body["error"] == "internal_error"
        reference = body["reference"]
    else:
        found = re.search(r"Reference: ([0-9a-f]{8})", response.text)
        assert found is not None, response.text
        reference = found.group(1)
    assert re.fullmatch(r"[0-9a-f]{8}", reference)
    records = [r for r in caplog.records if r.name == "authplug" and r.levelno == logging.ERROR]
    (record,) = [r for r in records if reference in r.getMessage()]
    message = record.getMessage()
    assert "authplug_authenticate" in message
    assert "Traceback (most recent call last)" in message
    assert SECRET not in message
    for other in caplog.records:
        assert SECRET not in other.getMessage()


async def test_a_bad_credential_is_still_a_401(kit: ModuleType, keys: list[str]) -> None:
    """Only unexpected failures are 500s: the provider's own rejection stays a 401."""
    host = build_host(kit.BearerProvider(), kit.make_config(keys))
    response = await _get("asgi", host, "/page", {"authorization": "Bearer nope"})
    assert response.status_code == 401


# -- validate / refresh -------------------------------------------------------------


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"validate_interval": 60}


@pytest.fixture
async def browser(middleware: asgi.AuthMiddleware) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        yield c


@pytest.mark.parametrize("hook", ["validate", "refresh"])
async def test_an_unexpected_error_in_validate_or_refresh_ends_the_session(
    hook: str,
    browser: httpx.AsyncClient,
    provider: Any,
    clock: Any,
    kit: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await kit.login(browser, "alice")
    assert (await browser.get("/page")).status_code == 200

    def broken(*args: Any) -> Any:
        raise ValueError(f"bug with password={SECRET}")

    if hook == "validate":
        provider.validate_user = broken
        clock.advance(61)
    else:
        provider.refresh = broken
        clock.advance(provider.token_lifetime)
    caplog.set_level(logging.ERROR, logger="authplug")
    response = await browser.get("/page")
    assert response.status_code == 302  # the session ended: back to login, once
    assert response.headers["location"].startswith("/auth/test/login")
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))
    errors = [r.getMessage() for r in caplog.records if r.name == "authplug"]
    assert any(f"authplug_{hook}" in m and "Traceback" in m for m in errors), errors
    assert all(SECRET not in m for m in errors)
    # Signing in again works; the broken hook is not due again for a while: no loop.
    await kit.login(browser, "alice")
    assert (await browser.get("/page")).status_code == 200


# -- challenges: stateless is not bearer --------------------------------------------


class HeaderProvider(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """Identity from a trusted proxy header; challenges with its own scheme."""

    __test__ = False
    stateless = True
    challenge = 'Proxy realm="corp"'

    def __init__(self, kit: ModuleType) -> None:
        super().__init__(NoSettings())
        self.kit = kit

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        user = request.header("x-forwarded-user")
        if user == "banned":
            raise NotAuthenticatedError(
                "banned", code="banned", www_authenticate='Basic realm="admin"'
            )
        if not user:
            raise NotAuthenticatedError("no identity header", code="missing_identity")
        return Authenticated(user=self.kit.User(user_id=user, user_type="internal-user"))


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
async def test_a_stateless_provider_declares_its_own_challenge(
    kind: str, kit: ModuleType, keys: list[str]
) -> None:
    host = build_host(HeaderProvider(kit), kit.make_config(keys))
    missing = await _get(kind, host, "/page", {"accept": "application/json"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Proxy realm="corp"'
    banned = await _get(kind, host, "/page", {"x-forwarded-user": "banned"})
    assert banned.status_code == 401
    assert banned.headers["www-authenticate"] == 'Basic realm="admin"'
    ok = await _get(kind, host, "/page", {"x-forwarded-user": "ada"})
    assert ok.status_code == 200
    assert "set-cookie" not in ok.headers


async def test_a_provider_without_a_challenge_sends_none(kit: ModuleType, keys: list[str]) -> None:
    class Quiet(HeaderProvider):
        challenge = None

    host = build_host(Quiet(kit), kit.make_config(keys))
    response = await _get("asgi", host, "/page", {"accept": "application/json"})
    assert response.status_code == 401
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize("bad", ['Proxy realm="x"\r\nSet-Cookie: a=b', "", "   "])
def test_a_challenge_that_is_not_a_header_value_fails_the_start_up(
    bad: str, kit: ModuleType, keys: list[str]
) -> None:
    class Broken(HeaderProvider):
        challenge = bad

    with pytest.raises(PluginLoadError, match="authplug_challenge"):
        build_host(Broken(kit), kit.make_config(keys))


def test_a_stateless_provider_needs_no_cookie_keys_in_production(kit: ModuleType) -> None:
    config = kit.make_config([], env="production", cookie_secure=True)
    host = build_host(HeaderProvider(kit), config)
    assert host.stateless
    from authplug.errors import ConfigError

    with pytest.raises(ConfigError, match="cookie_keys"):
        build_host(kit.TestProvider(kit.Clock()), config)
