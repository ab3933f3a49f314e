"""Backends for the coordination tests: every implementation, real servers for the shared ones."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from authplug.coordination import Coordination, open_coordination

_prefixes = itertools.count()

BACKEND_NAMES = ["inprocess", "sqlite", "postgres", "redis"]


@pytest.fixture
def backend_options(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[..., dict[str, Any]]:
    """Options that make two instances of ``backend_name`` share state (like two processes)."""
    name: str = request.getfixturevalue("backend_name")
    shared: dict[str, Any] = {}
    if name == "sqlite":
        shared["path"] = str(tmp_path / "coordination.sqlite3")
    elif name == "postgres":
        from authplug.coordination.postgres import PostgresCoordination

        dsn = request.getfixturevalue("postgres_dsn")
        PostgresCoordination.migrate_schema(dsn=dsn)
        shared["dsn"] = dsn
    elif name == "redis":
        shared["url"] = request.getfixturevalue("redis_server").url
        shared["prefix"] = f"t{next(_prefixes)}:"

    def options(**extra: Any) -> dict[str, Any]:
        return {**shared, **extra}

    return options


@pytest.fixture(params=BACKEND_NAMES)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_backend(
    backend_name: str, backend_options: Callable[..., dict[str, Any]]
) -> Iterator[Callable[..., Coordination]]:
    """Open instances of the backend under test (closed after the test)."""
    opened: list[Coordination] = []

    def make(**extra: Any) -> Coordination:
        backend = open_coordination(backend_name, backend_options(**extra))
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()
