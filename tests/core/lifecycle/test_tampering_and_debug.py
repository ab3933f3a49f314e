"""Hostile cookies through the full stack, error handling, and redacted debug tracing."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.debug import LOGGER_NAME

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"


def _flip(value: str, position: int) -> str:
    ch = value[position]
    return value[:position] + ("A" if ch != "A" else "B") + value[position + 1 :]


@pytest.mark.parametrize("mutation", ["flip-start", "flip-middle", "flip-end", "truncate", "empty"])
async def test_tampered_cookie_is_no_session_cleared_without_store_write(
    client: httpx.AsyncClient, store: Any, provider: Any, kit: ModuleType, mutation: str
) -> None:
    await kit.login(client, "alice")
    value = client.cookies[f"{SESSION}.0"]
    bad = {
        "flip-start": _flip(value, 2),
        "flip-middle": _flip(value, len(value) // 2),
        "flip-end": _flip(value, len(value) - 2),
        "truncate": value[:-16],
        "empty": "",
    }[mutation]
    logins = len(store.logins)
    client.cookies.clear()
    response = await client.get("/secret", headers={"cookie": f"{SESSION}.0={bad}"})
    assert response.status_code == 302  # anonymous browser: to login, never a 500
    assert response.headers["location"].startswith("/auth/test/login")
    if mutation != "empty":
        assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))
    api = await client.get(
        "/secret", headers={"cookie": f"{SESSION}.0={bad}", "accept": "application/json"}
    )
    assert api.status_code == 401
    assert len(store.logins) == logins
    assert store.updates == []


async def test_garbage_cookie_header_is_no_session(client: httpx.AsyncClient) -> None:
    for header in ("authplug_session.0=\x7f\x01", "authplug_session.0", "a=b; ;;=;"):
        response = await client.get("/", headers={"cookie": header})
        assert response.status_code == 302, header


async def test_oversized_cookie_header_is_refused_with_431(client: httpx.AsyncClient) -> None:
    for size in (70_000, 1024 * 1024):
        response = await client.get("/", headers={"cookie": "authplug_session.0=" + "A" * size})
        assert response.status_code == 431


async def test_internal_error_in_the_store_is_a_generic_500(
    client: httpx.AsyncClient, store: Any, kit: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(user: Any, now: Any) -> None:
        raise RuntimeError("db password=hunter2 leaked")

    store.record_login = broken
    response = await client.get("/auth/test/login", params={"user": "alice"})
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "set-cookie" not in response.headers
    assert all("hunter2" not in r.getMessage() for r in caplog.records)


async def test_app_errors_are_the_apps_business(host: Any, clock: Any) -> None:
    async def failing_app(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError("app bug")

    app = AuthMiddleware(failing_app, host=host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example"
    ) as c:
        await c.get("/auth/test/login", params={"user": "a"})
        with pytest.raises(ValueError, match="app bug"):
            await c.get("/")


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {"debug": True}


async def test_debug_traces_never_contain_secrets(
    client: httpx.AsyncClient,
    provider: Any,
    clock: Any,
    kit: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="authplug")
    start = await client.get("/private?code=SECRETQUERYCODE123")
    state_url = start.headers["location"]
    (flow_value,) = (
        value
        for name, value in kit.cookie_pairs(kit.set_cookie_headers(start.headers)).items()
        if name.startswith("authplug_flow.")
    )
    done = await client.get(state_url + "&user=alice&next=/private")
    secrets_seen = [
        provider.access_token,
        provider.refresh_token,
        client.cookies[f"{SESSION}.0"],
        flow_value,
        "SECRETQUERYCODE123",
        state_url.split("state=")[1],
    ]
    assert done.status_code == 302
    clock.advance(3600)  # refresh: a new access token
    assert (await client.get("/private")).status_code == 200
    secrets_seen.append(provider.access_token)
    await client.get("/auth/test/boom")
    await client.get("/x", headers={"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"})
    secrets_seen.append("eyJhbGciOiJIUzI1NiJ9")
    debug_records = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert debug_records, "debug tracing logged nothing"
    messages = [r.getMessage() for r in caplog.records]
    assert any("authplug_refresh" in m for m in messages)
    assert any("took" in m and "ms" in m for m in messages)
    for message in messages:
        for secret in secrets_seen:
            assert secret not in message, (secret[:6], message)


async def test_debug_off_logs_nothing(
    host: Any, clock: Any, kit: ModuleType, app_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    plain = kit.make_host(
        kit.TestProvider(clock), kit.make_config([kit.make_key()]), kit.SpyStore()
    )
    app = AuthMiddleware(app_factory(), host=plain, clock=clock)
    assert not app.lifecycle.tracer.enabled
    caplog.set_level(logging.DEBUG, logger="authplug")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://app.example"
    ) as c:
        await kit.login(c, "alice")
        await c.get("/")
    assert [r for r in caplog.records if r.name == LOGGER_NAME] == []
