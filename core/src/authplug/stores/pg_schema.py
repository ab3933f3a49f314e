"""Versioned PostgreSQL schemas: explicit migrations, checked at start-up, never silent.

Every authplug component that keeps tables in PostgreSQL (the user store, the
coordination backend) has a row in ``authplug_schema(component, version)``
and a tuple of migration steps. :func:`migrate_component` applies the missing
steps, each in its own transaction under a transaction-scoped advisory lock,
so two ``authplug migrate`` runs at once apply each step exactly once.
:func:`check_component` is what start-up calls: it reads the version and
raises :class:`~authplug.errors.ConfigError` telling the operator to run
``authplug migrate`` when the database is behind, or to upgrade authplug
when it is ahead. Nothing is ever created or altered by start-up itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from authplug.errors import ConfigError

__all__ = ["check_component", "migrate_component", "read_version"]

_LOCK_KEY = 0x61757468706C7567  # "authplug" as a 64-bit advisory lock key

_CREATE_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS authplug_schema (
    component TEXT PRIMARY KEY NOT NULL,
    version   INTEGER NOT NULL CHECK (version >= 0)
)
"""


def read_version(conn: psycopg.Connection[tuple[object, ...]], component: str) -> int:
    """The schema version of ``component`` in the database behind ``conn`` (0: never migrated)."""
    exists = conn.execute("SELECT to_regclass('authplug_schema') IS NOT NULL").fetchone()
    if exists is None or not exists[0]:
        return 0
    row = conn.execute(
        "SELECT version FROM authplug_schema WHERE component = %s", (component,)
    ).fetchone()
    return int(str(row[0])) if row is not None else 0


def check_component(
    conn: psycopg.Connection[tuple[object, ...]], component: str, current: int, setting: str
) -> int:
    """Refuse to start unless ``component``'s schema is exactly at ``current``; return it.

    :param setting: The config key to name in the error (``store_options.dsn``).
    :raises ConfigError: behind (run ``authplug migrate``) or ahead (upgrade authplug).
    """
    version = read_version(conn, component)
    if version < current:
        raise ConfigError(
            f"{setting}: the PostgreSQL {component} schema is at version {version}, "
            f"this authplug needs version {current}; run `authplug migrate` "
            "(authplug never migrates a PostgreSQL database on its own)"
        )
    if version > current:
        raise ConfigError(
            f"{setting}: the PostgreSQL {component} schema is at version {version}, "
            f"this authplug understands up to {current} (upgrade authplug)"
        )
    return version


def migrate_component(
    conn: psycopg.Connection[tuple[object, ...]],
    component: str,
    steps: Sequence[Sequence[str]],
    setting: str,
) -> tuple[int, int]:
    """Apply the missing ``steps`` of ``component``; return ``(version found, version now)``.

    ``steps[n]`` takes the schema from version ``n`` to ``n + 1``. ``conn``
    must be in autocommit mode; each step runs in its own transaction.

    :raises ConfigError: the database holds a newer version than ``steps`` know.
    """
    current = len(steps)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(_CREATE_SCHEMA_TABLE)
    found = read_version(conn, component)
    while True:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            version = read_version(conn, component)
            if version > current:
                raise ConfigError(
                    f"{setting}: the PostgreSQL {component} schema is at version {version}, "
                    f"this authplug understands up to {current} (upgrade authplug)"
                )
            if version == current:
                return found, version
            for statement in steps[version]:
                conn.execute(statement.encode("utf-8"))
            conn.execute(
                "INSERT INTO authplug_schema (component, version) VALUES (%s, %s) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, version + 1),
            )
