"""SQLite specifics: file layout, WAL, schema versioning, reopening, wrapped errors."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authplug.errors import AuthplugError, ConfigError
from authplug.models import AuthenticatedUser, ToolUserView
from authplug.stores import StoreError
from authplug.stores.sqlite import SCHEMA_VERSION, SqliteUserStore, migrate

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNlY3JldA"


def _login(store: SqliteUserStore, user_id: str = "u1") -> None:
    user: AuthenticatedUser[dict[str, str], dict[str, str]] = AuthenticatedUser(
        user_id=user_id,
        first_name="Ada",
        user_type="external-user",
        roles=("pika:reader",),
        custom_data={"company": "Analytical Engines"},
        auth_data={"access_token": TOKEN, "refresh_token": "REFRESH-SECRET"},
    )
    store.record_login(user.tool_view(), T0)


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path)


def test_file_holds_custom_data_and_no_auth_column(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path))
    _login(store)
    store.close()
    conn = _raw(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
        rows = conn.execute("SELECT * FROM users").fetchall()
    finally:
        conn.close()
    assert columns == [
        "user_id",
        "first_name",
        "last_name",
        "user_type",
        "roles",
        "custom_data",
        "features",
        "first_seen",
        "last_login",
    ]
    assert not [c for c in columns if "auth" in c or "token" in c]
    assert len(rows) == 1
    row = dict(zip(columns, rows[0], strict=True))
    assert json.loads(row["custom_data"]) == {"company": "Analytical Engines"}
    assert json.loads(row["roles"]) == ["pika:reader"]
    assert row["first_seen"] == "2024-05-01T12:00:00+00:00"
    for value in rows[0]:
        assert TOKEN not in str(value)
        assert "REFRESH-SECRET" not in str(value)
    assert TOKEN.encode() not in path.read_bytes()


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    SqliteUserStore(path=str(path)).close()
    conn = _raw(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_reopening_keeps_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "users.sqlite3")
    store = SqliteUserStore(path=path)
    _login(store)
    store.close()
    again = SqliteUserStore(path=path)
    try:
        record = again.get("u1")
        assert record is not None
        assert record.first_seen == T0
        assert record.custom_data == {"company": "Analytical Engines"}
    finally:
        again.close()


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    conn = _raw(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}"):
        SqliteUserStore(path=str(path))


def test_migrate_reports_the_version_found_and_is_idempotent() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        assert migrate(conn) == 0
        assert migrate(conn) == SCHEMA_VERSION
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    path.write_bytes(b"this is not a sqlite database, just text" * 100)
    with pytest.raises(ConfigError, match="cannot open"):
        SqliteUserStore(path=str(path))


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        SqliteUserStore(path=str(tmp_path / "nope" / "users.sqlite3"))


@pytest.mark.parametrize("value", ["soon", -1, 10**9])
def test_bad_busy_timeout_is_a_config_error(value: int | str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="busy_timeout"):
        SqliteUserStore(path=str(tmp_path / "u.sqlite3"), busy_timeout=value)


def test_options_from_the_environment_are_strings(tmp_path: Path) -> None:
    store = SqliteUserStore(path=str(tmp_path / "u.sqlite3"), busy_timeout="250")
    store.close()


def test_locked_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path), busy_timeout=0)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError) as info:
            _login(store)
        assert isinstance(info.value, AuthplugError)
        assert info.value.status == 503
        assert "SQLITE_BUSY" in info.value.message
        assert info.value.__cause__ is None
        assert TOKEN not in str(info.value)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    _login(store)
    assert store.get("u1") is not None
    store.close()


def test_corrupt_row_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path))
    _login(store)
    conn = _raw(path)
    conn.execute("UPDATE users SET roles = 'not json'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="unreadable"):
        store.get("u1")
    store.close()


def test_memory_databases_are_private() -> None:
    one, two = SqliteUserStore(path=":memory:"), SqliteUserStore(path=":memory:")
    _login(one)
    assert one.get("u1") is not None
    assert two.get("u1") is None
    one.close()
    two.close()


def test_default_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = SqliteUserStore()
    store.close()
    assert (tmp_path / "authplug-users.sqlite3").is_file()
    assert store.path == "authplug-users.sqlite3"


def test_short_lived_threads_leak_no_connections(tmp_path: Path) -> None:
    """A thread per request (Flask's dev server) must not pile up open connections."""
    import threading

    store = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    for n in range(40):
        thread = threading.Thread(target=_login, args=(store, f"u{n}"))
        thread.start()
        thread.join()
    assert len(store._idle) <= 8  # the pool, not one connection per finished thread
    assert store.get("u39") is not None
    store.close()
    assert store._idle == []


# -- schema version 2: revoked sessions -----------------------------------------------

V1_USERS = """
CREATE TABLE users (
    user_id     TEXT PRIMARY KEY NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    user_type   TEXT NOT NULL,
    roles       TEXT NOT NULL DEFAULT '[]',
    custom_data TEXT,
    features    TEXT NOT NULL DEFAULT '[]',
    first_seen  TEXT NOT NULL,
    last_login  TEXT NOT NULL
)
"""


def _make_v1_file(path: Path) -> None:
    """A database as authplug with schema version 1 left it, holding one user."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(V1_USERS)
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                "legacy",
                "Grace",
                "Hopper",
                "internal-user",
                '["pika:admin"]',
                '{"team": "compilers"}',
                '["history"]',
                "2023-01-02T03:04:05+00:00",
                "2024-01-02T03:04:05+00:00",
            ),
        )
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()


def test_version_1_file_is_migrated_and_keeps_its_users(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    _make_v1_file(path)
    store = SqliteUserStore(path=str(path))
    try:
        record = store.get("legacy")
        assert record is not None
        assert record.first_name == "Grace"
        assert record.roles == ("pika:admin",)
        assert record.custom_data == {"team": "compilers"}
        assert record.first_seen == datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
        until = datetime.now(UTC) + timedelta(days=1)
        store.revoke_session("sid-after-migration", until)
        assert store.is_session_revoked("sid-after-migration", datetime.now(UTC))
        _login(store, "new-user")
        assert store.get("new-user") is not None
    finally:
        store.close()
    conn = _raw(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        columns = [row[1] for row in conn.execute("PRAGMA table_info(revoked_sessions)")]
        assert columns == ["sid", "until"]
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    finally:
        conn.close()


def test_migrate_from_version_1_reports_1() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute(V1_USERS)
        conn.execute("PRAGMA user_version = 1")
        assert migrate(conn) == 1
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "revoked_sessions" in tables
    finally:
        conn.close()


def test_revocations_are_shared_by_stores_on_one_file(tmp_path: Path) -> None:
    path = str(tmp_path / "users.sqlite3")
    one, two = SqliteUserStore(path=path), SqliteUserStore(path=path)
    try:
        until = datetime.now(UTC) + timedelta(days=1)
        one.revoke_session("sid-shared", until)
        assert two.is_session_revoked("sid-shared", datetime.now(UTC))
    finally:
        one.close()
        two.close()


def test_revocation_deadline_is_fixed_width_utc_text(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path))
    until = datetime(2999, 1, 1, 0, 0, tzinfo=UTC)
    store.revoke_session("sid-text", until)
    store.close()
    conn = _raw(path)
    try:
        rows = conn.execute("SELECT sid, until FROM revoked_sessions").fetchall()
    finally:
        conn.close()
    assert rows == [("sid-text", "2999-01-01T00:00:00.000000+00:00")]


def test_locked_database_at_revocation_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path), busy_timeout=0)
    blocker = sqlite3.connect(path, isolation_level=None)
    until = datetime.now(UTC) + timedelta(days=1)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="SQLITE_BUSY"):
            store.revoke_session("sid-locked", until)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.revoke_session("sid-locked", until)
    assert store.is_session_revoked("sid-locked", datetime.now(UTC))
    store.close()


# -- schema version 4: features as named objects ---------------------------------------

T_OLD = "2023-01-02T03:04:05+00:00"


def test_features_lists_of_old_files_become_named_objects(tmp_path: Path) -> None:
    """Issue #9 item 7: a version-1..3 file's feature names migrate to feature objects."""
    path = tmp_path / "users.sqlite3"
    _make_v1_file(path)  # "legacy" has features ["history"]
    conn = _raw(path)
    try:
        conn.execute(
            "INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("bare", "", "", "external-user", "[]", None, "[]", T_OLD, T_OLD),
        )
        conn.commit()
    finally:
        conn.close()
    store = SqliteUserStore(path=str(path))
    try:
        legacy = store.get("legacy")
        assert legacy is not None
        assert legacy.features["history"].model_dump() == {"type": "history", "history": True}
        bare = store.get("bare")
        assert bare is not None
        assert bare.features == {}
    finally:
        store.close()
    conn = _raw(path)
    try:
        stored = dict(conn.execute("SELECT user_id, features FROM users").fetchall())
    finally:
        conn.close()
    assert json.loads(stored["legacy"]) == {"history": {"type": "history", "history": True}}
    assert json.loads(stored["bare"]) == {}


def test_feature_objects_round_trip(tmp_path: Path) -> None:
    store = SqliteUserStore(path=str(tmp_path / "users.sqlite3"))
    features = {
        "instruction": {"type": "instruction", "instruction": "Answer in German."},
        "history": {"type": "history", "history": True},
    }
    try:
        user = ToolUserView.model_validate(
            {"user_id": "f", "user_type": "internal-user", "features": features}
        )
        store.record_login(user, datetime.now(UTC))
        record = store.get("f")
        assert record is not None
        assert {k: v.model_dump() for k, v in record.features.items()} == features
        assert record.features["instruction"].instruction == "Answer in German."  # type: ignore[attr-defined]
    finally:
        store.close()


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_migration_from_each_earlier_version(tmp_path: Path, version: int) -> None:
    """``authplug migrate`` (``migrate_schema``) from every earlier version keeps the users."""
    from authplug.stores.sqlite import _MIGRATIONS

    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for step in _MIGRATIONS[:version]:
            for statement in step:
                conn.execute(statement)
        if version >= 1:
            conn.execute(
                "INSERT INTO users (user_id, user_type, first_seen, last_login) "
                "VALUES ('old', 'external-user', '2024-01-01T00:00:00+00:00', "
                "'2024-01-01T00:00:00+00:00')"
            )
        conn.execute(f"PRAGMA user_version = {version:d}")
    assert SqliteUserStore.migrate_schema(path=str(path)) == (version, SCHEMA_VERSION)
    assert SqliteUserStore.migrate_schema(path=str(path)) == (SCHEMA_VERSION, SCHEMA_VERSION)
    store = SqliteUserStore(path=str(path))
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert (store.get("old") is not None) is (version >= 1)
        assert store.claim_once("k", datetime(2100, 1, 1, tzinfo=UTC), datetime.now(UTC))
    finally:
        store.close()
