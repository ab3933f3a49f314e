"""The PostgreSQL store's async face under the ASGI host, on a real PostgreSQL.

* The ASGI host awaits the store's async methods on its event loop: a login,
  a due validation and a logout take no worker thread (the loop's default
  executor, which ``asyncio.to_thread`` uses, is counted). The SQLite store,
  blocking only, shows the same counter moving.
* Pool lifecycle, read from ``pg_stat_activity``: nothing is connected after
  start-up (the schema check's connection is closed, both pools open on first
  use); the ASGI lifespan shutdown closes the async pool; ``close()`` ends the
  connections whether the loop runs in another thread or has ended; an async
  call from another loop takes the blocking path and still works.

The contract itself runs over the async face in ``test_user_store.py``
(``postgres-async``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.models import ToolUserView
from authplug.stores import StoreError, UserStore
from authplug.stores.sqlite import SqliteUserStore

psycopg = pytest.importorskip("psycopg", reason="authplug[postgres] is not installed")

from authplug.stores.postgres import PostgresUserStore  # noqa: E402

pytestmark = pytest.mark.anyio

SOON = datetime.now(UTC) + timedelta(days=1)


class CountingExecutor(ThreadPoolExecutor):
    """The loop's default executor, counting the calls handed to a worker thread."""

    def __init__(self) -> None:
        super().__init__(max_workers=4)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def _connections(dsn: str) -> int:
    """Other sessions connected to this test's database right now."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _settles_at(dsn: str, expected: Callable[[int], bool]) -> int:
    """The connection count once ``expected`` holds (a closed socket ends its backend
    shortly after); the last count seen when it never does within 10 s."""
    deadline = time.monotonic() + 10
    count = _connections(dsn)
    while not expected(count) and time.monotonic() < deadline:
        time.sleep(0.05)
        count = _connections(dsn)
    return count


@pytest.fixture
def pg_store(postgres_dsn: str) -> Any:
    PostgresUserStore.migrate_schema(dsn=postgres_dsn)
    store = PostgresUserStore(dsn=postgres_dsn)
    yield store
    store.close()


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.scope["authplug.user"].user_id})


def _app(kit: Any, clock: Any, keys: list[str], store: UserStore) -> tuple[Any, Any]:
    provider = kit.TestProvider(clock)
    provider.validate_behaviour = "update"
    host = kit.make_host(provider, kit.make_config(keys), store)
    routes = [Route("/{rest:path}", _whoami)]
    return AuthMiddleware(Starlette(routes=routes), host=host, clock=clock), host


async def _login_validate_logout(app: Any, kit: Any, clock: Any) -> str:
    """Sign in, pass a due validation, sign out; return the session cookie header."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        first = await client.get("/private", headers={"x-test-autologin": "alice"})
        assert first.status_code == 200
        assert first.json() == {"user": "alice"}
        clock.advance(400)  # past validate_interval (300 s): the store's revocation record, update
        second = await client.get("/private")
        assert second.status_code == 200
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        form = await client.get("/auth/logout")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        out = await client.post("/auth/logout", data={"csrf_token": token.group(1)})
        assert out.status_code == 303
    return cookie


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_the_asgi_host_awaits_the_postgres_store_without_a_thread(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, kit: Any, clock: Any, keys: Any
) -> None:
    store: UserStore
    if kind == "postgres":
        store = request.getfixturevalue("pg_store")
    else:
        store = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    app, host = _app(kit, clock, keys, store)
    try:
        await _login_validate_logout(app, kit, clock)
    finally:
        host.close()
    if kind == "postgres":
        assert executor.submitted == 0  # login, validation, update, logout: all on the loop
    else:
        assert executor.submitted >= 4  # the blocking store: one thread hop per call
    # ...and the calls really reached the database, through whichever face.
    reopened: UserStore = (
        PostgresUserStore(dsn=request.getfixturevalue("postgres_dsn"))
        if kind == "postgres"
        else SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    )
    try:
        record = reopened.get("alice")
        assert record is not None
        assert "pika:updated" in record.roles  # the due validation's update
    finally:
        reopened.close()


async def _lifespan(app: Any, events: list[str]) -> tuple[asyncio.Task[None], Any, Any]:
    """Run ``app``'s lifespan until started; returns (task, inbox, outbox)."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])
        await outbox.put(message)

    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    )
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    return task, inbox, outbox


async def test_pools_open_on_first_use_and_the_lifespan_shutdown_closes_them(
    pg_store: Any, postgres_dsn: str, kit: Any, clock: Any, keys: Any
) -> None:
    assert _settles_at(postgres_dsn, lambda n: n == 0) == 0  # schema check done, nothing held
    app, host = _app(kit, clock, keys, pg_store)
    events: list[str] = []
    task, inbox, outbox = await _lifespan(app, events)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        signed_in = await client.get("/private", headers={"x-test-autologin": "alice"})
        assert signed_in.status_code == 200
    assert await asyncio.to_thread(_settles_at, postgres_dsn, lambda n: n >= 1) >= 1
    await inbox.put({"type": "lifespan.shutdown"})
    assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
    await task
    # The async pool is closed before the server hears the shutdown is complete,
    # and the blocking pool was never opened.
    assert await asyncio.to_thread(_settles_at, postgres_dsn, lambda n: n == 0) == 0
    # The store stays usable: its blocking face opens its own pool, close() ends it.
    assert pg_store.get("alice") is not None
    host.close()
    assert await asyncio.to_thread(_settles_at, postgres_dsn, lambda n: n == 0) == 0


def test_a_loop_that_ends_closes_its_pool(pg_store: Any, postgres_dsn: str) -> None:
    """``asyncio.run`` cancels every task at its end: the pool's guard closes it then
    (psycopg_pool's workers would otherwise keep that cancellation waiting forever).
    """
    user = ToolUserView(user_id="u1", user_type="internal-user")
    for _ in range(5):
        asyncio.run(pg_store.arecord_login(user, SOON))
    assert _settles_at(postgres_dsn, lambda n: n == 0) == 0  # no close() called
    assert asyncio.run(pg_store.aget("u1")) is not None  # a new loop, a new pool


async def test_close_on_the_pools_own_loop_ends_its_connections_at_once(
    pg_store: Any, postgres_dsn: str
) -> None:
    user = ToolUserView(user_id="u1", user_type="internal-user")
    await pg_store.arecord_login(user, SOON)
    assert await asyncio.to_thread(_settles_at, postgres_dsn, lambda n: n >= 1) >= 1
    pg_store.close()  # synchronous, on the loop: nothing here can be awaited
    assert await asyncio.to_thread(_settles_at, postgres_dsn, lambda n: n == 0) == 0
    with pytest.raises(StoreError):
        await pg_store.aget("u1")
    await asyncio.sleep(0.1)  # the pool's tasks stop in the background


def test_an_async_call_from_another_loop_takes_the_blocking_path(
    pg_store: Any, postgres_dsn: str
) -> None:
    import threading

    owner = asyncio.new_event_loop()
    thread = threading.Thread(target=owner.run_forever, daemon=True)
    thread.start()
    try:
        user = ToolUserView(user_id="u1", user_type="internal-user", first_name="Ada")
        asyncio.run_coroutine_threadsafe(pg_store.arecord_login(user, SOON), owner).result(30)
        record = asyncio.run(pg_store.aget("u1"))  # another loop: answered through a thread
        assert record is not None
        assert record.first_name == "Ada"
        until, now = SOON, SOON - timedelta(hours=1)
        assert asyncio.run(pg_store.aclaim_once("k", until, now)) is True
        claimed = asyncio.run_coroutine_threadsafe(pg_store.aclaim_once("k", until, now), owner)
        assert claimed.result(30) is False  # the owner's pool sees the same database
        pg_store.close()  # from this thread, while the owner loop runs: closed on it
        assert _settles_at(postgres_dsn, lambda n: n == 0) == 0
    finally:
        owner.call_soon_threadsafe(owner.stop)
        thread.join(timeout=10)
        owner.close()


def test_an_unreachable_database_is_a_store_error_on_the_async_face() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresUserStore(
        dsn=f"postgresql://authplug:hunter2@127.0.0.1:{port}/nowhere", timeout=1, check_schema=False
    )
    try:
        with pytest.raises(StoreError) as caught:
            asyncio.run(store.ais_session_revoked("sid", SOON))
        assert caught.value.status == 503
        assert caught.value.backend == "postgres"
        assert "hunter2" not in caught.value.message
    finally:
        store.close()
