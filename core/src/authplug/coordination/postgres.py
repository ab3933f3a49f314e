"""``PostgresCoordination``: advisory-lock leases, a results table, ``LISTEN/NOTIFY`` revocations.

Install with ``pip install 'authplug[postgres]'``; select with
``coordination = "postgres"`` and ``coordination_options.dsn`` (often the
store's database). Its one table is versioned as the ``coordination``
component of ``authplug_schema`` and created by ``authplug migrate``, never
at start-up.

* A lease is ``pg_try_advisory_xact_lock`` inside a transaction held open on
  a pooled connection, with ``idle_in_transaction_session_timeout`` set to
  the lease time: releasing commits; a holder killed with ``kill -9`` drops
  its connection and the server releases the lock at once; a holder that
  hangs is cut off by the server when the lease time passes.
* Waiting for a lease blocks on ``pg_advisory_xact_lock_shared`` with a
  ``lock_timeout``, so a waiter wakes the moment the holder releases.
* Results live in the ``UNLOGGED`` table ``authplug_handoff`` with an
  expiry (at most 60 s), pruned on every write; values are sealed by the
  caller.
* Revocations are ``pg_notify('authplug_revoked', ...)``; a daemon thread
  ``LISTEN``\\ s on its own connection and reconnects with back-off after a
  server restart. :meth:`PostgresCoordination.catch_up`, called before every
  session check, delivers in the request's own thread the notifications
  already on that connection's socket (a zero-timeout ``epoll``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import PoolClosed, PoolTimeout

from authplug.coordination.base import (
    MAX_RESULT_TTL,
    CoordinationError,
    Lease,
    RevocationListener,
    float_option,
    str_option,
)
from authplug.coordination.readiness import Readable
from authplug.errors import ConfigError
from authplug.stores.pg_schema import check_component, migrate_component, read_version
from authplug.stores.postgres import describe_pg_error, open_pool

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresCoordination"]

_log = logging.getLogger("authplug.coordination")

_COMPONENT = "coordination"
_SETTING = "coordination_options.dsn"
_CHANNEL = "authplug_revoked"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: handed-off refresh results (sealed values, kept at most 60 s).
    (
        """
        CREATE UNLOGGED TABLE IF NOT EXISTS authplug_handoff (
            key        TEXT PRIMARY KEY NOT NULL,
            value      TEXT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )
        """,
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The coordination schema version this code uses."""


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id for ``key``."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, person=b"authplug").digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresCoordination:
    """The ``postgres`` backend.

    Options (``coordination_options``): ``dsn`` (required), ``lease_ttl``
    (seconds, default 10), ``timeout`` (seconds to get a connection, default
    5), ``max_size`` (pool size, default 10).

    :param check_schema: Verify the schema version now (start-up);
        ``False`` only for :meth:`migrate_schema`.
    :raises ConfigError: no DSN, an unknown option, or the schema is not
        current (behind: run ``authplug migrate``).
    :raises CoordinationError: the database cannot be reached to check it.
    """

    name = "postgres"
    shared = True

    def __init__(self, *, check_schema: bool = True, **options: Any) -> None:
        self._dsn = str_option(options, "dsn", "")
        self.lease_ttl = float_option(options, "lease_ttl", 10, 1, 300)
        self._timeout = float_option(options, "timeout", 5, 1, 600)
        max_size = int(float_option(options, "max_size", 10, 2, 1000))
        if options:
            raise ConfigError(
                f"coordination_options: not accepted by the postgres backend: "
                f"{', '.join(sorted(options))}"
            )
        if not self._dsn:
            raise ConfigError(
                f"{_SETTING}: the postgres coordination needs a connection string "
                "(AUTHPLUG_COORDINATION_OPTIONS__DSN=postgresql://user@host/db)"
            )
        self._pool = open_pool(
            self._dsn, min_size=1, max_size=max_size, timeout=self._timeout, name=_SETTING
        )
        self._listeners: list[RevocationListener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The live LISTEN connection and its readiness (None while disconnected);
        # read only under _reading, by the listener thread or a request catching up.
        self._inbox: tuple[psycopg.Connection[Any], Readable] | None = None
        self._reading = threading.Lock()
        self._closed = False
        if check_schema:
            try:
                conn = self._borrow()
                try:
                    check_component(conn, _COMPONENT, SCHEMA_VERSION, _SETTING)
                finally:
                    self._pool.putconn(conn)
            except psycopg.Error as exc:
                self._pool.close()
                raise self._error(exc) from None
            except BaseException:
                self._pool.close()
                raise

    @classmethod
    def migrate_schema(cls, **options: Any) -> tuple[int, int]:
        """Create or upgrade the coordination table; return ``(found, now)``."""
        backend = cls(check_schema=False, **options)
        try:
            conn = backend._borrow()
            try:
                return migrate_component(conn, _COMPONENT, MIGRATIONS, _SETTING)
            except psycopg.Error as exc:
                raise backend._error(exc) from None
            finally:
                backend._pool.putconn(conn)
        finally:
            backend.close()

    def _error(self, exc: BaseException) -> CoordinationError:
        if isinstance(exc, PoolClosed) or self._closed:
            return CoordinationError("the postgres coordination is closed", backend=self.name)
        return CoordinationError(
            f"postgres coordination failed ({describe_pg_error(exc)})", backend=self.name
        )

    def _borrow(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._closed:
            raise self._error(PoolClosed())
        try:
            return self._pool.getconn(timeout=self._timeout)
        except (PoolTimeout, PoolClosed, psycopg.Error) as exc:
            raise self._error(exc) from None

    def _run(self, query: bytes, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        conn = self._borrow()
        try:
            return conn.execute(query, params).fetchone()
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._pool.putconn(conn)

    def try_lease(self, key: str) -> Lease | None:
        """An advisory lock in an open transaction that the server ends after ``lease_ttl``."""
        conn = self._borrow()
        try:
            conn.execute(b"BEGIN")
            conn.execute(
                b"SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                (str(int(self.lease_ttl * 1000)),),
            )
            row = conn.execute(b"SELECT pg_try_advisory_xact_lock(%s)", (_lock_id(key),)).fetchone()
        except psycopg.Error as exc:
            self._pool.putconn(conn)
            raise self._error(exc) from None
        if row is None or not row[0]:
            try:
                conn.execute(b"ROLLBACK")
            except psycopg.Error:
                _log.debug("rollback after a refused lease failed")
            self._pool.putconn(conn)
            return None
        return Lease(key, secrets.token_urlsafe(16), handle=conn)

    def release(self, lease: Lease) -> None:
        """Commit the lease's transaction (unlocks); a connection the server cut is dropped."""
        conn = lease.handle
        if conn is None:
            return
        lease.handle = None
        try:
            conn.execute(b"COMMIT")
        except psycopg.Error:
            _log.debug("lease connection was closed by the server (lease expired)")
        finally:
            self._pool.putconn(conn)

    def wait_released(self, key: str, timeout: float) -> None:
        """Block on a shared advisory lock with a ``lock_timeout``; a timeout is not an error."""
        conn = self._borrow()
        try:
            with conn.transaction():
                conn.execute(
                    b"SELECT set_config('lock_timeout', %s, true)",
                    (str(max(1, int(timeout * 1000))),),
                )
                conn.execute(b"SELECT pg_advisory_xact_lock_shared(%s)", (_lock_id(key),))
        except psycopg.errors.LockNotAvailable:
            return
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._pool.putconn(conn)

    def put_result(self, key: str, value: str, ttl: float) -> None:
        """Upsert into ``authplug_handoff``, pruning expired rows in the same transaction."""
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=min(ttl, MAX_RESULT_TTL))
        conn = self._borrow()
        try:
            with conn.transaction():
                conn.execute(b"DELETE FROM authplug_handoff WHERE expires_at <= %s", (now,))
                conn.execute(
                    b"INSERT INTO authplug_handoff (key, value, expires_at) VALUES (%s, %s, %s) "
                    b"ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                    b"expires_at = excluded.expires_at",
                    (key, value, expires),
                )
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._pool.putconn(conn)

    def get_result(self, key: str) -> str | None:
        """The unexpired value kept under ``key``."""
        row = self._run(
            b"SELECT value FROM authplug_handoff WHERE key = %s AND expires_at > %s",
            (key, datetime.now(UTC)),
        )
        return str(row[0]) if row is not None else None

    def publish_revocation(self, sid: str, until: float) -> None:
        """``pg_notify`` on ``authplug_revoked`` (delivered to listeners on commit)."""
        self._run(b"SELECT pg_notify(%s, %s)", (_CHANNEL, json.dumps({"sid": sid, "until": until})))

    def subscribe_revocations(self, listener: RevocationListener) -> None:
        """Add ``listener``; the first call starts the ``LISTEN`` thread."""
        with self._lock:
            if self._closed:
                raise self._error(PoolClosed())
            self._listeners.append(listener)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._listen, name="authplug-pg-revocations", daemon=True
                )
                self._thread.start()

    def catch_up(self) -> None:
        """Deliver, in this thread, the notifications already on the listener's socket.

        Costs one zero-timeout ``epoll`` look when nothing arrived; never raises
        (a broken listener connection is the listener thread's to repair).
        """
        inbox = self._inbox
        if inbox is None:
            return
        conn, readable = inbox
        reading = self._reading
        try:
            if not reading.locked() and not readable(0):
                return
            with reading:
                if self._inbox is inbox:
                    self._drain(conn)
        except (psycopg.Error, OSError, ValueError):
            return

    def _listen(self) -> None:
        backoff = 0.05
        lost = False
        while not self._stop.is_set():
            readable: Readable | None = None
            try:
                with psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=max(1, round(self._timeout))
                ) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(_CHANNEL)))
                    readable = Readable(conn.fileno())
                    backoff = 0.05
                    if lost:
                        _log.warning("postgres revocation listener reconnected")
                        lost = False
                    with self._reading:
                        self._inbox = (conn, readable)
                    try:
                        while not self._stop.is_set():
                            # Wait without the lock (a request may catch up
                            # meanwhile), then take what arrived under it.
                            readable(0.5)
                            with self._reading:
                                self._drain(conn)
                    finally:
                        with self._reading:
                            self._inbox = None
            except psycopg.Error as exc:
                if not self._stop.is_set() and not lost:
                    _log.warning("postgres revocation listener lost: %s", describe_pg_error(exc))
                lost = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                if readable is not None:
                    readable.close()

    def _drain(self, conn: psycopg.Connection[Any]) -> None:
        """Deliver every notification already received; hold _reading."""
        for note in conn.notifies(timeout=0):
            self._deliver(note.payload)

    def _deliver(self, payload: str) -> None:
        try:
            decoded = json.loads(payload)
            sid, until = str(decoded["sid"]), float(decoded["until"])
        except (ValueError, TypeError, KeyError):
            _log.warning("ignored a malformed revocation notification")
            return
        for listener in list(self._listeners):
            listener(sid, until)

    def schema_version(self) -> int:
        """The coordination schema version found in the database."""
        conn = self._borrow()
        try:
            return read_version(conn, _COMPONENT)
        except psycopg.Error as exc:
            raise self._error(exc) from None
        finally:
            self._pool.putconn(conn)

    def check(self) -> str:
        """The server version and the coordination schema version."""
        row = self._run(b"SHOW server_version", ())
        version = str(row[0]).split()[0] if row is not None else "?"
        return (
            f"postgres {version} (coordination schema {self.schema_version()}, "
            f"current {SCHEMA_VERSION})"
        )

    def close(self) -> None:
        """Stop the listener and close the pool."""
        with self._lock:
            self._closed = True
            thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=5)
        self._pool.close()
