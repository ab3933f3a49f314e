"""The store contract suite's fixture: every built-in store, PostgreSQL on a real server.

``test_user_store.py`` and ``test_claim_once.py`` are the one contract every
store passes; the PostgreSQL store runs against ``tests/services.py``'s
server, a fresh database per test, migrated as ``authplug migrate`` does.
It runs twice: through its blocking methods (``postgres``) and through its
async ones (``postgres-async``: :class:`AsyncFace` awaits ``arecord_login``,
``aget``... on an event loop in its own thread, as the ASGI host does, so
the contract's threads become concurrent coroutines on one async pool).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from authplug.models import ToolUserView
from authplug.stores import UserStore
from authplug.stores.base import AsyncUserStore, UserRecord
from authplug.stores.memory import MemoryUserStore
from authplug.stores.sqlite import SqliteUserStore

T = TypeVar("T")


class AsyncFace:
    """A store's async methods behind the blocking ``UserStore`` face (for the contract).

    Every call is awaited on one event loop running in its own thread; closing
    closes the store from the caller's thread while that loop still runs.
    """

    def __init__(self, store: Any) -> None:
        assert isinstance(store, AsyncUserStore)
        self.store = store
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _await(self, call: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=60)

    def record_login(self, user: ToolUserView, now: datetime) -> None:
        self._await(self.store.arecord_login(user, now))

    def update(self, user: ToolUserView, now: datetime) -> None:
        self._await(self.store.aupdate(user, now))

    def get(self, user_id: str) -> UserRecord | None:
        return self._await(self.store.aget(user_id))

    def revoke_session(self, sid: str, until: datetime) -> None:
        self._await(self.store.arevoke_session(sid, until))

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        return self._await(self.store.ais_session_revoked(sid, now))

    def claim_once(self, key: str, until: datetime, now: datetime) -> bool:
        return self._await(self.store.aclaim_once(key, until, now))

    def close(self) -> None:
        self.store.close()

    def stop(self) -> None:
        self.store.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(params=["memory", "sqlite-file", "sqlite-memory", "postgres", "postgres-async"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserStore]:
    """Each built-in store, empty."""
    if request.param == "memory":
        made: UserStore = MemoryUserStore()
    elif request.param == "sqlite-file":
        made = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    elif request.param.startswith("postgres"):
        dsn = request.getfixturevalue("postgres_dsn")
        from authplug.stores.postgres import PostgresUserStore

        PostgresUserStore.migrate_schema(dsn=dsn)
        made = PostgresUserStore(dsn=dsn)
        if request.param == "postgres-async":
            face = AsyncFace(made)
            yield face
            face.stop()
            return
    else:
        made = SqliteUserStore(path=":memory:")
    yield made
    made.close()
