"""The store contract suite's fixture: every built-in store, PostgreSQL on a real server.

``test_user_store.py`` and ``test_claim_once.py`` are the one contract every
store passes; the PostgreSQL store runs against ``tests/services.py``'s
server, a fresh database per test, migrated as ``authplug migrate`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from authplug.stores import UserStore
from authplug.stores.memory import MemoryUserStore
from authplug.stores.sqlite import SqliteUserStore


@pytest.fixture(params=["memory", "sqlite-file", "sqlite-memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UserStore]:
    """Each built-in store, empty."""
    if request.param == "memory":
        made: UserStore = MemoryUserStore()
    elif request.param == "sqlite-file":
        made = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    elif request.param == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        from authplug.stores.postgres import PostgresUserStore

        PostgresUserStore.migrate_schema(dsn=dsn)
        made = PostgresUserStore(dsn=dsn)
    else:
        made = SqliteUserStore(path=":memory:")
    yield made
    made.close()
