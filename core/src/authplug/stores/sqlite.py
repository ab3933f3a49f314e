"""``SqliteUserStore``: the default user store, one SQLite file (stdlib ``sqlite3``).

* WAL journal and a busy timeout, so readers never block the writer and a
  briefly locked database is waited for instead of failing.
* A small connection pool: each call borrows a connection, so one connection
  serves one thread at a time and threads that come and go (a thread per
  request) leak nothing. ``":memory:"`` uses one shared connection behind a
  lock, since each connection would otherwise get its own empty database.
* The schema is versioned with ``PRAGMA user_version`` and migrated on open by
  :func:`migrate`, which refuses a database written by a newer authplug.
* Roles, custom data and features are JSON columns (features as named
  objects since schema version 4, which converted the lists of names of
  versions 1-3); timestamps are ISO-8601
  UTC text. There is no column for auth data.
* Revoked session ids live in ``revoked_sessions(sid, until)`` (schema
  version 2); ``until`` is fixed-width ISO-8601 UTC text with microseconds, so
  comparing the text compares the instants. Ended revocations are pruned, by
  the wall clock, whenever one is written.
* One-time keys (:meth:`SqliteUserStore.claim_once`, the SAML assertion-ID
  replay cache) live in ``one_time_keys(key, until)`` (schema version 3); one
  statement inserts or refuses, so two processes cannot both claim a key.
* Every ``sqlite3`` error becomes a :class:`~authplug.stores.base.StoreError`
  (or a :class:`~authplug.errors.ConfigError` while opening).
* Where it lives: ``store_options.path``, by default :data:`DEFAULT_PATH`
  (``authplug-users.sqlite3``) relative to the working directory of the
  process, with SQLite's ``-wal`` and ``-shm`` files next to it. Creating a
  new file is logged (INFO, ``authplug.stores``) with its absolute path.
  :func:`probe` checks the options and an existing file without creating or
  changing anything (``authplug check`` uses it).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from authplug.errors import ConfigError
from authplug.models import ToolUserView
from authplug.stores.base import StoreError, UserRecord, as_utc

__all__ = ["DEFAULT_PATH", "SCHEMA_VERSION", "SqliteUserStore", "migrate", "probe"]

DEFAULT_PATH = "authplug-users.sqlite3"
"""The database file when ``store_options.path`` is not set (relative to the working directory)."""

_log = logging.getLogger("authplug.stores")

SCHEMA_VERSION = 4
"""The schema version this code writes (``PRAGMA user_version``)."""

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the users table.
    (
        """
        CREATE TABLE IF NOT EXISTS users (
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
        """,
    ),
    # 1 -> 2: revoked session ids (logout, login over an old session); users kept.
    (
        """
        CREATE TABLE IF NOT EXISTS revoked_sessions (
            sid   TEXT PRIMARY KEY NOT NULL,
            until TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS revoked_sessions_until ON revoked_sessions (until)",
    ),
    # 2 -> 3: one-time keys (SAML assertion ids until their NotOnOrAfter); rows kept.
    (
        """
        CREATE TABLE IF NOT EXISTS one_time_keys (
            key   TEXT PRIMARY KEY NOT NULL,
            until TEXT NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS one_time_keys_until ON one_time_keys (until)",
    ),
    # 3 -> 4: features as named objects. A list of names (what versions 1-3
    # wrote) becomes each named feature switched on:
    # ["history"] -> {"history": {"type": "history", "history": true}}.
    (
        """
        UPDATE users SET features = (
            SELECT coalesce(
                json_group_object(value, json_object('type', value, value, json('true'))), '{}'
            )
            FROM json_each(users.features) WHERE json_each.type = 'text'
        )
        WHERE json_valid(features) AND json_type(features) = 'array'
        """,
    ),
)

_COLUMNS = (
    "user_id, first_name, last_name, user_type, roles, custom_data, features, "
    "first_seen, last_login"
)
_PROFILE_UPDATE = (
    "first_name = excluded.first_name, last_name = excluded.last_name, "
    "user_type = excluded.user_type, roles = excluded.roles, "
    "custom_data = excluded.custom_data, features = excluded.features"
)
_INSERT = f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_RECORD_LOGIN = (
    f"{_INSERT} ON CONFLICT(user_id) DO UPDATE SET {_PROFILE_UPDATE}, "
    "last_login = excluded.last_login"
)
_UPDATE = f"{_INSERT} ON CONFLICT(user_id) DO UPDATE SET {_PROFILE_UPDATE}"
_SELECT = f"SELECT {_COLUMNS} FROM users WHERE user_id = ?"  # noqa: S608

_PRUNE_REVOKED = "DELETE FROM revoked_sessions WHERE until <= ?"
_REVOKE = (
    "INSERT INTO revoked_sessions (sid, until) VALUES (?, ?) "
    "ON CONFLICT(sid) DO UPDATE SET until = max(until, excluded.until)"
)
_IS_REVOKED = "SELECT 1 FROM revoked_sessions WHERE sid = ? AND until > ?"

_PRUNE_KEYS = "DELETE FROM one_time_keys WHERE until <= ?"
# Inserts a new key, or takes over one whose use has ended; a live key is left alone.
_CLAIM = (
    "INSERT INTO one_time_keys (key, until) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET until = excluded.until WHERE one_time_keys.until <= ?"
)

_MEMORY = ":memory:"
_MAX_IDLE = 8
"""Idle connections kept for reuse; more are opened under load and closed after."""


def _describe(exc: sqlite3.Error) -> str:
    """Name a sqlite3 error without any user data (sqlite never echoes bound values)."""
    name = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
    return f"{name}: {exc}"


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database behind ``conn`` (in autocommit mode) to :data:`SCHEMA_VERSION`.

    Each step runs in its own ``BEGIN IMMEDIATE`` transaction and re-reads the
    version inside it, so two processes opening the same new file do not both
    migrate it. Returns the version found before migrating.

    :raises ConfigError: the database was written by a newer schema version.
    """
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    _check_version(found)
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            _check_version(version)
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return found
            for statement in _MIGRATIONS[version]:
                conn.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _instant(moment: datetime) -> str:
    """``moment`` as fixed-width UTC text (``2024-05-01T12:00:00.000000+00:00``)."""
    return as_utc(moment).isoformat(timespec="microseconds")


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION or version < 0:
        raise ConfigError(
            f"store_options.path: the user database has schema version {version}, "
            f"this authplug understands up to {SCHEMA_VERSION} (upgrade authplug, "
            "or point the store at another file)"
        )


def probe(*, path: str | os.PathLike[str] = DEFAULT_PATH, busy_timeout: int | str = 5000) -> str:
    """Check a SQLite store's options without creating or changing anything; say where it is.

    An existing file is opened read-only and immutable (no lock, no
    ``-wal``/``-shm`` file created) to read its schema version; a missing
    one only needs an existing directory (the store creates the file when
    the application starts).

    :param path: As for :class:`SqliteUserStore`.
    :param busy_timeout: As for :class:`SqliteUserStore`.
    :returns: A one-line description: the absolute path and whether it exists.
    :raises ConfigError: an option is invalid, the directory is missing, the
        file is not a user database or has a newer schema version.
    """
    _timeout_ms(busy_timeout)
    name = os.fspath(path)
    if name == _MEMORY:
        return "in memory (private to the process)"
    file = Path(name).absolute()
    if not file.exists():
        if not file.parent.is_dir():
            raise ConfigError(f"store_options.path: the directory of {name!r} does not exist")
        return f"{file} (created when the application starts)"
    try:
        conn = sqlite3.connect(f"{file.as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(
            f"store_options.path: cannot open {name!r} as a user database ({_describe(exc)})"
        ) from None
    _check_version(version)
    return f"{file} (exists, schema version {version})"


def _timeout_ms(value: int | str) -> int:
    try:
        timeout = int(value)
    except (TypeError, ValueError):
        raise ConfigError("store_options.busy_timeout: not an integer (milliseconds)") from None
    if not 0 <= timeout <= 600_000:
        raise ConfigError("store_options.busy_timeout: must be between 0 and 600000 ms")
    return timeout


class SqliteUserStore:
    """Keep user records in a SQLite file (entry point ``sqlite``).

    :param path: The database file (created when missing; its directory must
        exist), or ``":memory:"`` for a private in-memory database.
    :param busy_timeout: Milliseconds to wait for a lock held by another
        connection before failing with :class:`StoreError`.
    :raises ConfigError: the file cannot be opened as a database, or holds a
        newer schema version.
    """

    def __init__(
        self,
        *,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        busy_timeout: int | str = 5000,
    ) -> None:
        self._path = os.fspath(path)
        self._busy_timeout = _timeout_ms(busy_timeout)
        self._lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._shared: sqlite3.Connection | None = None
        memory = self._path == _MEMORY
        if not memory and not Path(self._path).parent.is_dir():
            raise ConfigError(f"store_options.path: the directory of {self._path!r} does not exist")
        created = not memory and not Path(self._path).exists()
        try:
            conn = self._open()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"store_options.path: cannot open {self._path!r} as a user database "
                f"({_describe(exc)})"
            ) from None
        try:
            migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise ConfigError(
                f"store_options.path: cannot open {self._path!r} as a user database "
                f"({_describe(exc)})"
            ) from None
        except BaseException:
            conn.close()
            raise
        if memory:
            self._shared = conn
        else:
            self._idle.append(conn)
        if created:
            _log.info("authplug: created the user database %s", os.path.abspath(self._path))

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    @classmethod
    def migrate_schema(cls, **options: Any) -> tuple[int, int]:
        """Bring the file to :data:`SCHEMA_VERSION` (``authplug migrate``); return ``(found, now)``.

        Opening a store migrates it as well; this reports the version found first.
        """
        path = os.fspath(options.get("path", "authplug-users.sqlite3"))
        if path != _MEMORY and not Path(path).parent.is_dir():
            raise ConfigError(f"store_options.path: the directory of {path!r} does not exist")
        try:
            conn = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"store_options.path: cannot open {path!r} ({_describe(exc)})"
            ) from None
        try:
            return migrate(conn), SCHEMA_VERSION
        except sqlite3.Error as exc:
            raise ConfigError(
                f"store_options.path: cannot migrate {path!r} ({_describe(exc)})"
            ) from None
        finally:
            conn.close()

    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        with self._connection() as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path,
            timeout=self._busy_timeout / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout:d}")
            if self._path != _MEMORY:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _closed_error(self) -> StoreError:
        return StoreError("the user store is closed", code="store_closed", backend="sqlite")

    def _acquire(self) -> sqlite3.Connection:
        """An idle pooled connection, or a new one (a connection serves one thread at a time)."""
        with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._idle:
                return self._idle.pop()
        return self._open()

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if not self._closed and not conn.in_transaction and len(self._idle) < _MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one statement, with sqlite3 errors turned into StoreError."""
        shared = self._shared
        if shared is not None:
            with self._lock:
                if self._closed:
                    raise self._closed_error()
                try:
                    yield shared
                except sqlite3.Error as exc:
                    raise StoreError(
                        f"sqlite user store failed ({_describe(exc)})", backend="sqlite"
                    ) from None
            return
        try:
            conn = self._acquire()
        except sqlite3.Error as exc:
            raise StoreError(
                f"sqlite user store failed ({_describe(exc)})", backend="sqlite"
            ) from None
        try:
            yield conn
        except sqlite3.Error as exc:
            raise StoreError(
                f"sqlite user store failed ({_describe(exc)})", backend="sqlite"
            ) from None
        finally:
            self._release(conn)

    @staticmethod
    def _row(user: ToolUserView, first_seen: datetime, last_login: datetime) -> tuple[Any, ...]:
        return (
            user.user_id,
            user.first_name,
            user.last_name,
            user.user_type,
            json.dumps(list(user.roles)),
            json.dumps(dict(user.custom_data)) if user.custom_data is not None else None,
            json.dumps({name: f.model_dump() for name, f in user.features.items()}),
            as_utc(first_seen).isoformat(),
            as_utc(last_login).isoformat(),
        )

    def record_login(self, user: ToolUserView, now: datetime) -> None:
        """Insert ``user`` or refresh its profile; set ``last_login`` to ``now``."""
        with self._connection() as conn:
            conn.execute(_RECORD_LOGIN, self._row(user, now, now))

    def update(self, user: ToolUserView, now: datetime) -> None:
        """Replace ``user``'s profile, keeping its timestamps (create when missing)."""
        with self._connection() as conn:
            conn.execute(_UPDATE, self._row(user, now, now))

    def get(self, user_id: str) -> UserRecord | None:
        """Return the record of ``user_id`` or ``None``."""
        with self._connection() as conn:
            row = conn.execute(_SELECT, (user_id,)).fetchone()
        if row is None:
            return None
        try:
            return UserRecord(
                user_id=row[0],
                first_name=row[1],
                last_name=row[2],
                user_type=row[3],
                roles=json.loads(row[4]),
                custom_data=json.loads(row[5]) if row[5] is not None else None,
                features=json.loads(row[6]),
                first_seen=datetime.fromisoformat(row[7]),
                last_login=datetime.fromisoformat(row[8]),
            )
        except (ValueError, TypeError, ValidationError):
            raise StoreError(
                "user store holds an unreadable row (corrupt JSON or timestamp)",
                code="store_corrupt",
            ) from None

    def revoke_session(self, sid: str, until: datetime) -> None:
        """Record ``sid`` as revoked until ``until``; drop revocations ended by the wall clock.

        One ``BEGIN IMMEDIATE`` transaction: the prune and the insert commit together.
        """
        now = _instant(datetime.now(UTC))
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_PRUNE_REVOKED, (now,))
                conn.execute(_REVOKE, (sid, _instant(until)))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        """Whether ``sid`` is revoked at ``now`` (one primary-key lookup)."""
        with self._connection() as conn:
            row = conn.execute(_IS_REVOKED, (sid, _instant(now))).fetchone()
        return row is not None

    def claim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """Record ``key`` as used until ``until``; ``False`` when it already is at ``now``.

        One ``BEGIN IMMEDIATE`` transaction: ended keys are pruned and the key
        is inserted (or an ended one taken over) by a single upsert whose
        row count says whether this call claimed it.
        """
        at = _instant(now)
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(_PRUNE_KEYS, (at,))
                claimed = conn.execute(_CLAIM, (key, _instant(until), at)).rowcount == 1
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return claimed

    def close(self) -> None:
        """Close the pooled connections; later calls raise StoreError.

        A connection in use by another thread is closed when that call ends.
        """
        with self._lock:
            self._closed = True
            connections, self._idle = self._idle, []
            if self._shared is not None:
                connections.append(self._shared)
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:  # closing is best effort at shutdown
                continue
