"""What only the PostgreSQL store does: explicit migrations, start-up checks, typed failures.

Runs against a real PostgreSQL (``tests/services.py``); the shared contract
is in ``test_user_store.py``.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest

from authplug.errors import ConfigError
from authplug.models import ToolUserView
from authplug.stores import StoreError

psycopg = pytest.importorskip("psycopg", reason="authplug[postgres] is not installed")

from authplug.stores.postgres import (  # noqa: E402
    MIGRATIONS,
    SCHEMA_VERSION,
    PostgresUserStore,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _user(user_id: str = "u1") -> ToolUserView:
    return ToolUserView(user_id=user_id, user_type="internal-user", roles=("a",))


def _apply(dsn: str, version: int) -> None:
    """Put a fresh database at schema ``version`` as an older authplug left it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            b"CREATE TABLE authplug_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        for step in MIGRATIONS[:version]:
            for statement in step:
                conn.execute(statement.encode())
        conn.execute(b"INSERT INTO authplug_schema VALUES ('store', %s)", (version,))
        if version >= 1:
            conn.execute(
                b"INSERT INTO users (user_id, user_type, first_seen, last_login) "
                b"VALUES ('old', 'external-user', now(), now())"
            )


def test_a_fresh_database_is_refused_until_migrated(postgres_dsn: str) -> None:
    with pytest.raises(ConfigError, match=r"version 0.*run `authplug migrate`"):
        PostgresUserStore(dsn=postgres_dsn)
    with psycopg.connect(postgres_dsn) as conn:  # start-up created nothing
        assert conn.execute(b"SELECT to_regclass('users')").fetchone() == (None,)
    assert PostgresUserStore.migrate_schema(dsn=postgres_dsn) == (0, SCHEMA_VERSION)
    assert PostgresUserStore.migrate_schema(dsn=postgres_dsn) == (SCHEMA_VERSION, SCHEMA_VERSION)
    store = PostgresUserStore(dsn=postgres_dsn)
    try:
        assert store.schema_version() == SCHEMA_VERSION
    finally:
        store.close()


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_migration_from_each_earlier_version_keeps_users(postgres_dsn: str, version: int) -> None:
    _apply(postgres_dsn, version)
    with pytest.raises(ConfigError, match=f"version {version}.*authplug migrate"):
        PostgresUserStore(dsn=postgres_dsn)
    assert PostgresUserStore.migrate_schema(dsn=postgres_dsn) == (version, SCHEMA_VERSION)
    store = PostgresUserStore(dsn=postgres_dsn)
    try:
        old = store.get("old")
        assert old is not None
        assert old.user_type == "external-user"
        store.revoke_session("sid-after-migration", T0 + timedelta(days=365 * 100))
        assert store.is_session_revoked("sid-after-migration", T0)
    finally:
        store.close()


def test_a_newer_schema_is_refused(postgres_dsn: str) -> None:
    PostgresUserStore.migrate_schema(dsn=postgres_dsn)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(b"UPDATE authplug_schema SET version = 99 WHERE component = 'store'")
    with pytest.raises(ConfigError, match=r"version 99.*upgrade authplug"):
        PostgresUserStore(dsn=postgres_dsn)
    with pytest.raises(ConfigError, match="upgrade authplug"):
        PostgresUserStore.migrate_schema(dsn=postgres_dsn)


def test_concurrent_migrations_apply_each_step_once(postgres_dsn: str) -> None:
    results: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(PostgresUserStore.migrate_schema(dsn=postgres_dsn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(now == SCHEMA_VERSION for _, now in results)
    assert sorted(found for found, _ in results)[0] == 0


def test_no_column_can_hold_auth_data(postgres_dsn: str) -> None:
    PostgresUserStore.migrate_schema(dsn=postgres_dsn)
    with psycopg.connect(postgres_dsn) as conn:
        columns = {
            str(row[0])
            for row in conn.execute(
                b"SELECT column_name FROM information_schema.columns WHERE table_name = 'users'"
            )
        }
    assert not any("auth" in c or "token" in c for c in columns)


def test_an_unreachable_database_is_a_store_error_naming_postgres() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dsn = f"host=127.0.0.1 port={port} user=u dbname=d password=hunter2"
    with pytest.raises(StoreError) as caught:
        PostgresUserStore(dsn=dsn, timeout=1)
    assert caught.value.backend == "postgres"
    assert caught.value.status == 503
    assert "hunter2" not in caught.value.message


def test_bad_dsn_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        PostgresUserStore(dsn="host=x password=hunter2 = =")
    assert "hunter2" not in caught.value.message


def test_missing_dsn_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="AUTHPLUG_STORE_OPTIONS__DSN"):
        PostgresUserStore()


@pytest.mark.parametrize(
    ("name", "value"), [("max_size", "0"), ("timeout", "x"), ("min_size", "-1")]
)
def test_bad_pool_options_are_config_errors(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"store_options.{name}"):
        PostgresUserStore(dsn="host=127.0.0.1", **{name: value})
