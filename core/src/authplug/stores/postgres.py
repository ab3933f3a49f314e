"""``PostgresUserStore``: the user store for many workers and many machines (psycopg 3).

Install with ``pip install 'authplug[postgres]'`` (psycopg 3 and its pool);
select with ``store = "postgres"`` and ``store_options.dsn`` (a libpq
connection string or ``postgresql://`` URL; the environment's ``PG*``
variables fill what it leaves out).

* Sync and async: the blocking methods (the WSGI host, ``authplug`` commands,
  a SAML provider's replay cache) use a :class:`psycopg_pool.ConnectionPool`;
  the :class:`~authplug.stores.base.AsyncUserStore` methods (``arecord_login``,
  ``aget``...), which the ASGI host awaits on its event loop instead of taking
  a worker thread per call, use a :class:`psycopg_pool.AsyncConnectionPool`.
  Each pool is opened on its first use, so a process only holds the
  connections of the face it uses. The async pool belongs to the event loop
  that opened it; an async call from another loop takes the blocking path in
  a worker thread. :meth:`PostgresUserStore.aclose` (the ASGI host's lifespan
  shutdown) closes it on its loop; :meth:`PostgresUserStore.close` closes
  both, whichever thread calls it; a loop that ends without either closes it
  on its way out (:mod:`authplug.stores.pg_loop_pool`).
* Each call borrows a connection for one statement (or one transaction), and
  the pool checks a connection before lending it, so a database restart costs
  the requests made while it is down a 503 and nothing afterwards: no restart
  needed.
* The schema is versioned (``authplug_schema``, component ``store``) and
  **never migrated at start-up**: the constructor checks the version and
  refuses to start, naming ``authplug migrate``, when it is behind.
  :meth:`PostgresUserStore.migrate_schema` (what ``authplug migrate`` calls)
  applies the missing steps.
* Schema versions: 1 the users table (features as named objects, as the
  SQLite store's version 4 keeps them), 2 revoked
  session ids, 3 one-time keys (:meth:`PostgresUserStore.claim_once`, the
  SAML assertion-ID replay cache). Roles, custom data and features are ``jsonb``; timestamps
  ``timestamptz``. There is no column for auth data.
* Every psycopg error becomes a :class:`~authplug.stores.base.StoreError`
  naming the backend and the failure class, never a bound value, never the
  DSN (which may hold a password).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from authplug.errors import ConfigError

try:
    import psycopg
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolClosed, PoolTimeout
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ConfigError(
        "store: the postgres store needs psycopg 3 and psycopg_pool; "
        "install them with `pip install 'authplug[postgres]'`"
    ) from None

from authplug.models import ToolUserView
from authplug.stores.base import StoreError, UserRecord, as_utc
from authplug.stores.pg_loop_pool import AsyncConnection, LoopPool
from authplug.stores.pg_schema import check_component, migrate_component, read_version

__all__ = ["BACKEND", "MIGRATIONS", "SCHEMA_VERSION", "PostgresUserStore", "describe_pg_error"]

Row = tuple[Any, ...]

BACKEND = "postgres"
"""The name a 503 and ``authplug check`` give this store."""

_COMPONENT = "store"
_SETTING = "store_options.dsn"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the users table.
    (
        """
        CREATE TABLE IF NOT EXISTS users (
            user_id     TEXT PRIMARY KEY NOT NULL,
            first_name  TEXT NOT NULL DEFAULT '',
            last_name   TEXT NOT NULL DEFAULT '',
            user_type   TEXT NOT NULL,
            roles       JSONB NOT NULL DEFAULT '[]',
            custom_data JSONB,
            features    JSONB NOT NULL DEFAULT '{}',
            first_seen  TIMESTAMPTZ NOT NULL,
            last_login  TIMESTAMPTZ NOT NULL
        )
        """,
    ),
    # 1 -> 2: revoked session ids (logout, login over an old session); users kept.
    (
        """
        CREATE TABLE IF NOT EXISTS revoked_sessions (
            sid   TEXT PRIMARY KEY NOT NULL,
            until TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS revoked_sessions_until ON revoked_sessions (until)",
    ),
    # 2 -> 3: one-time keys (SAML assertion ids until their NotOnOrAfter); rows kept.
    (
        """
        CREATE TABLE IF NOT EXISTS one_time_keys (
            key   TEXT PRIMARY KEY NOT NULL,
            until TIMESTAMPTZ NOT NULL
        )
        """,
        "CREATE INDEX IF NOT EXISTS one_time_keys_until ON one_time_keys (until)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code reads and writes."""

_COLUMNS = (
    "user_id, first_name, last_name, user_type, roles, custom_data, features, "
    "first_seen, last_login"
)
_PROFILE_UPDATE = (
    "first_name = excluded.first_name, last_name = excluded.last_name, "
    "user_type = excluded.user_type, roles = excluded.roles, "
    "custom_data = excluded.custom_data, features = excluded.features"
)
_INSERT = f"INSERT INTO users ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608
_RECORD_LOGIN = (
    f"{_INSERT} ON CONFLICT (user_id) DO UPDATE SET {_PROFILE_UPDATE}, "
    "last_login = excluded.last_login"
).encode()
_UPDATE = f"{_INSERT} ON CONFLICT (user_id) DO UPDATE SET {_PROFILE_UPDATE}".encode()
_SELECT = f"SELECT {_COLUMNS} FROM users WHERE user_id = %s".encode()  # noqa: S608
_PRUNE_REVOKED = b"DELETE FROM revoked_sessions WHERE until <= %s"
_REVOKE = (
    b"INSERT INTO revoked_sessions (sid, until) VALUES (%s, %s) "
    b"ON CONFLICT (sid) DO UPDATE SET until = GREATEST(revoked_sessions.until, excluded.until)"
)
_IS_REVOKED = b"SELECT 1 FROM revoked_sessions WHERE sid = %s AND until > %s"
_PRUNE_KEYS = b"DELETE FROM one_time_keys WHERE until <= %s"
# Inserts a new key, or takes over one whose use has ended; a live key is left
# alone. A concurrent insert of the same key waits for the first to commit,
# then takes the conflict branch, so exactly one caller sees a row count of 1.
_CLAIM = (
    b"INSERT INTO one_time_keys (key, until) VALUES (%s, %s) "
    b"ON CONFLICT (key) DO UPDATE SET until = excluded.until WHERE one_time_keys.until <= %s"
)


def describe_pg_error(exc: BaseException) -> str:
    """Name a psycopg or pool failure without data: class, SQLSTATE, primary message.

    A server's ``DETAIL`` (which can quote row values) is never included, nor
    the connection string.
    """
    name = type(exc).__name__
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        state = f" [{exc.sqlstate}]" if exc.sqlstate else ""
        return f"{name}{state}: {exc.diag.message_primary}"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, psycopg.OperationalError) and "password" in first.lower():
        first = "authentication failed"
    return f"{name}: {first}" if first else name


def _int_option(name: str, value: int | str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"store_options.{name}: not an integer") from None
    if not low <= number <= high:
        raise ConfigError(f"store_options.{name}: must be between {low} and {high}")
    return number


def check_dsn(dsn: str, name: str) -> None:
    """Refuse a string libpq cannot parse.

    :raises ConfigError: naming the setting ``name``, never the string itself.
    """
    try:
        psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ConfigError(f"{name}: not a valid PostgreSQL connection string or URL") from None


def _connect_kwargs(timeout: float) -> dict[str, Any]:
    return {"autocommit": True, "connect_timeout": max(1, round(timeout))}


def open_pool(
    dsn: str, *, min_size: int, max_size: int, timeout: float, name: str
) -> ConnectionPool[psycopg.Connection[tuple[Any, ...]]]:
    """A started pool of autocommit connections that are checked before each loan."""
    check_dsn(dsn, name)
    return ConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        timeout=timeout,
        kwargs=_connect_kwargs(timeout),
        check=ConnectionPool.check_connection,
        open=True,
        name=name,
    )


class PostgresUserStore:
    """Keep user records in PostgreSQL (entry point ``postgres``).

    :param dsn: libpq connection string or ``postgresql://`` URL.
    :param min_size: Connections the blocking pool keeps open (the async pool
        opens them as calls need them and closes those idle for 10 minutes).
    :param max_size: Most connections open at once.
    :param timeout: Seconds to wait for a connection (connect or pool) before
        failing the call with :class:`StoreError` (a 503).
    :param check_schema: Verify the schema version now (what start-up does);
        ``False`` only for :meth:`migrate_schema` and ``authplug check``.
    :raises ConfigError: no DSN, an unusable option, or the schema is not at
        :data:`SCHEMA_VERSION` (behind: run ``authplug migrate``).
    :raises StoreError: the database cannot be reached to check the schema.
    """

    backend = BACKEND

    def __init__(
        self,
        *,
        dsn: str = "",
        min_size: int | str = 1,
        max_size: int | str = 10,
        timeout: int | str = 5,
        check_schema: bool = True,
    ) -> None:
        if not dsn:
            raise ConfigError(
                f"{_SETTING}: the postgres store needs a connection string "
                "(AUTHPLUG_STORE_OPTIONS__DSN=postgresql://user@host/db)"
            )
        low = _int_option("min_size", min_size, 0, 1000)
        high = _int_option("max_size", max_size, 1, 1000)
        if high < low:
            raise ConfigError("store_options.max_size: must not be below min_size")
        self._timeout = float(_int_option("timeout", timeout, 1, 600))
        check_dsn(dsn, _SETTING)
        self._dsn, self._min_size, self._max_size = dsn, low, high
        self._lock = threading.Lock()
        self._closed = False
        self._pool: ConnectionPool[psycopg.Connection[Row]] | None = None
        self._apool: LoopPool | None = None
        if check_schema:
            try:
                with psycopg.connect(dsn, **_connect_kwargs(self._timeout)) as conn:
                    check_component(conn, _COMPONENT, SCHEMA_VERSION, _SETTING)
            except psycopg.Error as exc:
                raise self._error(exc) from None

    @classmethod
    def migrate_schema(cls, **options: Any) -> tuple[int, int]:
        """Bring the database to :data:`SCHEMA_VERSION`; return ``(found, now)``.

        Takes the same options as the constructor (``authplug migrate`` passes
        ``store_options``).
        """
        store = cls(**{**options, "check_schema": False})
        try:
            with store._connection() as conn:
                return migrate_component(conn, _COMPONENT, MIGRATIONS, _SETTING)
        finally:
            store.close()

    def schema_version(self) -> int:
        """The schema version found in the database (for ``authplug check``).

        :raises StoreError: the database cannot be reached.
        """
        with self._connection() as conn:
            return read_version(conn, _COMPONENT)

    def _error(self, exc: BaseException) -> StoreError:
        if isinstance(exc, PoolClosed) or self._closed:
            return StoreError("the user store is closed", code="store_closed", backend=BACKEND)
        return StoreError(f"postgres user store failed ({describe_pg_error(exc)})", backend=BACKEND)

    def _sync_pool(self) -> ConnectionPool[psycopg.Connection[Row]]:
        """The blocking methods' pool, opened on first use."""
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._closed:
                    raise self._error(PoolClosed())
                if self._pool is None:
                    self._pool = open_pool(
                        self._dsn,
                        min_size=self._min_size,
                        max_size=self._max_size,
                        timeout=self._timeout,
                        name=_SETTING,
                    )
                pool = self._pool
        return pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Row]]:
        """A pooled connection for one call, with psycopg errors turned into StoreError."""
        if self._closed:
            raise self._error(PoolClosed())
        pool = self._sync_pool()
        try:
            with pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (psycopg.Error, PoolTimeout, PoolClosed) as exc:
            raise self._error(exc) from None

    def _forget(self, loop_pool: LoopPool) -> None:
        """``loop_pool``'s loop is ending: a later async call opens a new pool."""
        with self._lock:
            if self._apool is loop_pool:
                self._apool = None

    async def _async_pool(self) -> AsyncConnectionPool[AsyncConnection] | None:
        """The running loop's async pool, opened on first use; ``None``: another loop has it."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._closed:
                raise self._error(PoolClosed())
            loop_pool = self._apool
            if loop_pool is None:
                loop_pool = self._apool = LoopPool(
                    self._dsn,
                    # Opened as calls need them: a connection still being opened
                    # for min_size when a short-lived loop ends would be abandoned.
                    min_size=0,
                    max_size=self._max_size,
                    timeout=self._timeout,
                    kwargs=_connect_kwargs(self._timeout),
                    name=f"{_SETTING} (async)",
                    on_loop_end=self._forget,
                )
            elif loop_pool.loop is not loop:
                return None
        return await loop_pool.ready()

    @asynccontextmanager
    async def _aconnection(
        self, pool: AsyncConnectionPool[AsyncConnection]
    ) -> AsyncIterator[AsyncConnection]:
        """An async pooled connection for one call, psycopg errors turned into StoreError."""
        try:
            async with pool.connection(timeout=self._timeout) as conn:
                yield conn
        except (psycopg.Error, PoolTimeout, PoolClosed) as exc:
            raise self._error(exc) from None

    @staticmethod
    def _row(user: ToolUserView, first_seen: datetime, last_login: datetime) -> tuple[Any, ...]:
        return (
            user.user_id,
            user.first_name,
            user.last_name,
            user.user_type,
            Jsonb(list(user.roles)),
            Jsonb(dict(user.custom_data)) if user.custom_data is not None else None,
            Jsonb({name: feature.model_dump() for name, feature in user.features.items()}),
            as_utc(first_seen),
            as_utc(last_login),
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
        return self._record(row)

    @staticmethod
    def _record(row: Row | None) -> UserRecord | None:
        if row is None:
            return None
        try:
            return UserRecord(
                user_id=row[0],
                first_name=row[1],
                last_name=row[2],
                user_type=row[3],
                roles=row[4],
                custom_data=row[5],
                features=row[6],
                first_seen=row[7],
                last_login=row[8],
            )
        except (ValueError, TypeError, ValidationError):
            raise StoreError(
                "user store holds an unreadable row (unexpected JSON shape)",
                code="store_corrupt",
                backend=BACKEND,
            ) from None

    def revoke_session(self, sid: str, until: datetime) -> None:
        """Record ``sid`` as revoked until ``until``; prune ended revocations (one transaction)."""
        now = datetime.now(UTC)
        with self._connection() as conn, conn.transaction():
            conn.execute(_PRUNE_REVOKED, (now,))
            conn.execute(_REVOKE, (sid, as_utc(until)))

    def is_session_revoked(self, sid: str, now: datetime) -> bool:
        """Whether ``sid`` is revoked at ``now`` (one primary-key lookup)."""
        with self._connection() as conn:
            row = conn.execute(_IS_REVOKED, (sid, as_utc(now))).fetchone()
        return row is not None

    def claim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """Record ``key`` as used until ``until``; ``False`` when it already is at ``now``.

        One transaction: ended keys are pruned, then one upsert whose row
        count says whether this call claimed the key.
        """
        at = as_utc(now)
        with self._connection() as conn, conn.transaction():
            conn.execute(_PRUNE_KEYS, (at,))
            cursor = conn.execute(_CLAIM, (key, as_utc(until), at))
            return cursor.rowcount == 1

    # -- the AsyncUserStore face (the ASGI host awaits these on its event loop) --

    async def arecord_login(self, user: ToolUserView, now: datetime) -> None:
        """:meth:`record_login` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.record_login, user, now)
        async with self._aconnection(pool) as conn:
            await conn.execute(_RECORD_LOGIN, self._row(user, now, now))
        return None

    async def aupdate(self, user: ToolUserView, now: datetime) -> None:
        """:meth:`update` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.update, user, now)
        async with self._aconnection(pool) as conn:
            await conn.execute(_UPDATE, self._row(user, now, now))
        return None

    async def aget(self, user_id: str) -> UserRecord | None:
        """:meth:`get` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.get, user_id)
        async with self._aconnection(pool) as conn:
            cursor = await conn.execute(_SELECT, (user_id,))
            row = await cursor.fetchone()
        return self._record(row)

    async def arevoke_session(self, sid: str, until: datetime) -> None:
        """:meth:`revoke_session` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.revoke_session, sid, until)
        now = datetime.now(UTC)
        async with self._aconnection(pool) as conn, conn.transaction():
            await conn.execute(_PRUNE_REVOKED, (now,))
            await conn.execute(_REVOKE, (sid, as_utc(until)))
        return None

    async def ais_session_revoked(self, sid: str, now: datetime) -> bool:
        """:meth:`is_session_revoked` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.is_session_revoked, sid, now)
        async with self._aconnection(pool) as conn:
            cursor = await conn.execute(_IS_REVOKED, (sid, as_utc(now)))
            row = await cursor.fetchone()
        return row is not None

    async def aclaim_once(self, key: str, until: datetime, now: datetime) -> bool:
        """:meth:`claim_once` on the event loop."""
        pool = await self._async_pool()
        if pool is None:
            return await asyncio.to_thread(self.claim_once, key, until, now)
        at = as_utc(now)
        async with self._aconnection(pool) as conn, conn.transaction():
            await conn.execute(_PRUNE_KEYS, (at,))
            cursor = await conn.execute(_CLAIM, (key, as_utc(until), at))
            return cursor.rowcount == 1

    async def aclose(self) -> None:
        """Close the running loop's async pool (its connections); the store stays usable.

        What the ASGI host calls at lifespan shutdown. A later async call
        opens a new pool on its own loop; :meth:`close` ends the store.
        """
        loop = asyncio.get_running_loop()
        with self._lock:
            loop_pool = self._apool
            if loop_pool is None or loop_pool.loop is not loop:
                return
            self._apool = None
        await loop_pool.aclose()

    def close(self) -> None:
        """Close both pools, from any thread; later calls raise StoreError.

        The async pool is closed on its loop when that loop runs in another
        thread; otherwise its connections are ended at once
        (:meth:`authplug.stores.pg_loop_pool.LoopPool.close`).
        """
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            loop_pool, self._apool = self._apool, None
        if pool is not None:
            pool.close()
        if loop_pool is not None:
            loop_pool.close()
