"""``authplug migrate`` and the backend part of ``authplug check``, on real PostgreSQL and Redis."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from authplug.cli import main

pytest.importorskip("authplug_mock", reason="these tests load the mock provider")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """A clean AUTHPLUG_* environment in an empty working directory."""
    for name in list(os.environ):
        if name.startswith("AUTHPLUG_") or name == "DEBUG_AUTH":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    values = {
        "AUTHPLUG_PROVIDER": "mock",
        "AUTHPLUG_COOKIE_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _set(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_migrate_then_check_postgres_and_redis(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_dsn: str,
    redis_server: Any,
) -> None:
    _set(
        monkeypatch,
        AUTHPLUG_STORE="postgres",
        AUTHPLUG_STORE_OPTIONS__DSN=postgres_dsn,
        AUTHPLUG_COORDINATION="redis",
        AUTHPLUG_COORDINATION_OPTIONS__URL=redis_server.url,
    )
    assert main(["check"]) == 1
    refused = capsys.readouterr().err
    assert "schema is at version 0" in refused
    assert "run `authplug migrate`" in refused

    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "store postgres: schema version 0 -> 3" in out
    assert "coordination redis: nothing to migrate" in out
    assert main(["migrate"]) == 0
    assert "store postgres: schema version 3 (already current)" in capsys.readouterr().out

    assert main(["check"]) == 0
    report = capsys.readouterr().out
    assert "store: postgres (schema version 3)" in report
    assert "coordination: redis " in report


def test_postgres_coordination_is_migrated_and_checked(
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    postgres_dsn: str,
) -> None:
    _set(
        monkeypatch,
        AUTHPLUG_STORE="postgres",
        AUTHPLUG_STORE_OPTIONS__DSN=postgres_dsn,
        AUTHPLUG_COORDINATION="postgres",
        AUTHPLUG_COORDINATION_OPTIONS__DSN=postgres_dsn,
    )
    assert main(["migrate"]) == 0
    assert "coordination postgres: schema version 0 -> 1" in capsys.readouterr().out
    assert main(["check"]) == 0
    assert "(coordination schema 1, current 1)" in capsys.readouterr().out


def test_check_names_an_unreachable_coordination_backend(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    _set(
        monkeypatch,
        AUTHPLUG_STORE="memory",
        AUTHPLUG_COORDINATION="redis",
        AUTHPLUG_COORDINATION_OPTIONS__URL=f"redis://:hunter2@127.0.0.1:{port}/0",
        AUTHPLUG_COORDINATION_OPTIONS__TIMEOUT="1",
    )
    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "coordination 'redis' unreachable" in err
    assert "hunter2" not in err


def test_migrate_sqlite_reports_the_versions(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from authplug.stores.sqlite import SCHEMA_VERSION

    _set(monkeypatch, AUTHPLUG_STORE="sqlite", AUTHPLUG_STORE_OPTIONS__PATH="users.sqlite3")
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert f"store sqlite: schema version 0 -> {SCHEMA_VERSION}" in out
    assert "coordination inprocess: nothing to migrate" in out


def test_migrate_reports_a_bad_config(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _set(monkeypatch, AUTHPLUG_COORDINATION="zookeeper")
    assert main(["migrate"]) == 1
    assert "unknown backend 'zookeeper'" in capsys.readouterr().err
