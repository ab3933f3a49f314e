"""``SqliteCoordination``: leases, results and revocations in one SQLite file (one machine).

For several workers on one machine without a database server: every worker
opens the same file (``coordination_options.path``). Leases and results are
rows with a wall-clock expiry; a holder killed with ``kill -9`` is released
when its row expires. Revocations are appended to a log that a daemon thread
in each process reads every 50 ms (so another worker refuses a logged-out
cookie within about 50 ms; the user store stays the durable fallback).
The file's tables are created when it is opened, as the SQLite user store's are;
:func:`probe` (what ``authplug check`` uses) reads the options and an existing
file without creating or changing anything.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from authplug.coordination.base import (
    MAX_RESULT_TTL,
    CoordinationError,
    Lease,
    RevocationListener,
    float_option,
    str_option,
)
from authplug.errors import ConfigError

__all__ = ["SqliteCoordination", "probe"]

_log = logging.getLogger("authplug.coordination")
T = TypeVar("T")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, "
    "expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
    "expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS revocations (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "sid TEXT NOT NULL, until REAL NOT NULL, at REAL NOT NULL)",
)
_POLL = 0.005
_LISTEN_POLL = 0.05
_LOG_KEEP = 600.0
"""Seconds a revocation stays in the log (the store keeps it for good)."""
DEFAULT_PATH = "authplug-coordination.sqlite3"


def _options(options: dict[str, Any]) -> tuple[str, float, float]:
    """``(path, lease_ttl, busy_timeout)`` from the backend's options, checked.

    :raises ConfigError: an unknown option, a value out of range, or a path
        whose directory does not exist.
    """
    path = os.fspath(str_option(options, "path", DEFAULT_PATH))
    lease_ttl = float_option(options, "lease_ttl", 10, 1, 300)
    busy = float_option(options, "busy_timeout", 5, 0.1, 600)
    if options:
        raise ConfigError(
            f"coordination_options: not accepted by the sqlite backend: "
            f"{', '.join(sorted(options))}"
        )
    if not Path(path).parent.is_dir():
        raise ConfigError(f"coordination_options.path: the directory of {path!r} does not exist")
    return path, lease_ttl, busy


def probe(**options: Any) -> tuple[str, float]:
    """Check the backend's options and file without creating or changing anything.

    An existing file is opened read-only and immutable (no lock, no
    ``-wal``/``-shm`` file created) and must be a SQLite database; a missing
    one only needs an existing directory (each worker creates it when the
    application starts).

    :param options: As for :class:`SqliteCoordination`.
    :returns: ``(description, lease_ttl)``: a one-line description naming the
        absolute path and whether the file exists, and the configured lease time.
    :raises ConfigError: an option is invalid, the directory is missing, or
        the file is not a SQLite database.
    """
    path, lease_ttl, _ = _options(dict(options))
    file = Path(path).absolute()
    where = f"sqlite {sqlite3.sqlite_version} at {file}"
    if not file.exists():
        return f"{where} (created when the application starts)", lease_ttl
    try:
        conn = sqlite3.connect(f"{file.as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            names = {
                str(row[0])
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(
            f"coordination_options.path: cannot open {path!r} as a SQLite database "
            f"({type(exc).__name__})"
        ) from None
    if {"leases", "results", "revocations"} <= names:
        return f"{where} (exists)", lease_ttl
    return f"{where} (exists; its tables are created when the application starts)", lease_ttl


class SqliteCoordination:
    """The ``sqlite`` backend.

    Options: ``path`` (default ``authplug-coordination.sqlite3``; its
    directory must exist), ``lease_ttl`` (seconds, default 10),
    ``busy_timeout`` (seconds, default 5).

    :raises ConfigError: an unknown option, a missing directory, or a file
        that is not a database.
    """

    name = "sqlite"
    shared = True

    def __init__(self, **options: Any) -> None:
        self._path, self.lease_ttl, self._busy = _options(options)
        self._lock = threading.Lock()
        self._closed = False
        self._listeners: list[RevocationListener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self._conn = sqlite3.connect(
                self._path, timeout=self._busy, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode = WAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"coordination_options.path: cannot open {self._path!r} ({type(exc).__name__})"
            ) from None

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise CoordinationError("the sqlite coordination is closed", backend=self.name)
            try:
                yield self._conn
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise CoordinationError(
                    f"sqlite coordination failed ({type(exc).__name__}: {exc})", backend=self.name
                ) from None

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._db() as conn:
            conn.execute("BEGIN IMMEDIATE")
            result = fn(conn)
            conn.execute("COMMIT")
            return result

    def try_lease(self, key: str) -> Lease | None:
        """Insert the lease row unless a live one exists."""
        token = secrets.token_urlsafe(16)

        def take(conn: sqlite3.Connection) -> bool:
            now = time.time()
            conn.execute("DELETE FROM leases WHERE key = ? AND expires_at <= ?", (key, now))
            cursor = conn.execute(
                "INSERT OR IGNORE INTO leases (key, token, expires_at) VALUES (?, ?, ?)",
                (key, token, now + self.lease_ttl),
            )
            return cursor.rowcount == 1

        return Lease(key, token) if self._write(take) else None

    def release(self, lease: Lease) -> None:
        """Delete the lease row if the token is still ours."""
        self._write(
            lambda conn: conn.execute(
                "DELETE FROM leases WHERE key = ? AND token = ?", (lease.key, lease.token)
            )
        )

    def wait_released(self, key: str, timeout: float) -> None:
        """Look every 5 ms whether the lease row is gone or expired."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._db() as conn:
                row = conn.execute(
                    "SELECT 1 FROM leases WHERE key = ? AND expires_at > ?", (key, time.time())
                ).fetchone()
            if row is None:
                return
            time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """Upsert the result row; prune expired ones."""

        def put(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("DELETE FROM results WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT OR REPLACE INTO results (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, now + min(ttl, MAX_RESULT_TTL)),
            )

        self._write(put)

    def get_result(self, key: str) -> str | None:
        """The unexpired value kept under ``key``."""
        with self._db() as conn:
            row = conn.execute(
                "SELECT value FROM results WHERE key = ? AND expires_at > ?", (key, time.time())
            ).fetchone()
        return str(row[0]) if row is not None else None

    def publish_revocation(self, sid: str, until: float) -> None:
        """Append to the revocation log (entries older than 10 minutes are pruned)."""

        def append(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("DELETE FROM revocations WHERE at <= ?", (now - _LOG_KEEP,))
            conn.execute(
                "INSERT INTO revocations (sid, until, at) VALUES (?, ?, ?)", (sid, until, now)
            )

        self._write(append)

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Add ``listener``; the first call starts the log reader from the log's current end."""
        with self._db() as conn:
            row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM revocations").fetchone()
            self._listeners.append(listener)
            if self._thread is not None:
                return
            start = int(row[0])
            self._thread = threading.Thread(
                target=self._listen, args=(start,), name="authplug-sqlite-revocations", daemon=True
            )
            self._thread.start()

    def catch_up(self) -> None:
        """Not implemented for this backend: the log reader thread delivers within
        about 50 ms (a logged-out cookie may be accepted by another worker in
        that window)."""

    def _listen(self, last: int) -> None:
        while not self._stop.wait(_LISTEN_POLL):
            try:
                with self._db() as conn:
                    rows = conn.execute(
                        "SELECT id, sid, until FROM revocations WHERE id > ? ORDER BY id", (last,)
                    ).fetchall()
            except CoordinationError as exc:
                if not self._stop.is_set():
                    _log.warning("sqlite revocation reader: %s", exc.message)
                continue
            for row_id, sid, until in rows:
                last = int(row_id)
                for listener in list(self._listeners):
                    listener(str(sid), float(until))

    def check(self) -> str:
        """The file and SQLite's version."""
        with self._db() as conn:
            conn.execute("SELECT COUNT(*) FROM leases").fetchone()
        return f"sqlite {sqlite3.sqlite_version} at {self._path}"

    def close(self) -> None:
        """Stop the reader and close the file."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        with self._lock:
            self._closed = True
            self._conn.close()
