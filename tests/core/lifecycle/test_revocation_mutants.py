"""Session revocation: the behaviours mutation testing showed no test pinned.

* A map of capacity 1 is allowed and keeps the latest revocation.
* After two logouts in one process both cookies stay refused (a backend that
  is not shared is no broadcast: nothing else prunes this process's map).
* A logout through the host is broadcast: another "process" sharing a real
  SQLite coordination file refuses the cookie at once, not only when its
  validation is due, and until the session's absolute end plus the skew.
* The per-request check first applies the revocations that already reached
  the process (``catch_up``), before its listener thread has run.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.coordination import open_coordination
from authplug.coordination.base import Lease, RevocationListener
from authplug.host import PluginInfo, build_host
from authplug.revocation import RevokedSessions, SessionRevocation
from authplug.stores.memory import MemoryUserStore

pytestmark = pytest.mark.anyio

JSON = {"accept": "application/json"}
LIFETIME = 8 * 3600.0


def _cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def _logout(client: httpx.AsyncClient) -> None:
    page = (await client.get("/auth/logout")).text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    response = await client.post("/auth/logout", data={"csrf_token": match.group(1)})
    assert response.status_code == 303, response.text


async def _as(client: httpx.AsyncClient, cookie: str) -> int:
    client.cookies.clear()
    return (await client.get("/", headers={"cookie": cookie, **JSON})).status_code


def test_a_capacity_of_one_keeps_the_latest_revocation() -> None:
    revoked = RevokedSessions(1)
    assert revoked.capacity == 1
    revoked.revoke("first", 100.0)
    revoked.revoke("second", 100.0)
    assert revoked.is_revoked("second", 50.0)
    assert not revoked.is_revoked("first", 50.0)
    assert len(revoked) == 1


async def test_two_logouts_both_cookies_stay_refused(
    middleware: AuthMiddleware, kit: ModuleType, clock: Any
) -> None:
    """The lifecycle's clock (here long before the wall clock) alone decides what is expired."""
    assert clock() < time.time() - 30 * 24 * 3600
    transport = httpx.ASGITransport(app=middleware)
    cookies = []
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://app.example") as alice,
        httpx.AsyncClient(transport=transport, base_url="http://app.example") as bob,
    ):
        for client, name in ((alice, "alice"), (bob, "bob")):
            await kit.login(client, name)
            cookies.append(_cookie_header(client))
            assert (await client.get("/", headers=JSON)).json()["user"] == name
        await _logout(alice)
        await _logout(bob)
        assert [await _as(alice, cookie) for cookie in cookies] == [401, 401]


# -- a broadcast through the host: two "processes" sharing one SQLite coordination file ----


@pytest.fixture
def wall_clock(kit: ModuleType) -> Any:
    return kit.Clock(float(int(time.time())))


@pytest.fixture
async def two_processes(
    tmp_path: Path, keys: list[str], wall_clock: Any, kit: ModuleType, app_factory: Any
) -> AsyncIterator[list[tuple[httpx.AsyncClient, Any]]]:
    """Two hosts: the same keys, store and coordination file; each its own memory."""
    store = MemoryUserStore()
    made = []
    for _ in range(2):
        backend = open_coordination("sqlite", {"path": str(tmp_path / "coordination.sqlite3")})
        host = build_host(
            kit.TestProvider(wall_clock),
            kit.make_config(keys),
            provider_info=PluginInfo(name="test"),
            store=store,
            coordination=backend,
        )
        app = AuthMiddleware(app_factory(), host=host, clock=wall_clock)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.example"
        )
        made.append((client, host))
    yield made
    for client, host in made:
        await client.aclose()
        host.close()


async def test_a_logout_is_refused_by_the_other_process_at_once(
    two_processes: list[tuple[httpx.AsyncClient, Any]], kit: ModuleType
) -> None:
    (first, _), (second, _) = two_processes
    await kit.login(first, "alice")
    cookie = _cookie_header(first)
    assert await _as(second, cookie) == 200
    await kit.login(first, "bob")  # a new login revokes alice's session (A.15): a broadcast too
    bob = _cookie_header(first)
    await _logout(first)

    deadline = time.monotonic() + 10
    while await _as(second, bob) == 200 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)  # the listener thread polls the log every 50 ms
    assert await _as(second, bob) == 401  # long before its validation is due (300 s)
    assert await _as(second, cookie) == 401


# -- the per-request check catches up first -----------------------------------------------


class HeldMessages:
    """A shared backend whose messages reach the process before its listener runs.

    As the Redis and PostgreSQL backends' subscription sockets: a published
    revocation waits until ``catch_up`` (or a listener thread, never here)
    delivers it. Only what ``SessionRevocation`` uses is implemented.
    """

    name = "held"
    shared = True
    lease_ttl = 10.0

    def __init__(self) -> None:
        self.listeners: list[RevocationListener] = []
        self.arrived: list[tuple[str, float]] = []

    def publish_revocation(self, sid: str, until: float) -> None:
        self.arrived.append((sid, until))

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        self.listeners.append(listener)

    def catch_up(self) -> None:
        arrived, self.arrived = self.arrived, []
        for sid, until in arrived:
            for listener in self.listeners:
                listener(sid, until)

    def try_lease(self, key: str) -> Lease | None:
        raise NotImplementedError

    def release(self, lease: Lease) -> None:
        raise NotImplementedError

    def wait_released(self, key: str, timeout: float) -> None:
        raise NotImplementedError

    def put_result(self, key: str, value: str, ttl: float) -> None:
        raise NotImplementedError

    def get_result(self, key: str) -> str | None:
        raise NotImplementedError

    def check(self) -> str:
        return "held"

    def close(self) -> None:
        pass


def test_the_per_request_check_applies_what_already_arrived() -> None:
    backend = HeldMessages()
    revocation = SessionRevocation(RevokedSessions(), MemoryUserStore(), LIFETIME, backend)
    is_revoked = revocation.lookup()
    now = time.time()
    assert not is_revoked("sid-1", now)
    backend.publish_revocation("sid-1", now + 60)  # another process logged it out
    assert is_revoked("sid-1", now)
    assert not is_revoked("sid-2", now)
    assert not is_revoked("sid-1", now + 60)


def test_without_a_shared_backend_the_check_is_the_map_itself() -> None:
    revocation = SessionRevocation(RevokedSessions(), MemoryUserStore(), LIFETIME)
    assert revocation.lookup() == revocation.revoked.is_revoked
