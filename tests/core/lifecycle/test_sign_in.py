"""The core-owned sign-in entry point ``/auth/login?return_to=...`` (authplug.signin)."""

from __future__ import annotations

from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.host import Host
from authplug.request import AuthRequest
from authplug.results import Redirect
from authplug.signin import sign_in_return_to

pytestmark = pytest.mark.anyio

FLOW = "authplug_flow"


def state_of(response: httpx.Response) -> str:
    return parse_qs(urlsplit(response.headers["location"]).query)["state"][0]


async def test_sign_in_starts_the_login_and_lands_on_return_to(
    client: httpx.AsyncClient, provider: Any, store: Any, kit: ModuleType
) -> None:
    start = await client.get("/auth/login", params={"return_to": "/reports/q3?x=1"})
    assert start.status_code == 302
    assert start.headers["location"].startswith("/auth/test/login?state=")
    state = state_of(start)
    assert list(kit.cookie_pairs(kit.set_cookie_headers(start.headers))) == [f"{FLOW}.{state}"]
    assert provider.authenticate_calls == 1

    done = await client.get("/auth/test/login", params={"user": "alice", "state": state})
    assert done.status_code == 302
    assert done.headers["location"] == "/reports/q3?x=1"
    assert [u.user_id for u in store.logins] == ["alice"]
    page = await client.get("/reports/q3", params={"x": "1"})
    assert page.json()["user"] == "alice"


async def test_sign_in_without_return_to_lands_on_the_default_page(
    client: httpx.AsyncClient,
) -> None:
    start = await client.get("/auth/login")
    done = await client.get("/auth/test/login", params={"user": "alice", "state": state_of(start)})
    assert done.headers["location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
        "/auth/login?return_to=/auth/login",  # would lead back here
        "/auth/test/login?user=mallory",
        "/auth",
        "",
    ],
)
async def test_unsafe_return_to_falls_back_to_the_default_page(
    client: httpx.AsyncClient, target: str
) -> None:
    start = await client.get("/auth/login", params={"return_to": target})
    assert start.status_code == 302
    done = await client.get("/auth/test/login", params={"user": "alice", "state": state_of(start)})
    assert done.headers["location"] == "/"


async def test_signed_in_browser_goes_straight_to_return_to(
    client: httpx.AsyncClient, provider: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    calls = provider.authenticate_calls
    response = await client.get("/auth/login", params={"return_to": "/reports"})
    assert response.status_code == 302
    assert response.headers["location"] == "/reports"
    assert "set-cookie" not in response.headers
    assert provider.authenticate_calls == calls
    again = await client.get("/auth/login", params={"return_to": "/auth/login"})
    assert again.headers["location"] == "/"  # never back to itself


async def test_revoked_session_starts_a_new_login(
    client: httpx.AsyncClient, provider: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    form = await client.get("/auth/logout")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    old = dict(client.cookies)
    await client.post("/auth/logout", data={"csrf_token": token})
    client.cookies.clear()
    client.cookies.update(old)  # a replayed copy of the logged-out session cookie
    response = await client.get("/auth/login", params={"return_to": "/reports"})
    assert response.headers["location"].startswith("/auth/test/login?state=")


async def test_api_clients_get_401_json_and_nothing_is_begun(
    client: httpx.AsyncClient, provider: Any
) -> None:
    response = await client.get(
        "/auth/login", params={"return_to": "/x"}, headers={"accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert "set-cookie" not in response.headers
    assert provider.authenticate_calls == 0


async def test_other_methods_get_405(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/login")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_provider_errors_are_answered_like_on_a_protected_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/auth/login", headers={"x-test-unavailable": "1"})
    assert response.status_code == 503


async def test_provider_authenticating_directly_opens_a_session(
    client: httpx.AsyncClient, store: Any
) -> None:
    response = await client.get(
        "/auth/login", params={"return_to": "/reports"}, headers={"x-test-autologin": "carol"}
    )
    assert response.status_code == 302
    assert response.headers["location"] == "/reports"
    assert [u.user_id for u in store.logins] == ["carol"]


async def test_a_provider_redirecting_to_the_entry_point_is_a_500_not_a_loop(
    client: httpx.AsyncClient, provider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provider, "_authenticate", lambda request: Redirect("/auth/login"))
    response = await client.get("/auth/login")
    assert response.status_code == 500


@pytest.mark.parametrize(
    ("root", "target", "expected"),
    [
        ("/app", "/app/reports", "/app/reports"),
        ("/app", "/app", "/app"),
        ("/app", "/app?tab=2", "/app?tab=2"),
        ("/app", "/app/auth/login", None),  # the entry point itself, inside the mount
        ("/app", "/application/x", None),  # outside the application
        ("/app", "/other", None),
        ("", "/auth/test/login", None),
        ("", "/authors", "/authors"),
        ("", "/reports?return_to=/auth/login", "/reports?return_to=/auth/login"),
    ],
)
def test_return_to_inside_a_mounted_application(
    root: str, target: str, expected: str | None
) -> None:
    request = AuthRequest(
        "GET", "/auth/login", query_string=urlencode({"return_to": target}).encode(), root_path=root
    )
    assert sign_in_return_to(request) == expected


@pytest.fixture
def bearer_host(keys: list[str], store: Any, kit: ModuleType) -> Host:
    return kit.make_host(kit.BearerProvider(), kit.make_config(keys), store)


async def test_stateless_providers_have_no_sign_in_page(
    bearer_host: Host, clock: Any, app_factory: Any
) -> None:
    middleware = AuthMiddleware(app_factory(), host=bearer_host, clock=clock)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        response = await c.get("/auth/login")
    assert response.status_code == 404
