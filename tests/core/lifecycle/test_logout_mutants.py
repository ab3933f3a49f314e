"""``/auth/logout`` behaviours that mutation testing showed no test pinned.

What the provider's ``authplug_logout`` and the ``authplug_logged_out``
listeners receive, what happens to its cookies and a failure of it, and that
every way out of the route (signed out, no session, a revoked session) also
deletes the flow cookie of a login left half-way.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.errors import ProviderUnavailableError
from authplug.hookspecs import hookimpl
from authplug.models import ToolUserView
from authplug.request import AuthRequest
from authplug.results import Redirect, ResponseCookie
from authplug.stores.base import AsyncUserStore, UserRecord
from authplug.stores.memory import MemoryUserStore

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"


class Listener:
    """An extension recording what ``authplug_logged_out`` receives."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []

    @hookimpl
    def authplug_logged_out(self, request: AuthRequest, user: Any) -> None:
        self.seen.append((request.path, None if user is None else user.user_id))


@pytest.fixture
def provider(clock: Any, kit: ModuleType) -> Any:
    """The test provider, recording what its ``logout`` receives and answering as told."""

    class Recording(kit.TestProvider):  # type: ignore[name-defined,misc]
        def __init__(self, clock: Any) -> None:
            super().__init__(clock)
            self.logout_seen: list[tuple[str, str | None]] = []
            self.logout_answer: Any = None

        def logout(self, request: AuthRequest, user: Any) -> Redirect | None:
            self.logout_seen.append((request.path, None if user is None else user.user_id))
            if isinstance(self.logout_answer, Exception):
                raise self.logout_answer
            return self.logout_answer  # type: ignore[no-any-return]

    return Recording(clock)


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


async def _sign_out(client: httpx.AsyncClient) -> httpx.Response:
    token = _token((await client.get("/auth/logout")).text)
    return await client.post("/auth/logout", data={"csrf_token": token})


async def _half_login(client: httpx.AsyncClient, kit: ModuleType) -> str:
    """Start a login and leave it: the name of the flow cookie it set."""
    started = await client.get("/reports")
    assert started.status_code == 302
    names = set(kit.cookie_pairs(kit.set_cookie_headers(started.headers)))
    flow = [name for name in names if not name.startswith(SESSION)]
    assert len(flow) == 1, names
    return flow[0]


async def test_the_provider_logout_gets_the_request_and_the_user(
    client: httpx.AsyncClient, provider: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    assert (await _sign_out(client)).status_code == 303
    assert provider.logout_seen == [("/auth/logout", "alice")]


async def test_logged_out_listeners_get_the_request_and_the_user(
    provider: Any, keys: list[str], store: Any, clock: Any, kit: ModuleType, app_factory: Any
) -> None:
    from authplug.asgi import AuthMiddleware

    listener = Listener()
    host = kit.make_host(provider, kit.make_config(keys), store, listener)
    middleware = AuthMiddleware(app_factory(), host=host, clock=clock)
    transport = httpx.ASGITransport(app=middleware)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as client:
        await kit.login(client, "alice")
        assert (await _sign_out(client)).status_code == 303
    assert listener.seen == [("/auth/logout", "alice")]


async def test_the_provider_redirect_keeps_its_cookies_and_its_status(
    client: httpx.AsyncClient, provider: Any, kit: ModuleType
) -> None:
    provider.logout_answer = Redirect(
        location="https://idp.example/end",
        cookies=(ResponseCookie("idp_hint", "bye", secure=False),),
        status=307,
    )
    await kit.login(client, "alice")
    response = await _sign_out(client)
    assert response.status_code == 307
    assert response.headers["location"] == "https://idp.example/end"
    set_cookies = kit.set_cookie_headers(response.headers)
    assert kit.cookie_pairs(set_cookies).get("idp_hint") == "bye"
    assert f"{SESSION}.0" in kit.cleared_names(set_cookies)


async def test_a_failing_provider_logout_still_signs_out_locally(
    client: httpx.AsyncClient, provider: Any, events: Any, kit: ModuleType
) -> None:
    provider.logout_answer = ProviderUnavailableError("end-session down", provider="test-idp")
    await kit.login(client, "alice")
    response = await _sign_out(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(response.headers))
    assert events.logged_out == ["alice"]
    after = await client.get("/", headers={"accept": "application/json"})
    assert after.status_code == 401


async def test_signing_out_deletes_a_half_done_login(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    flow = await _half_login(client, kit)
    await kit.login(client, "alice")
    response = await _sign_out(client)
    assert response.status_code == 303
    assert {f"{SESSION}.0", flow} <= kit.cleared_names(kit.set_cookie_headers(response.headers))


async def test_posting_without_a_session_deletes_a_half_done_login(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    flow = await _half_login(client, kit)
    response = await client.post("/auth/logout")
    assert response.status_code == 303
    assert flow in kit.cleared_names(kit.set_cookie_headers(response.headers))


async def test_a_revoked_session_is_no_session_and_its_cookies_go(
    client: httpx.AsyncClient, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    stolen = dict(client.cookies)
    assert (await _sign_out(client)).status_code == 303
    # The logged-out cookie replayed, beside a half-done login of the same browser.
    client.cookies.clear()
    flow = await _half_login(client, kit)
    for name, value in stolen.items():
        client.cookies.set(name, value)
    page = await client.get("/auth/logout")
    assert page.status_code == 200
    assert "not signed in" in page.text
    assert {f"{SESSION}.0", flow} <= kit.cleared_names(kit.set_cookie_headers(page.headers))


async def test_a_relative_provider_logout_location_keeps_the_mount_prefix(
    host: Any, provider: Any, clock: Any, kit: ModuleType, app_factory: Any
) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from authplug.asgi import AuthMiddleware

    provider.logout_answer = Redirect(location="/auth/test/page")
    outer = Starlette(
        routes=[Mount("/app", app=AuthMiddleware(app_factory(), host=host, clock=clock))]
    )
    transport = httpx.ASGITransport(app=outer)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as client:
        await client.get("/app/auth/test/login", params={"user": "alice"})
        token = _token((await client.get("/app/auth/logout")).text)
        response = await client.post("/app/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["location"] == "/app/auth/test/page"


class AsyncFaceStore(MemoryUserStore):
    """The memory store with the async face too, noting which face each revocation call used."""

    def __init__(self) -> None:
        super().__init__()
        self.faces: list[str] = []

    def revoke_session(self, sid: str, until: datetime) -> None:
        self.faces.append("revoke_session")
        super().revoke_session(sid, until)

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        self.faces.append("is_session_revoked")
        return super().is_session_revoked(sid, now)

    async def arecord_login(self, user: ToolUserView, now: datetime) -> None:
        MemoryUserStore.record_login(self, user, now)

    async def aupdate(self, user: ToolUserView, now: datetime) -> None:
        MemoryUserStore.update(self, user, now)

    async def aget(self, user_id: str) -> UserRecord | None:
        return MemoryUserStore.get(self, user_id)

    async def arevoke_session(self, sid: str, until: datetime) -> None:
        self.faces.append("arevoke_session")
        MemoryUserStore.revoke_session(self, sid, until)

    async def ais_session_revoked(self, sid: str, now: datetime) -> bool:
        self.faces.append("ais_session_revoked")
        return MemoryUserStore.is_session_revoked(self, sid, now)

    async def aclaim_once(self, key: str, until: datetime, now: datetime) -> bool:
        return MemoryUserStore.claim_once(self, key, until, now)

    async def aclose(self) -> None:
        pass


async def test_under_asgi_logout_awaits_the_stores_async_face(
    provider: Any, keys: list[str], clock: Any, kit: ModuleType, app_factory: Any
) -> None:
    """No worker thread per store call on the event loop: the async methods are awaited."""
    store = AsyncFaceStore()
    assert isinstance(store, AsyncUserStore)
    host = kit.make_host(provider, kit.make_config(keys), store)
    app = AuthMiddleware(app_factory(), host=host, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as client:
        await kit.login(client, "alice")
        assert (await _sign_out(client)).status_code == 303
    assert store.faces == ["ais_session_revoked", "arevoke_session"]
