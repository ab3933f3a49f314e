"""Server-side revocation through the ASGI host (SECURITY.md A.5 replay after logout, A.15).

The clock starts at the wall clock here: stores prune ended revocations by
the wall clock, as they do in production.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug.asgi import AuthMiddleware
from authplug.stores.sqlite import SqliteUserStore

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"
JSON = {"accept": "application/json"}


@pytest.fixture
def clock(kit: ModuleType) -> Any:
    return kit.Clock(float(int(time.time())))


def _cookie_header(client: httpx.AsyncClient) -> str:
    """The Cookie header the client's jar would send: what an attacker copies."""
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


async def _logout(client: httpx.AsyncClient) -> httpx.Response:
    token = _token((await client.get("/auth/logout")).text)
    response = await client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 303, response.text
    return response


async def _replay(client: httpx.AsyncClient, cookie: str, **headers: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/reports", headers={"cookie": cookie, **headers})


async def test_replayed_cookie_after_logout_is_anonymous(
    client: httpx.AsyncClient, store: Any, provider: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice", big="6000")
    captured = _cookie_header(client)
    assert (await client.get("/")).json()["user"] == "alice"
    await _logout(client)
    assert len(store.revoked) == 1

    browser = await _replay(client, captured)
    assert browser.status_code == 302
    assert browser.headers["location"].startswith("/auth/test/login?state=")
    cleared = kit.cleared_names(kit.set_cookie_headers(browser.headers))
    assert {f"{SESSION}.0", f"{SESSION}.1"} <= cleared

    api = await _replay(client, captured, **JSON)
    assert api.status_code == 401
    assert api.json()["error"] == "not_authenticated"
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(api.headers))

    assert [u.user_id for u in store.logins] == ["alice"]  # no user row written by the replay
    assert store.updates == []
    assert provider.validate_calls == 0


async def test_replay_is_refused_even_when_validation_is_due(
    client: httpx.AsyncClient, store: Any, provider: Any, clock: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    captured = _cookie_header(client)
    await _logout(client)
    clock.advance(301)
    response = await _replay(client, captured, **JSON)
    assert response.status_code == 401
    assert provider.validate_calls == 0  # refused before the provider is asked
    assert store.updates == []


async def test_ordinary_requests_never_read_the_store(
    client: httpx.AsyncClient, store: Any, provider: Any, clock: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    for _ in range(5):
        assert (await client.get("/")).status_code == 200
    assert store.revocation_checks == 0
    clock.advance(300)  # validate_interval
    assert (await client.get("/")).status_code == 200
    assert store.revocation_checks == 1
    assert provider.validate_calls == 1
    assert (await client.get("/")).status_code == 200
    assert store.revocation_checks == 1


async def test_logging_in_again_after_logout_works(
    client: httpx.AsyncClient, store: Any, events: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    captured = _cookie_header(client)
    await _logout(client)
    await kit.login(client, "alice")
    fresh = _cookie_header(client)
    assert (await client.get("/")).json()["user"] == "alice"
    assert events.logged_in == ["alice", "alice"]
    assert (await _replay(client, captured, **JSON)).status_code == 401
    again = await _replay(client, fresh, **JSON)
    assert again.status_code == 200
    assert again.json()["user"] == "alice"


async def test_login_over_a_session_revokes_the_old_one(
    client: httpx.AsyncClient, store: Any, kit: ModuleType
) -> None:
    """A.15: logging in as bob while signed in as alice ends alice's session everywhere."""
    await kit.login(client, "alice")
    alice = _cookie_header(client)
    await kit.login(client, "bob")
    bob = _cookie_header(client)
    assert len(store.revoked) == 1
    assert (await _replay(client, alice, **JSON)).status_code == 401
    response = await _replay(client, bob, **JSON)
    assert response.status_code == 200
    assert response.json()["user"] == "bob"


async def test_first_login_revokes_nothing(
    client: httpx.AsyncClient, store: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    assert store.revoked == []


async def test_logout_with_a_replayed_cookie_fires_nothing_again(
    client: httpx.AsyncClient, provider: Any, events: Any, kit: ModuleType
) -> None:
    await kit.login(client, "alice")
    captured = _cookie_header(client)
    token = _token((await client.get("/auth/logout")).text)
    assert (await client.post("/auth/logout", data={"csrf_token": token})).status_code == 303
    assert events.logged_out == ["alice"]

    client.cookies.clear()
    page = await client.get("/auth/logout", headers={"cookie": captured})
    assert page.status_code == 200
    assert "not signed in" in page.text
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(page.headers))
    again = await client.post(
        "/auth/logout", data={"csrf_token": token}, headers={"cookie": captured}
    )
    assert again.status_code == 303
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(again.headers))
    assert events.logged_out == ["alice"]
    assert provider.logout_calls == 1


# -- across processes: two hosts sharing one SQLite file ---------------------------------


class CountingSqliteStore(SqliteUserStore):
    """The real SQLite store, counting revocation reads."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.checks = 0

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        self.checks += 1
        return super().is_session_revoked(sid, now)


@pytest.fixture
async def two_hosts(
    tmp_path: Path, keys: list[str], clock: Any, kit: ModuleType, app_factory: Any
) -> AsyncIterator[list[tuple[httpx.AsyncClient, Any, CountingSqliteStore]]]:
    """Two middlewares ("processes"): same keys, same database file, own memory."""
    path = str(tmp_path / "users.sqlite3")
    made = []
    for _ in range(2):
        provider = kit.TestProvider(clock)
        store = CountingSqliteStore(path=path)
        host = kit.make_host(provider, kit.make_config(keys), store)
        app = AuthMiddleware(app_factory(), host=host, clock=clock)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://app.example"
        )
        made.append((client, provider, store))
    yield made
    for client, _provider, store in made:
        await client.aclose()
        store.close()


async def test_another_process_refuses_the_cookie_once_validation_is_due(
    two_hosts: list[tuple[httpx.AsyncClient, Any, CountingSqliteStore]],
    clock: Any,
    kit: ModuleType,
) -> None:
    (first, _p1, _s1), (second, provider2, store2) = two_hosts
    await kit.login(first, "alice")
    captured = _cookie_header(first)
    accepted = await second.get("/", headers={"cookie": captured, **JSON})
    assert accepted.json()["user"] == "alice"

    await _logout(first)
    assert (await _replay(first, captured, **JSON)).status_code == 401  # this process: at once

    clock.advance(299)  # the other process: accepted until its validation is due
    still = await second.get("/", headers={"cookie": captured, **JSON})
    assert still.status_code == 200
    assert store2.checks == 0

    clock.advance(1)
    refused = await second.get("/", headers={"cookie": captured, **JSON})
    assert refused.status_code == 401
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(refused.headers))
    assert store2.checks == 1
    assert provider2.validate_calls == 0

    again = await second.get("/", headers={"cookie": captured, **JSON})
    assert again.status_code == 401
    assert store2.checks == 1  # remembered in memory now: no second store read


async def test_store_failure_at_logout_is_503_and_keeps_the_session(
    tmp_path: Path, keys: list[str], clock: Any, events: Any, kit: ModuleType, app_factory: Any
) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path), busy_timeout=0)
    host = kit.make_host(kit.TestProvider(clock), kit.make_config(keys), store, events)
    app = AuthMiddleware(app_factory(), host=host, clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as client:
        await kit.login(client, "alice")
        token = _token((await client.get("/auth/logout")).text)
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            failed = await client.post("/auth/logout", data={"csrf_token": token})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert failed.status_code == 503
        assert "set-cookie" not in failed.headers
        assert "SQLITE" not in failed.text
        assert events.logged_out == []
        assert (await client.get("/")).json()["user"] == "alice"
        done = await client.post("/auth/logout", data={"csrf_token": token})
        assert done.status_code == 303
        assert events.logged_out == ["alice"]
    store.close()


async def test_logout_in_another_process_with_a_revoked_cookie_fires_nothing(
    two_hosts: list[tuple[httpx.AsyncClient, Any, CountingSqliteStore]], kit: ModuleType
) -> None:
    (first, provider1, _s1), (second, provider2, _s2) = two_hosts
    await kit.login(first, "alice")
    captured = _cookie_header(first)
    await _logout(first)
    assert provider1.logout_calls == 1
    form = await second.get("/auth/logout", headers={"cookie": captured})
    token = _token(form.text)  # not yet known here as revoked: the form is shown
    done = await second.post(
        "/auth/logout", data={"csrf_token": token}, headers={"cookie": captured}
    )
    assert done.status_code == 303
    assert f"{SESSION}.0" in kit.cleared_names(kit.set_cookie_headers(done.headers))
    assert provider2.logout_calls == 0
