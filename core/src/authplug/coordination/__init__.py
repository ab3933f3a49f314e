"""Coordination between the processes of one deployment (many workers, many machines).

One config key picks the backend (``coordination``; options in
``coordination_options``):

===============  ==============================================================
``inprocess``    the default: single-flight and revocation in this process only
``sqlite``       one machine, many workers: one shared SQLite file
``postgres``     advisory locks and ``LISTEN/NOTIFY`` (``authplug[postgres]``)
``redis``        ``SET NX PX`` leases and pub/sub (``authplug[redis]``)
===============  ==============================================================

The lifecycle uses it for refresh single-flight across processes with result
hand-off (:mod:`authplug.coordination.handoff`) and for revocation broadcast.
A backend's library is imported only when that backend is selected.
"""

from __future__ import annotations

import importlib
from typing import Any

from authplug.coordination.base import Coordination, CoordinationError, Lease
from authplug.errors import ConfigError

__all__ = [
    "BACKENDS",
    "Coordination",
    "CoordinationError",
    "Lease",
    "backend_class",
    "open_coordination",
]

BACKENDS: dict[str, tuple[str, str, str | None]] = {
    "inprocess": ("authplug.coordination.inprocess", "InProcessCoordination", None),
    "sqlite": ("authplug.coordination.sqlite", "SqliteCoordination", None),
    "postgres": ("authplug.coordination.postgres", "PostgresCoordination", "postgres"),
    "redis": ("authplug.coordination.redis", "RedisCoordination", "redis"),
}
"""Backend name -> (module, class, the ``authplug[...]`` extra it needs)."""


def backend_class(name: str) -> Any:
    """The class of backend ``name``, importing only its module.

    :raises ConfigError: an unknown name, or the backend's extra is not installed.
    """
    entry = BACKENDS.get(name)
    if entry is None:
        raise ConfigError(
            f"coordination: unknown backend {name!r} (choose one of {', '.join(BACKENDS)})"
        )
    module_name, class_name, extra = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"coordination: the {name} backend needs {exc.name or 'a missing library'}; "
            f"install it with `pip install 'authplug[{extra}]'`"
        ) from None
    return getattr(module, class_name)


def open_coordination(name: str, options: dict[str, Any]) -> Coordination:
    """Build backend ``name`` with ``options`` (the config's ``coordination_options``).

    :raises ConfigError: unknown backend or option, missing extra, outdated schema.
    :raises CoordinationError: the backend cannot be reached at start-up.
    """
    backend: Coordination = backend_class(name)(**dict(options))
    return backend
