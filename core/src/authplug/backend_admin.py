"""What ``authplug migrate`` and ``authplug check`` do with the store and coordination backend.

* :func:`migrate_backends`: bring the configured store's and coordination
  backend's schemas to the versions this authplug uses. This is the only
  place a PostgreSQL schema is ever changed; start-up only checks it and
  refuses to run, naming ``authplug migrate``, when it is behind.
* :func:`check_backends`: reach the configured database and coordination
  backend and describe them (the store's schema version included).
"""

from __future__ import annotations

import importlib.metadata as md
from typing import TYPE_CHECKING, Any

from authplug.coordination import CoordinationError, backend_class
from authplug.errors import AuthplugError, ConfigError
from authplug.stores.base import StoreError

if TYPE_CHECKING:
    from authplug.config import AuthplugConfig
    from authplug.host import Host

__all__ = ["check_backends", "migrate_backends"]

STORE_GROUP = "authplug.stores"


def _store_class(name: str) -> Any:
    found = [ep for ep in md.entry_points(group=STORE_GROUP) if ep.name == name]
    if not found:
        installed = sorted({ep.name for ep in md.entry_points(group=STORE_GROUP)})
        raise ConfigError(
            f"store: unknown store {name!r}; installed: {', '.join(installed) or 'none'}"
        )
    try:
        return found[0].load()
    except AuthplugError:
        raise
    except Exception as exc:
        raise ConfigError(f"store: {name!r} failed to import ({type(exc).__name__})") from None


def _migrated(what: str, name: str, cls: Any, options: dict[str, Any]) -> str:
    migrate = getattr(cls, "migrate_schema", None)
    if not callable(migrate):
        return f"{what} {name}: nothing to migrate"
    found, now = migrate(**options)
    if found == now:
        return f"{what} {name}: schema version {now} (already current)"
    return f"{what} {name}: schema version {found} -> {now}"


def migrate_backends(config: AuthplugConfig) -> list[str]:
    """Migrate the configured store, then the coordination backend; one line each.

    :raises ConfigError: unknown backend, bad options, or a newer schema than
        this authplug knows.
    :raises StoreError: the database cannot be reached.
    :raises CoordinationError: the coordination backend cannot be reached.
    """
    return [
        _migrated("store", config.store, _store_class(config.store), dict(config.store_options)),
        _migrated(
            "coordination",
            config.coordination,
            backend_class(config.coordination),
            dict(config.coordination_options),
        ),
    ]


def check_backends(host: Host) -> tuple[list[str], list[str]]:
    """Reach the store and the coordination backend: ``(report lines, problems)``."""
    lines: list[str] = []
    problems: list[str] = []
    store = host.store
    version_of = getattr(store, "schema_version", None)
    if callable(version_of):
        try:
            lines.append(f"store: {host.config.store} (schema version {version_of()})")
        except StoreError as exc:
            problems.append(f"store {host.config.store!r} unreachable: {exc.message}")
    else:
        lines.append(f"store: {host.config.store}")
    try:
        lines.append(f"coordination: {host.coordination.check()}")
    except CoordinationError as exc:
        problems.append(f"coordination {exc.backend!r} unreachable: {exc.message}")
    return lines, problems
