"""The browser login lifecycle through the real ASGI middleware (httpx.ASGITransport)."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.host import Host

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"
FLOW = "authplug_flow"


async def test_unauthenticated_browser_is_sent_to_login_with_return_to(
    client: httpx.AsyncClient, provider: Any, store: Any, events: Any, kit: ModuleType
) -> None:
    response = await client.get("/reports/q3", params={"x": "1"})
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("/auth/test/login?state=")
    set_cookies = kit.set_cookie_headers(response.headers)
    state = parse_qs(urlsplit(location).query)["state"][0]
    # One cookie per login transaction, named for its state.
    assert list(kit.cookie_pairs(set_cookies)) == [f"{FLOW}.{state}"]
    assert provider.authenticate_calls == 1

    # The IdP sends the browser back to the callback with the state.
    done = await client.get("/auth/test/login", params={"user": "alice", "state": state})
    assert done.status_code == 302
    assert done.headers["location"] == "/reports/q3?x=1"
    pairs = kit.cookie_pairs(kit.set_cookie_headers(done.headers))
    assert f"{SESSION}.0" in pairs
    assert f"{FLOW}.{state}" in kit.cleared_names(kit.set_cookie_headers(done.headers))
    assert [u.user_id for u in store.logins] == ["alice"]
    record = store.get("alice")
    assert record is not None
    assert "authData" not in record.model_dump_json(by_alias=True)
    assert provider.access_token not in record.model_dump_json()
    assert events.logged_in == ["alice"]

    page = await client.get("/reports/q3", params={"x": "1"})
    assert page.status_code == 200
    assert page.json()["user"] == "alice"


async def test_reload_uses_the_session_without_calling_any_hook(
    client: httpx.AsyncClient, provider: Any, store: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice", roles="pika:reader")
    calls_before = provider.authenticate_calls
    for _ in range(3):
        response = await client.get("/dashboard")
        assert response.status_code == 200
        assert response.json() == {"user": "alice", "roles": ["pika:reader"]}
        assert "set-cookie" not in response.headers  # nothing to re-seal
    assert provider.authenticate_calls == calls_before == 0
    assert provider.validate_calls == 0
    assert provider.refresh_calls == 0
    assert len(store.logins) == 1
    assert store.gets == 0
    assert store.updates == []


async def test_session_survives_a_restart_with_the_same_keys(
    client: httpx.AsyncClient,
    provider: Any,
    keys: list[str],
    clock: Any,
    kit: ModuleType,
    app_factory: Any,
) -> None:
    make_app = app_factory
    await kit.login(client, "bob")
    cookies = dict(client.cookies)
    restarted_host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), kit.SpyStore())
    app = AuthMiddleware(make_app(), host=restarted_host, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://app.example", cookies=cookies
    ) as fresh:
        response = await fresh.get("/anything")
    assert response.status_code == 200
    assert response.json()["user"] == "bob"

    other_host = kit.make_host(
        kit.TestProvider(clock), kit.make_config([kit.make_key()]), kit.SpyStore()
    )
    other = AuthMiddleware(make_app(), host=other_host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://app.example", cookies=cookies
    ) as stranger:
        refused = await stranger.get("/anything")
    assert refused.status_code == 302  # a foreign key's cookie is no session
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(refused.headers))


async def test_auth_paths_never_redirect_to_login(client: httpx.AsyncClient) -> None:
    client.follow_redirects = True
    client.max_redirects = 5
    for path in ("/auth/unknown", "/auth/test/boom", "/auth/test/login", "/auth", "/auth/"):
        response = await client.get(path)
        assert response.status_code in (401, 404, 500), (path, response.status_code)
        assert not response.history, path
    wrong_method = await client.delete("/auth/test/login")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET"


async def test_route_failure_is_a_500_page_without_leaking_the_exception(
    client: httpx.AsyncClient,
) -> None:
    # A provider's bug is a server error (issue #10), never a 401 that looks
    # like a bad credential.
    response = await client.get("/auth/test/boom")
    assert response.status_code == 500
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["content-type"].startswith("text/html")


async def test_provider_unavailable_is_a_503_naming_the_provider(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/auth/test/unavailable")
    assert response.status_code == 503
    assert "test-idp" in response.text
    api = await client.get(
        "/data", headers={"x-test-unavailable": "1", "accept": "application/json"}
    )
    assert api.status_code == 503
    assert api.json()["error"] == "provider_unavailable"
    assert "test-idp" in api.json()["message"]


@pytest.mark.parametrize(
    "payload",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "/%5Cevil.example",
        " /evil",
        "javascript:alert(1)",
        "https://app.example@evil.example",
        "/\r\nLocation: https://evil.example",
        "/" + "a" * 3000,
    ],
)
async def test_open_redirect_payloads_land_on_the_default_page(
    client: httpx.AsyncClient, payload: str, kit: ModuleType
) -> None:
    response = await kit.login(client, "alice", next=payload)
    assert response.headers["location"] == "/"


async def test_a_safe_redirect_to_is_honoured(client: httpx.AsyncClient, kit: ModuleType) -> None:
    response = await kit.login(client, "alice", next="/reports?id=7")
    assert response.headers["location"] == "/reports?id=7"


async def test_unsafe_request_path_is_not_captured_as_return_to(
    client: httpx.AsyncClient,
) -> None:
    # An empty segment is refused (400) before any login starts, so nothing is captured.
    start = await client.get("http://app.example//evil.example/x")
    assert start.status_code == 400
    assert "set-cookie" not in start.headers
    assert "location" not in start.headers


async def test_result_with_redirect_and_extra_cookies_keeps_every_cookie(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await kit.login(client, "carol", next="/x")
    set_cookies = kit.set_cookie_headers(response.headers)
    pairs = kit.cookie_pairs(set_cookies)
    assert pairs["test_extra"] == "extra-value"
    assert f"{SESSION}.0" in pairs
    assert response.headers["location"] == "/x"


async def test_provider_response_passes_through_with_its_cookies(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await client.post("/auth/test/page", content=b"a=1")
    assert response.status_code == 200
    assert response.text == "<p>provider page</p>"
    assert response.headers["x-provider"] == "yes"
    assert kit.cookie_pairs(kit.set_cookie_headers(response.headers)) == {"page_cookie": "p"}


async def test_login_as_b_replaces_a_with_a_new_session(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    first = client.cookies.get(f"{SESSION}.0")
    await kit.login(client, "bob")
    second = client.cookies.get(f"{SESSION}.0")
    assert first != second
    assert (await client.get("/")).json()["user"] == "bob"


async def test_public_paths_pass_untouched(client: httpx.AsyncClient, provider: Any) -> None:
    response = await client.get("/login", headers={"cookie": f"{SESSION}.0=garbage"})
    assert response.status_code == 200
    assert response.text == "public user=None"
    assert "set-cookie" not in response.headers
    nested = await client.get("/static/app.css")
    assert nested.status_code == 200
    assert provider.authenticate_calls == 0


async def test_dot_segments_do_not_borrow_a_public_prefix(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/../admin")
    assert response.status_code == 302
    assert response.headers["location"].startswith("/auth/test/login")


async def test_autologin_continues_to_the_app_with_cookies(
    client: httpx.AsyncClient, store: Any, kit: ModuleType
) -> None:
    response = await client.get("/hello", headers={"x-test-autologin": "dave"})
    assert response.status_code == 200
    assert response.json()["user"] == "dave"
    assert f"{SESSION}.0" in kit.cookie_pairs(kit.set_cookie_headers(response.headers))
    assert [u.user_id for u in store.logins] == ["dave"]


async def test_large_session_is_chunked_and_read_back(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    response = await kit.login(client, "erin", big="6000")
    pairs = kit.cookie_pairs(kit.set_cookie_headers(response.headers))
    assert {f"{SESSION}.0", f"{SESSION}.1"} <= set(pairs)
    assert (await client.get("/")).json()["user"] == "erin"


def test_host_none_loads_from_config(monkeypatch: pytest.MonkeyPatch, host: Host) -> None:
    import authplug.loader

    monkeypatch.setattr(authplug.loader, "load", lambda: host)
    middleware = AuthMiddleware(lambda s, r, se: None)  # type: ignore[arg-type,return-value]
    assert middleware.host is host


async def _websocket(app: AuthMiddleware, cookie: str) -> list[dict[str, Any]]:
    """Drive one websocket connection through the ASGI app by hand."""
    inbox: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "scheme": "ws",
        "headers": [(b"host", b"app.example"), (b"cookie", cookie.encode())],
        "subprotocols": [],
        "client": ("127.0.0.1", 1),
        "server": ("app.example", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    return sent


async def test_websocket_gets_the_session_user_or_is_refused(
    middleware: AuthMiddleware, client: httpx.AsyncClient, kit: ModuleType
) -> None:
    refused = await _websocket(middleware, "")
    assert refused == [{"type": "websocket.close", "code": 1008}]
    await kit.login(client, "wendy")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    accepted = await _websocket(middleware, cookie)
    assert accepted[0]["type"] == "websocket.accept"
    assert {"type": "websocket.send", "text": "wendy"} in [
        {k: m[k] for k in ("type", "text") if k in m} for m in accepted
    ]
